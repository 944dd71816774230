"""The gateway's folders import only downward, as docs/architecture.md's table says: a change that makes an
import run back up (a lower folder reaching a higher one) fails here, naming the file and the import."""

import ast

from testkit.servers import ROOT

GATEWAY = ROOT / "moto_gateway"
ALLOWED = {
    "wsgi": set(),
    "state": {"wsgi"},
    "moto_patches": {"state"},
    "signing": {"wsgi"},
    "access": {"wsgi", "state", "signing", "moto_patches"},
    "checks": {"wsgi", "state", "moto_patches"},
    "fast_paths": {"wsgi", "state", "moto_patches", "signing", "checks"},
    "s3_features": {"wsgi", "state", "moto_patches", "signing", "access", "fast_paths"},
    "fault_rules.py": {"wsgi"},
    "settings.py": {"wsgi", "signing", "fault_rules.py"},
    "server": {"wsgi", "signing", "checks", "settings.py", "fault_rules.py"},
}
PLACES = set(ALLOWED) | {"app.py", "__main__.py", "__init__.py"}


def place_of(module: str) -> str:
    """`moto_gateway.signing.keyring` -> `signing`; `moto_gateway.settings` -> `settings.py`."""
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__.py"
    return f"{parts[1]}.py" if f"{parts[1]}.py" in PLACES else parts[1]


def gateway_imports(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("moto_gateway"):
            names = [alias.name for alias in node.names]
            if node.module == "moto_gateway":  # from moto_gateway import moto_patches
                yield from (f"moto_gateway.{name}" for name in names)
            else:
                yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.startswith("moto_gateway"))


def test_every_place_is_known():
    found = {path.relative_to(GATEWAY).parts[0] for path in GATEWAY.rglob("*.py")}
    assert found <= PLACES, f"a new folder or top-level module needs its row in ALLOWED: {found - PLACES}"


def wrong_imports(path, here: str) -> list[str]:
    return [
        f"{path.name} imports {module} ({here} may not import {place_of(module)})"
        for module in gateway_imports(path)
        if place_of(module) != here and place_of(module) not in ALLOWED[here]
    ]


def test_no_import_runs_back_up():
    wrong = []
    for path in sorted(GATEWAY.rglob("*.py")):
        here = path.relative_to(GATEWAY).parts[0]
        if here in ALLOWED:  # app.py and __main__.py compose everything
            wrong += [f"{path.relative_to(GATEWAY)}: {problem}" for problem in wrong_imports(path, here)]
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_an_import_that_runs_back_up(tmp_path):
    module = tmp_path / "lower.py"
    module.write_text("from moto_gateway.server.router import Router\nfrom moto_gateway.wsgi import bodies\n")
    assert wrong_imports(module, "state") == [
        "lower.py imports moto_gateway.server.router (state may not import server)"
    ]
    assert wrong_imports(module, "server") == []
