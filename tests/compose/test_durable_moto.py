"""End-to-end: `docker compose restart moto` and a kill -9 of its process lose nothing (issues: durable Moto,
and 24: the state folder in the moto-state volume).

Runs before test_stack.py (file order), on the same stack, which has DELETE_SYNC=true."""

from __future__ import annotations

import os
import re
import signal
import time

import pytest
import requests

from tests.compose.conftest import Stack, run, wait_until

pytestmark = pytest.mark.compose

BUCKET = "durable-bucket"
CORS = [
    {"AllowedMethods": ["GET", "PUT"], "AllowedOrigins": ["http://localhost:8000"], "AllowedHeaders": ["*"]}
]


def host_files(stack: Stack) -> dict[str, bytes]:
    root = stack.export_dir / BUCKET
    return {str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def test_a_moto_restart_brings_every_object_back_and_the_mirror_loses_nothing(stack: Stack):
    s3 = stack.s3()
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    s3.put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": CORS})
    for index in range(30):
        s3.put_object(
            Bucket=BUCKET,
            Key=f"docs/{index}.json",
            Body=f'{{"n": {index}}}'.encode(),
            ContentType="application/json",
            Metadata={"index": str(index)},
        )
    wait_until(lambda: len(host_files(stack)) == 30, 60, "30 objects mirrored on the host")
    before = host_files(stack)

    stack.compose("restart", "moto")
    client = stack.s3()

    def all_back() -> bool:
        try:
            return client.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 30
        except Exception:  # noqa: BLE001 (moto restarting, or the bucket not back yet)
            return False

    wait_until(all_back, 60, "every object back in Moto after `docker compose restart moto`", interval=1)
    obj = client.get_object(Bucket=BUCKET, Key="docs/7.json")
    assert obj["Body"].read() == b'{"n": 7}'
    assert obj["ContentType"] == "application/json" and obj["Metadata"] == {"index": "7"}
    assert client.get_bucket_cors(Bucket=BUCKET)["CORSRules"][0]["AllowedOrigins"] == [
        "http://localhost:8000"
    ]
    wait_until(
        lambda: stack.services()["exporter"].get("Health") == "healthy", 60, "the exporter healthy again"
    )
    assert host_files(stack) == before, "the host folder lost nothing, with DELETE_SYNC=true"


SETTINGS_BUCKET = "durable-settings"


def moto_health(stack: Stack) -> dict | None:
    try:
        answer = requests.get(f"{stack.moto_url}/_health", timeout=5)
        return answer.json() if answer.status_code == 200 else None
    except requests.RequestException:
        return None


def test_a_kill_9_of_moto_keeps_every_setting_and_version_and_the_exporter_restores_nothing(stack: Stack):
    """Issue 24: the moto service keeps S3's state in its volume; a crash gives it all back, with the same
    boot id, so the exporter sees a Moto that came back with its state and does not restore over it."""
    s3 = stack.s3()
    s3.create_bucket(
        Bucket=SETTINGS_BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
    )
    s3.put_bucket_versioning(Bucket=SETTINGS_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_tagging(Bucket=SETTINGS_BUCKET, Tagging={"TagSet": [{"Key": "team", "Value": "data"}]})
    first = s3.put_object(Bucket=SETTINGS_BUCKET, Key="doc", Body=b"one", Metadata={"v": "1"})["VersionId"]
    s3.put_object(Bucket=SETTINGS_BUCKET, Key="doc", Body=b"two", Tagging="kind=doc")
    s3.put_object(Bucket=SETTINGS_BUCKET, Key="gone", Body=b"x")
    s3.delete_object(Bucket=SETTINGS_BUCKET, Key="gone")
    before = moto_health(stack)
    assert before and before["durable"]["loaded"], before
    container = stack.compose("ps", "--quiet", "moto").stdout.strip()
    pid = int(run(["docker", "inspect", "--format", "{{.State.Pid}}", container]).stdout.strip())
    if not os.path.exists(f"/proc/{pid}"):
        pytest.skip("the Docker engine's processes are not visible here (remote engine): cannot kill -9")
    since = time.time()
    os.kill(pid, signal.SIGKILL)  # a crash: Docker's restart policy starts the container again
    wait_until(
        lambda: (moto_health(stack) or {}).get("status") == "ok", 90, "moto serving again after kill -9"
    )
    assert moto_health(stack)["boot_id"] == before["boot_id"], "a Moto that came back with its state"
    client = stack.s3()
    assert client.get_bucket_versioning(Bucket=SETTINGS_BUCKET)["Status"] == "Enabled"
    assert client.get_bucket_tagging(Bucket=SETTINGS_BUCKET)["TagSet"] == [{"Key": "team", "Value": "data"}]
    assert client.get_object(Bucket=SETTINGS_BUCKET, Key="doc")["Body"].read() == b"two"
    assert client.get_object(Bucket=SETTINGS_BUCKET, Key="doc", VersionId=first)["Metadata"] == {"v": "1"}
    assert client.get_object_tagging(Bucket=SETTINGS_BUCKET, Key="doc")["TagSet"] == [
        {"Key": "kind", "Value": "doc"}
    ]
    markers = client.list_object_versions(Bucket=SETTINGS_BUCKET)["DeleteMarkers"]
    assert [marker["Key"] for marker in markers] == ["gone"]
    wait_until(lambda: stack.services()["exporter"].get("Health") == "healthy", 60, "the exporter healthy")
    logs = stack.compose("logs", "--no-color", "--since", str(int(since)), "exporter").stdout
    restore_lines = [
        line
        for line in logs.splitlines()
        if "Moto restarted" in line or "restore:" in line or re.search(r"\b[1-9][0-9]* restored\b", line)
    ]
    assert restore_lines == [], logs[-3000:]
