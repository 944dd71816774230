"""Docs match the compose file: .env.example documents every ${VARIABLE} with the default compose uses."""

from __future__ import annotations

import re

from tests.compose.conftest import compose_text, compose_variables
from testkit.servers import ROOT


def compose_defaults() -> dict[str, str]:
    """{NAME: default} for every ${NAME:-default} in docker-compose.yml (one default per NAME)."""
    defaults: dict[str, set[str]] = {}
    for name, default in re.findall(r"\$\{([A-Z_][A-Z0-9_]*):-([^}]*)\}", compose_text()):
        defaults.setdefault(name, set()).add(default)
    assert all(len(values) == 1 for values in defaults.values()), defaults
    return {name: values.pop() for name, values in defaults.items()}


def documented() -> dict[str, tuple[str, str]]:
    """{NAME: (default, the comment above it)} from .env.example's `# NAME=default` entries."""
    entries, comment = {}, []
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.fullmatch(r"# ([A-Z_][A-Z0-9_]*)=(.*)", line)
        if match:
            entries[match.group(1)] = (match.group(2), " ".join(comment))
        elif line.startswith("# ") and not line.startswith("# ---"):
            comment.append(line[2:])
        else:
            comment = []
    return entries


def test_every_compose_variable_has_a_default_in_the_compose_file():
    assert set(compose_defaults()) == set(compose_variables())


def test_env_example_documents_every_compose_variable_with_its_default_and_meaning():
    entries = documented()
    assert set(entries) == set(compose_variables())
    for name, default in compose_defaults().items():
        assert entries[name][0] == default, name
        assert len(entries[name][1]) > 20, f"{name} has no explanation in .env.example"
