"""The whole stack in a real Docker engine, under a compose project of its own.

The project name is derived from this checkout's path, so a user's own stack (project `motostack`) and
other checkouts on the same engine are never touched, and repeated runs reuse (not pile up) images. Every
variable docker-compose.yml reads is set here explicitly (free loopback ports for every *_PORT, a fresh
export folder owned by the test user, a fast export interval, DELETE_SYNC=true) or left unset (HOST_UID,
HOST_GID: the exporter finds the folder's owner itself), `--env-file` points at an empty file so that a
user's .env cannot change the stack under test, and the stack is started with plain `docker compose`.

Docker missing is a test failure, not a skip: only SKIP_DOCKER=1 skips these tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from testkit.clients import make_test_client
from testkit.servers import ROOT, free_port
from tests.waiting import wait_until  # noqa: F401 (the compose tests import it from here)

COMPOSE_FILE = ROOT / "docker-compose.yml"
# The owner of the export folder when the tests run as root: not the image's own user (10001) and in no
# passwd file, because the exporter must write as whatever uid owns the folder.
FALLBACK_UID = 23456


def compose_text() -> str:
    """docker-compose.yml without its comment lines."""
    lines = COMPOSE_FILE.read_text().splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#"))


def compose_variables() -> list[str]:
    """Every ${VARIABLE} docker-compose.yml reads."""
    return sorted(set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", compose_text())))


def run(command: list[str], *, env: dict | None = None, timeout: float = 600, check: bool = True):
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if check and result.returncode != 0:
        raise AssertionError(
            f"`{' '.join(command)}` exited {result.returncode}\n--- stdout\n{result.stdout[-4000:]}"
            f"\n--- stderr\n{result.stderr[-4000:]}"
        )
    return result


def docker_problem() -> str | None:
    """Why the Docker engine or Compose v2 cannot be used, or None."""
    try:
        if run(["docker", "info"], check=False, timeout=60).returncode != 0:
            return "no Docker engine answers (`docker info` fails)"
        if run(["docker", "compose", "version"], check=False, timeout=60).returncode != 0:
            return "Docker Compose v2 is missing (`docker compose version` fails)"
    except FileNotFoundError:
        return "the docker command is not installed"
    return None


def python_image() -> str:
    """PYTHON_IMAGE as `make test` exports it, or what scripts/ensure-docker.sh finds when run directly."""
    if os.environ.get("PYTHON_IMAGE"):
        return os.environ["PYTHON_IMAGE"]
    result = run([str(ROOT / "scripts" / "ensure-docker.sh")], check=False, timeout=900)
    if result.returncode != 0:
        pytest.fail(f"scripts/ensure-docker.sh found no Python base image:\n{result.stderr}", pytrace=False)
    return result.stdout.strip()


@dataclass
class Stack:
    project: str
    env: dict[str, str]
    export_dir: Path
    env_file: Path
    uid: int
    gid: int
    up_seconds: float = field(default=0.0)

    @property
    def moto_port(self) -> int:
        return int(self.env["MOTO_PORT"])

    @property
    def moto_url(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def network(self) -> str:
        return f"{self.project}_default"

    def image(self, service: str) -> str:
        return f"{self.project}-{service}"

    def compose(self, *args: str, tools: bool = False, timeout: float = 600, check: bool = True,
                extra_env: dict[str, str] | None = None):
        """`docker compose ARGS` on this project; `tools` enables the profile of sample-client; `extra_env`
        changes variables for this one command."""
        command = ["docker", "compose", "--project-name", self.project, "--file", str(COMPOSE_FILE),
                   "--env-file", str(self.env_file), *(["--profile", "tools"] if tools else []), *args]
        return run(command, env={**self.env, **(extra_env or {})}, timeout=timeout, check=check)

    def s3(self):
        return make_test_client(self.moto_url)

    def services(self) -> dict[str, dict]:
        """`docker compose ps --all` as {service: its JSON}: every container, running or not."""
        output = self.compose("ps", "--all", "--format", "json").stdout
        rows = [json.loads(line) for line in output.splitlines() if line.strip()]
        return {row["Service"]: row for row in rows}

    def container_ids(self, kind: str = "container") -> list[str]:
        """Every container (or network, volume) of this project, running or not."""
        label = f"label=com.docker.compose.project={self.project}"
        listing = {
            "container": ["docker", "ps", "--all", "--quiet", "--filter", label],
            "network": ["docker", "network", "ls", "--quiet", "--filter", label],
            "volume": ["docker", "volume", "ls", "--quiet", "--filter", label],
        }[kind]
        return run(listing).stdout.split()

    def up(self) -> None:
        started = time.monotonic()
        result = self.compose("up", "--detach", "--build", "--wait", "--wait-timeout", "180", check=False)
        self.up_seconds = time.monotonic() - started
        if result.returncode != 0:
            logs = self.compose("logs", "--no-color", "--tail", "60", check=False).stdout
            raise AssertionError(
                f"`docker compose up --wait` failed ({result.returncode}):\n{result.stderr[-4000:]}\n"
                f"--- logs\n{logs[-6000:]}"
            )

    def down(self) -> subprocess.CompletedProcess:
        return self.compose(
            "down", "--volumes", "--remove-orphans", "--timeout", "20", tools=True, check=False
        )


LAST_TEST = "test_down_leaves_nothing_running_and_keeps_the_mirror"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The test that takes the shared stack down runs last, whichever file the other compose tests are in."""
    last = [item for item in items if item.name == LAST_TEST]
    for item in last:
        items.remove(item)
        items.append(item)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if os.environ.get("SKIP_DOCKER") == "1":
        pytest.skip("SKIP_DOCKER=1: the end-to-end tests of the Docker stack were skipped on request")
    problem = docker_problem()
    if problem:
        pytest.fail(
            f"{problem}; these tests need a real Docker engine (SKIP_DOCKER=1 skips them)", pytrace=False
        )

    work = tmp_path_factory.mktemp("compose")
    export_dir = work / "moto_export"
    export_dir.mkdir()
    uid, gid = (os.getuid(), os.getgid()) if os.getuid() != 0 else (FALLBACK_UID, FALLBACK_UID)
    os.chown(export_dir, uid, gid)
    env_file = work / "empty.env"
    env_file.write_text("")

    env = {name: value for name, value in os.environ.items()
           if name not in compose_variables() and not name.startswith("COMPOSE_")}
    for name in compose_variables():
        if name.endswith("_PORT"):
            env[name] = str(free_port())
    env.update(
        PYTHON_IMAGE=python_image(),
        EXPORT_DIR_HOST=str(export_dir),
        EXPORT_INTERVAL="1",
        DELETE_SYNC="true",
    )
    checkout = hashlib.sha1(str(ROOT).encode()).hexdigest()[:8]
    stack = Stack(f"motostack-e2e-{checkout}", env, export_dir, env_file, uid, gid)
    stack.down()  # containers left over by an interrupted run of this checkout
    try:
        stack.up()
        print(f"\n[compose] `up --build --wait` took {stack.up_seconds:.1f} s")
        yield stack
    finally:
        stack.down()
        # Images of this project that a rebuild replaced (untagged); the current ones stay for the next run.
        label = f"label=com.docker.compose.project={stack.project}"
        run(["docker", "image", "prune", "--force", "--filter", label], check=False)
