"""scripts/ensure-docker.sh builds its base image from the Debian mirror the machine's apt already uses
(scripts/apt-mirror.sh reads it), so no tracked script names a mirror host."""

from __future__ import annotations

import subprocess
from pathlib import Path

from testkit.servers import ROOT

SCRIPT = ROOT / "scripts" / "apt-mirror.sh"


def mirror_of(apt_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), str(apt_dir)], capture_output=True, text=True, timeout=30)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_the_first_uris_of_a_deb822_sources_file_wins_over_sources_list(tmp_path: Path):
    write(tmp_path / "sources.list.d" / "a.sources",
          "Types: deb\n# http://commented.example/debian\nURIs: http://first.example/debian\n"
          "Suites: bookworm\n\nTypes: deb\nURIs: http://second.example/debian-security\n")
    write(tmp_path / "sources.list", "deb http://list.example/debian bookworm main\n")
    result = mirror_of(tmp_path)
    assert (result.returncode, result.stdout) == (0, "http://first.example/debian\n"), result.stderr


def test_without_a_sources_file_the_first_deb_line_of_sources_list_is_used(tmp_path: Path):
    write(tmp_path / "sources.list",
          "# deb http://commented.example/debian bookworm main\n"
          "deb-src http://src.example/debian bookworm main\n"
          "deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://list.example/debian bookworm main\n"
          "deb http://later.example/debian bookworm main\n")
    result = mirror_of(tmp_path)
    assert (result.returncode, result.stdout) == (0, "http://list.example/debian\n"), result.stderr


def test_no_mirror_anywhere_is_a_clear_error(tmp_path: Path):
    write(tmp_path / "sources.list.d" / "other.list", "deb http://ignored.example/debian bookworm main\n")
    write(tmp_path / "sources.list", "# nothing enabled\n")
    result = mirror_of(tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no Debian mirror in apt's sources" in result.stderr


def test_ensure_docker_names_no_host_and_takes_the_mirror_from_apt():
    text = (ROOT / "scripts" / "ensure-docker.sh").read_text()
    assert "://" not in text
    assert "apt-mirror.sh" in text
