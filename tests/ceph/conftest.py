"""The Ceph lane: one throwaway single-node Ceph with radosgw for the whole session (scripts/ensure-ceph.sh).

When Ceph cannot start, every test of the lane fails with the script's reason; only SKIP_CEPH=1 skips them.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from testkit.clients import REGION, make_test_client
from testkit.servers import ROOT

START_TIMEOUT = 300  # a first run installs the Debian packages (about 30 s) before the ~15 s start


@dataclass(frozen=True)
class Rgw:
    """A running radosgw: where it answers and the S3 user the script created."""

    url: str
    access_key: str
    secret_key: str
    region: str
    folder: str

    def env(self) -> dict[str, str]:
        """The variables a service needs to use it, as a user would set them."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }

    def client(self, **overrides):
        options = {"key": self.access_key, "secret": self.secret_key, **overrides}
        return make_test_client(self.url, self.region, **options)


def start_ceph() -> Rgw:
    env = {**os.environ, "CEPH_REGION": REGION}
    try:
        result = subprocess.run(
            [str(ROOT / "scripts/ensure-ceph.sh")],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=START_TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"Ceph did not start within {START_TIMEOUT} s: {exc.stderr or ''}", pytrace=False)
    if result.returncode != 0:
        pytest.fail(f"Ceph could not start (scripts/ensure-ceph.sh exited {result.returncode}):\n"
                    f"{result.stderr[-4000:]}", pytrace=False)
    values = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return Rgw(values["S3_ENDPOINT_URL"], values["AWS_ACCESS_KEY_ID"], values["AWS_SECRET_ACCESS_KEY"],
               values["AWS_REGION"], values["CEPH_DIR"])


@pytest.fixture(scope="session")
def rgw():
    if os.environ.get("SKIP_CEPH") == "1":
        pytest.skip("SKIP_CEPH=1")
    server = start_ceph()
    pids = [int(line) for line in Path(server.folder, "pids").read_text().split()]
    yield server
    subprocess.run([str(ROOT / "scripts/stop-ceph.sh"), server.folder], check=True, timeout=60)
    alive = [pid for pid in pids if Path(f"/proc/{pid}").exists() and process_name(pid) in CEPH_DAEMONS]
    assert not alive and not Path(server.folder).exists(), f"stop-ceph.sh left {alive} or {server.folder}"


CEPH_DAEMONS = {"ceph-mon", "ceph-osd", "radosgw"}


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


@pytest.fixture(scope="session")
def rgw_s3(rgw):
    return rgw.client()
