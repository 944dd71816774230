"""End-to-end: `make snapshot`, `make restore-snapshot` and `make reset` against the running stack, and the
exporter's mirror following what they do (the stack has DELETE_SYNC=true).

The test saves the whole S3 state first and puts it back at the end, so that the compose tests that share
this stack find S3 as they left it."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.compose.conftest import ROOT, Stack, wait_until

pytestmark = pytest.mark.compose

BUCKET = "snapshot-e2e"
LATER_BUCKET = "snapshot-e2e-later"
UPLOADER_BUCKET = "uploads"
STATUS_URL = "http://127.0.0.1:8081/status"


def make(stack: Stack, target: str, name: str | None = None) -> subprocess.CompletedProcess:
    """`make TARGET [NAME=...]` from the checkout, against this stack's published port."""
    command = ["make", "--no-print-directory", target, f"MOTO_PORT={stack.moto_port}"]
    if name is not None:
        command.append(f"NAME={name}")
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)


def made(stack: Stack, target: str, name: str | None = None) -> dict:
    result = make(stack, target, name)
    assert result.returncode == 0, f"make {target} failed: {result.stdout}{result.stderr}"
    return json.loads(result.stdout)


def host_files(stack: Stack, bucket: str) -> dict[str, bytes]:
    root = stack.export_dir / bucket
    if not root.is_dir():
        return {}
    return {str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def exporter_passes(stack: Stack) -> int:
    """Full passes the exporter has completed, from its /status (published inside its container only)."""
    read = f"import urllib.request; print(urllib.request.urlopen({STATUS_URL!r}, timeout=5).read().decode())"
    output = stack.compose("exec", "-T", "exporter", "python", "-c", read).stdout
    return int(json.loads(output)["passes"])


def objects(stack: Stack, bucket: str) -> dict[str, bytes]:
    s3 = stack.s3()
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {item["Key"]: s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() for item in listed}


def bucket_names(stack: Stack) -> set[str]:
    return {bucket["Name"] for bucket in stack.s3().list_buckets()["Buckets"]}


def test_snapshot_restore_and_reset_through_make_and_the_mirror_follows(stack: Stack):
    s3 = stack.s3()
    made(stack, "snapshot", "before-snapshot-e2e")
    try:
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
        s3.put_object(Bucket=BUCKET, Key="kept.txt", Body=b"version one", ContentType="text/plain",
                      CacheControl="max-age=60", Metadata={"origin": "first"})
        s3.put_object(Bucket=BUCKET, Key="deleted-later.txt", Body=b"deleted after the snapshot")
        wait_until(lambda: len(host_files(stack, BUCKET)) == 2, 60, "both objects mirrored")

        saved = made(stack, "snapshot", "e2e")
        assert saved["name"] == "e2e" and saved["objects"] >= 2

        s3.put_object(Bucket=BUCKET, Key="kept.txt", Body=b"version two, longer", ContentType="text/markdown")
        s3.delete_object(Bucket=BUCKET, Key="deleted-later.txt")
        s3.put_object(Bucket=BUCKET, Key="put-later.txt", Body=b"put after the snapshot")
        s3.create_bucket(Bucket=LATER_BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
        after_changes = {"kept.txt": b"version two, longer", "put-later.txt": b"put after the snapshot"}
        wait_until(lambda: host_files(stack, BUCKET) == after_changes, 60, "the mirror following the changes")

        restored = made(stack, "restore-snapshot", "e2e")
        assert restored["name"] == "e2e"
        assert objects(stack, BUCKET) == {"kept.txt": b"version one", "deleted-later.txt": b"deleted after the snapshot"}
        head = s3.head_object(Bucket=BUCKET, Key="kept.txt")
        assert (head["ContentType"], head["CacheControl"], head["Metadata"]) == ("text/plain", "max-age=60",
                                                                                {"origin": "first"})
        assert LATER_BUCKET not in bucket_names(stack), "a bucket created after the snapshot is gone"
        snapshot_state = {"kept.txt": b"version one", "deleted-later.txt": b"deleted after the snapshot"}
        wait_until(lambda: host_files(stack, BUCKET) == snapshot_state, 60,
                   "the mirror back to the snapshot: old bytes, the deleted file back, the later one gone")

        listing = {item["name"]: item for item in made(stack, "snapshots")["snapshots"]}
        assert listing["e2e"]["objects"] == saved["objects"]

        assert make(stack, "restore-snapshot", "no-such-snapshot").returncode != 0, "404 for an unknown name"
        assert make(stack, "snapshot", "bad/name").returncode != 0, "400 for a name outside [A-Za-z0-9._-]"

        passes = exporter_passes(stack)
        assert made(stack, "reset") == {"status": "ok"}
        # The uploader puts its own bucket back as soon as it notices it gone (uploader/storage.py repair_bucket).
        assert bucket_names(stack) - {UPLOADER_BUCKET} == set(), "S3 empty after make reset"
        wait_until(lambda: exporter_passes(stack) >= passes + 2, 60, "two full passes of the exporter after the reset",
                   interval=0.5)
        assert BUCKET not in bucket_names(stack), "a reset is not a Moto restart: nothing restored from the mirror"
        assert host_files(stack, BUCKET) == snapshot_state, "a missing bucket's files are kept"
        assert stack.services()["exporter"]["Health"] == "healthy"

        made(stack, "restore-snapshot", "e2e")
        assert objects(stack, BUCKET) == snapshot_state
        assert s3.head_object(Bucket=BUCKET, Key="kept.txt")["Metadata"] == {"origin": "first"}
    finally:
        made(stack, "restore-snapshot", "before-snapshot-e2e")
        for name in ("e2e", "before-snapshot-e2e"):
            subprocess.run(["curl", "-sS", "-X", "DELETE", f"{stack.moto_url}/_snapshots/{name}"],
                           capture_output=True, timeout=30)
    assert BUCKET not in bucket_names(stack), "S3 is as the other compose tests left it"
