"""The exporter, unchanged, mirroring Ceph's radosgw: hostile keys, deletes synced, no Moto-only features."""

from __future__ import annotations

import hashlib

import pytest

from exporter.naming import key_for_path
from tests.exporter.test_cli import exporter_process, stop_process
from tests.waiting import wait_until
from testkit.servers import free_port

pytestmark = pytest.mark.ceph

HOSTILE_KEYS = [
    "plain.txt",
    "with space.txt",
    "ünïcødé/日本語 😀.txt",
    "a+b&c=d?e.txt",
    "dots/../escape.txt",
    "../outside.txt",
    "./dot-segment.txt",
    "sibling",
    "sibling/child.txt",
    "trailing/",
    "percent%20literal.txt",
]


def mirror_of(folder) -> dict[str, str]:
    """Key -> sha256 of what the mirror holds for a bucket (escaped paths mapped back to their keys)."""
    return {
        key_for_path(str(path.relative_to(folder))): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in folder.rglob("*")
        if path.is_file()
    }


def s3_of(client, bucket) -> dict[str, str]:
    contents = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            contents[item["Key"]] = hashlib.sha256(body).hexdigest()
    return contents


def test_the_exporter_mirrors_rgw_buckets_with_hostile_keys_and_syncs_deletes(rgw, rgw_s3, tmp_path):
    export_dir = tmp_path / "mirror"
    buckets = ["ceph-mirror-a", "ceph-mirror-b"]
    for bucket in buckets:
        rgw_s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": rgw.region})
    for number, key in enumerate(HOSTILE_KEYS):
        rgw_s3.put_object(Bucket=buckets[0], Key=key, Body=f"{number}: {key}".encode())
    rgw_s3.put_object(Bucket=buckets[1], Key="other.txt", Body=b"other")
    assert sorted(s3_of(rgw_s3, buckets[0])) == sorted(HOSTILE_KEYS), "radosgw kept every key as sent"

    env = {**rgw.env(), "EXPORT_DIR": str(export_dir), "EXPORT_INTERVAL": "1", "DELETE_SYNC": "true",
           "REQUIRED_BUCKETS": "ceph-required", "HEALTH_PORT": str(free_port()), "STARTUP_TIMEOUT": "20"}
    process = exporter_process(env)

    def in_step(bucket: str) -> bool:
        return mirror_of(export_dir / bucket) == s3_of(rgw_s3, bucket)

    try:
        for bucket in buckets:
            wait_until(lambda b=bucket: in_step(b), 30, f"{bucket} mirrored")
        assert (export_dir / "ceph-required").is_dir(), "the required bucket was created in radosgw"
        assert "ceph-required" in [b["Name"] for b in rgw_s3.list_buckets()["Buckets"]]

        rgw_s3.delete_object(Bucket=buckets[0], Key="sibling")
        rgw_s3.delete_object(Bucket=buckets[0], Key="../outside.txt")
        rgw_s3.put_object(Bucket=buckets[0], Key="with space.txt", Body=b"changed")
        wait_until(lambda: in_step(buckets[0]), 30, "changes synced")
        assert "sibling" not in mirror_of(export_dir / buckets[0])

        rgw_s3.delete_object(Bucket=buckets[1], Key="other.txt")
        wait_until(lambda: mirror_of(export_dir / buckets[1]) == {}, 30, "the delete synced")
    finally:
        stop_process(process)
    log = process.stdout.read()
    outside = [path for path in tmp_path.rglob("*") if not path.resolve().is_relative_to(tmp_path.resolve())]
    assert outside == []
    assert log.count("is not Moto: no change feed") == 1, log
    assert "restore not applicable" in log and "restoring" not in log and "Moto restarted" not in log, log
    assert "Traceback" not in log, log
    assert " ERROR " not in log, log
