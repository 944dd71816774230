"""A clone works wherever it is: no tracked file names the checkout's path, and the mirror folder ships with
the clone (so plain `docker compose up` finds it) while git ignores what the exporter writes there."""

from __future__ import annotations

import subprocess

import pytest

from testkit.servers import ROOT


def git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def tracked() -> list[str]:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: there are no tracked files to check")
    listing = git("ls-files", "-z")
    assert listing.returncode == 0, listing.stderr
    return [name for name in listing.stdout.split("\0") if name]


def test_no_tracked_file_names_the_checkouts_absolute_path(tracked: list[str]):
    paths = {str(ROOT), str(ROOT.resolve())}
    offenders = []
    for name in tracked:
        file = ROOT / name
        if not file.is_file():
            continue
        text = file.read_bytes().decode("utf-8", errors="replace")
        offenders += [f"{name} names {path}" for path in paths if path in text]
    assert not offenders


def test_the_mirror_folder_is_in_the_clone_and_its_contents_are_ignored(tracked: list[str]):
    assert [name for name in tracked if name.startswith("moto_export/")] == ["moto_export/.gitkeep"]
    ignored = git("check-ignore", "--no-index", "moto_export/test-bucket/a.txt", "moto_export/_manifest.json")
    assert ignored.stdout.split() == ["moto_export/test-bucket/a.txt", "moto_export/_manifest.json"]
    assert git("check-ignore", "--no-index", "-q", "moto_export/.gitkeep").returncode == 1
