"""scripts/ensure-ceph.sh records exactly the daemons it started; scripts/stop-ceph.sh stops only those."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.ceph.conftest import CEPH_DAEMONS, process_name
from testkit.servers import ROOT


@pytest.mark.ceph
def test_the_recorded_pids_are_the_three_running_daemons(rgw):
    pids = [int(line) for line in Path(rgw.folder, "pids").read_text().split()]
    assert sorted(process_name(pid) for pid in pids) == sorted(CEPH_DAEMONS)


def test_stop_refuses_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "pids").write_text("1\n")
    keep = tmp_path / "keep.txt"
    keep.write_text("mine")
    stop = [str(ROOT / "scripts/stop-ceph.sh"), str(tmp_path)]
    result = subprocess.run(stop, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1 and "not a folder made by ensure-ceph.sh" in result.stderr
    assert keep.read_text() == "mine"
