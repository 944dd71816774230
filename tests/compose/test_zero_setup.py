"""Zero set-up: the exporter writes as the owner of the mirror folder with nothing set, HOST_UID/HOST_GID
override that owner, and a folder Docker created (owned by root) ends in one line saying what to do.

The shared stack itself is started with plain `docker compose up` and no HOST_UID (see conftest.py); these
tests run the exporter's image once more, without its dependencies, to reach its entrypoint directly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.compose.conftest import Stack

pytestmark = pytest.mark.compose


def run_exporter(stack: Stack, *command: str, **env: str):
    return stack.compose("run", "--rm", "--no-deps", "-T", "exporter", *command, extra_env=env, check=False,
                         timeout=120)


def test_the_exporter_becomes_the_owner_of_the_folder_and_host_uid_overrides_it(stack: Stack):
    owner = run_exporter(stack, "sh", "-c", "id -u; id -g; id -G")
    assert owner.returncode == 0, owner.stderr
    assert owner.stdout.split() == [str(stack.uid), str(stack.gid), str(stack.gid)]
    chosen = run_exporter(stack, "sh", "-c", "id -u; id -g", HOST_UID="34567", HOST_GID="34568")
    assert chosen.returncode == 0, chosen.stderr
    assert chosen.stdout.split() == ["34567", "34568"]


def test_a_missing_folder_that_docker_creates_for_root_ends_in_one_line_saying_what_to_do(
    stack: Stack, tmp_path: Path
):
    missing = tmp_path / "not-made-yet"
    result = run_exporter(stack, EXPORT_DIR_HOST=str(missing))
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert missing.is_dir() and missing.stat().st_uid == 0, "Docker made the folder, owned by root"
    lines = [line for line in output.splitlines() if line.startswith("exporter:")]
    assert len(lines) == 1, output
    assert "belongs to root" in lines[0] and "sudo chown -R" in lines[0] and "HOST_UID=0" in lines[0]
    assert "Traceback" not in output
    if os.getuid() == 0:
        missing.rmdir()
