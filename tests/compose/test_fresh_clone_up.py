"""Plain `docker compose up` on a fresh clone, as the README promises, whoever owns the clone: root (CI
runners, many Docker hosts) or another uid. The clone's mirror folder holds its marker (.gitkeep), so the
exporter mirrors as the folder's owner, root included; a root-owned folder without the marker is one Docker
made, and test_zero_setup shows it is still refused.

Each clone is a compose project of its own (COMPOSE_PROJECT_NAME) on free ports; nothing else is set: no
HOST_UID, no EXPORT_DIR_HOST, no .env."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from testkit.clients import make_test_client
from testkit.servers import ROOT, free_port
from tests.compose.conftest import FALLBACK_UID, compose_variables, docker_problem, python_image
from tests.waiting import wait_until

pytestmark = pytest.mark.compose


def fresh_clone(destination: Path, uid: int) -> Path:
    """The checkout's tracked files as a clone has them (with uncommitted edits), all owned by `uid`."""
    listing = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, text=True,
                             timeout=60, check=True)
    for name in filter(None, listing.stdout.split("\0")):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    for path in [destination, *destination.rglob("*")]:
        os.lchown(path, uid, uid)
    return destination


def plain_env(project: str) -> dict[str, str]:
    """The caller's environment with none of docker-compose.yml's variables but free ports, and PYTHON_IMAGE
    where this machine has no registry."""
    env = {name: value for name, value in os.environ.items()
           if name not in compose_variables() and not name.startswith("COMPOSE_")}
    env.update({name: str(free_port()) for name in compose_variables() if name.endswith("_PORT")})
    env.update(COMPOSE_PROJECT_NAME=project, PYTHON_IMAGE=python_image())
    return env


def owners() -> list[int]:
    return [0, FALLBACK_UID] if os.getuid() == 0 else [os.getuid()]


@pytest.mark.parametrize("owner", owners(), ids=lambda uid: "root" if uid == 0 else "non-root")
def test_plain_up_on_a_fresh_clone_mirrors_as_the_clones_owner(tmp_path: Path, owner: int):
    if os.environ.get("SKIP_DOCKER") == "1":
        pytest.skip("SKIP_DOCKER=1: the end-to-end tests of the Docker stack were skipped on request")
    problem = docker_problem()
    assert problem is None, f"{problem}; these tests need a real Docker engine (SKIP_DOCKER=1 skips them)"
    checkout = hashlib.sha1(str(ROOT).encode()).hexdigest()[:8]
    project = f"motostack-clone-{checkout}-{owner}"
    clone = fresh_clone(tmp_path / "motostack", owner)
    env = plain_env(project)

    def compose(*args: str) -> subprocess.CompletedProcess:
        """Plain `docker compose ARGS`, run in the clone as its user would."""
        return subprocess.run(["docker", "compose", *args], cwd=clone, env=env, capture_output=True,
                              text=True, timeout=600)

    compose("down", "--volumes", "--remove-orphans")
    try:
        up = compose("up", "-d", "--wait", "--wait-timeout", "180")
        logs = compose("logs", "--no-color", "--tail", "40", "exporter").stdout
        assert up.returncode == 0, f"{up.stderr[-3000:]}\n--- exporter logs\n{logs[-3000:]}"
        s3 = make_test_client(f"http://127.0.0.1:{env['MOTO_PORT']}")
        s3.put_object(Bucket="test-bucket", Key="hello.txt", Body=b"from a fresh clone")
        mirrored = clone / "moto_export" / "test-bucket" / "hello.txt"
        wait_until(mirrored.is_file, 60, f"{mirrored} to be mirrored")
        assert mirrored.read_bytes() == b"from a fresh clone"
        assert (mirrored.stat().st_uid, mirrored.stat().st_gid) == (owner, owner)
        assert (clone / "moto_export" / ".gitkeep").is_file(), "the clone's marker stays"
    finally:
        compose("down", "--volumes", "--remove-orphans", "--rmi", "local", "--timeout", "20")
