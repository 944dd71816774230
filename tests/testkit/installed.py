"""motostack installed as a user installs it (`pip install <the repository>`), in a throwaway venv.

The venv sees the development venv's packages through a .pth line (so nothing is downloaded but the build
backend), yet motostack itself is imported from its installed copy: the declared packages, the pytest11
entry point and the plugin are what is tested, not this checkout on sys.path.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from testkit.servers import ROOT

EXAMPLES = ROOT / "examples"


def copy_of_checkout(where: Path) -> Path:
    """The tracked files pip needs, copied, so that the build writes nothing into this checkout."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True, timeout=60)
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            target = where / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return where


def install_motostack(where: Path) -> Path:
    """A venv in `where` with motostack installed from (a copy of) this checkout; its python."""
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    Path(purelib, "development-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    build = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
         str(copy_of_checkout(where / "source"))],
        capture_output=True, text=True, timeout=600, cwd=where,
    )  # fmt: skip
    assert build.returncode == 0, f"pip install of the repository failed:\n{build.stdout}\n{build.stderr}"
    return python


def user_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: no PYTHONPATH into this checkout, no endpoint unless given."""
    drop = {"PYTHONPATH", "MOTOSTACK_ENDPOINT", "AWS_ENDPOINT_URL", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER",
            "PYTEST_XDIST_WORKER_COUNT", "PYTEST_CURRENT_TEST"}  # fmt: skip
    return {**{k: v for k, v in os.environ.items() if k not in drop}, **extra}


def run_examples(python: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python -m pytest ARGS` in examples/, as its developers run it."""
    return subprocess.run(
        [str(python), "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=EXAMPLES, env=env or user_env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
