"""Nothing wedges the mirror, health tells the truth, a cut-short restore starts over (issue 18), against
real gateway processes and a real exporter (killed at chosen points through its EXPORTER_CRASH_AT hook)."""

import hashlib
import logging
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.exporter.conftest import read_manifest
from tests.exporter.test_cli import exporter_process, get_json, run_exporter, stop_process
from tests.waiting import wait_until
from testkit.clients import make_test_client
from testkit.servers import MotoServer, free_port

REGION = {"LocationConstraint": "ap-northeast-1"}


def mirror_of(export_dir, bucket):
    root = export_dir / bucket
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def s3_of(client, bucket):
    keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])]
    return {key: client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


@pytest.mark.parametrize("crash_at", ["after-intent", "after-rename:1", "after-rename:2", "after-rename:3"])
def test_a_kill_at_any_point_never_wedges_the_mirror(exporter_env, s3, export_dir, crash_at):
    """Issue 18's first case: a key that turns into a folder's sibling after a kill mid-pass."""
    s3.create_bucket(Bucket="wedge-bucket", CreateBucketConfiguration=REGION)
    for key in ("conflict-1", "conflict-1/child", "keep"):
        s3.put_object(Bucket="wedge-bucket", Key=key, Body=key.encode())
    env = {**exporter_env, "EXPORT_CONCURRENCY": "1", "DELETE_SYNC": "true"}
    killed = run_exporter({**env, "EXPORTER_CRASH_AT": crash_at}, "--once")
    assert killed.returncode == -9, killed.stderr
    s3.delete_object(Bucket="wedge-bucket", Key="conflict-1/child")
    repaired = run_exporter(env, "--once")
    assert repaired.returncode == 0, repaired.stderr
    assert ".motostack-tmp-" not in repaired.stderr
    assert mirror_of(export_dir, "wedge-bucket") == {"conflict-1": b"conflict-1", "keep": b"keep"}
    s3.delete_object(Bucket="wedge-bucket", Key="keep")
    assert run_exporter(env, "--once").returncode == 0
    assert mirror_of(export_dir, "wedge-bucket") == {"conflict-1": b"conflict-1"}, "a later delete still syncs"


def test_a_path_the_user_made_blocks_only_its_own_object(make_exporter, s3, bucket, export_dir, caplog):
    s3.put_object(Bucket=bucket, Key="old.txt", Body=b"old")
    exporter = make_exporter(delete_sync=True)
    exporter.run_pass()
    user_folder = export_dir / bucket / "report"
    user_folder.mkdir()
    (user_folder / "mine.txt").write_text("the user's own file")
    (export_dir / bucket / "notes.txt").write_text("the user's notes")
    s3.put_object(Bucket=bucket, Key="report", Body=b"the object")
    s3.put_object(Bucket=bucket, Key="notes.txt", Body=b"an object")
    s3.put_object(Bucket=bucket, Key="new.txt", Body=b"new")
    s3.delete_object(Bucket=bucket, Key="old.txt")
    stats = exporter.run_pass()
    assert stats.complete and (stats.downloads, stats.deletes) == (1, 1), "every other key and the delete synced"
    assert (export_dir / bucket / "new.txt").read_bytes() == b"new"
    assert not (export_dir / bucket / "old.txt").exists()
    assert (user_folder / "mine.txt").read_text() == "the user's own file"
    assert (export_dir / bucket / "notes.txt").read_text() == "the user's notes", "never overwritten"
    blocked = {(p.bucket, p.key): p for p in exporter.exporter.problems.values()}
    assert set(blocked) == {(bucket, "report"), (bucket, "notes.txt")} and all(p.blocked for p in blocked.values())
    lines = [r.getMessage() for r in caplog.records if "did not create" in r.getMessage()]
    assert any(f"{bucket}/report (mirror path {bucket}/report)" in line and f"in the way ({bucket}/report)" in line for line in lines)
    assert not any(".motostack-tmp-" in line for line in lines)
    (user_folder / "mine.txt").unlink()
    user_folder.rmdir()
    exporter.exporter.retry_problems()
    assert (export_dir / bucket / "report").read_bytes() == b"the object"
    assert set(exporter.exporter.problems) == {(bucket, "notes.txt")}


def follow(env, *, export_dir, **extra):
    port = free_port()
    process = exporter_process({**env, "EXPORT_DIR": str(export_dir), "HEALTH_PORT": str(port),
                                "EXPORT_INTERVAL": "60", "FEED_FULL_PASS_INTERVAL": "600", **extra})
    return process, port


def health(port):
    try:
        return get_json(f"http://127.0.0.1:{port}/healthz")
    except OSError:
        return None, None


def settles_to(port, code, within):
    """Wait for /healthz to answer `code`; how long it took."""
    started = time.monotonic()
    wait_until(lambda: health(port)[0] == code, within, f"/healthz to answer {code}")
    return time.monotonic() - started


def test_a_blocked_path_makes_health_503_until_it_is_moved_away(exporter_env, s3, tmp_path):
    export_dir = tmp_path / "mirror"
    s3.create_bucket(Bucket="health-bucket", CreateBucketConfiguration=REGION)
    process, port = follow(exporter_env, export_dir=export_dir)
    try:
        settles_to(port, 200, 60)
        in_the_way = export_dir / "health-bucket/blocked"
        in_the_way.mkdir(parents=True)
        (in_the_way / "user.txt").write_text("mine")
        s3.put_object(Bucket="health-bucket", Key="blocked", Body=b"object")
        settles_to(port, 503, 10)
        code, body = health(port)
        assert any("cannot be written" in reason for reason in body["reasons"])
        status = get_json(f"http://127.0.0.1:{port}/status")[1]
        assert status["problems"][0]["key"] == "blocked" and status["problems"][0]["blocked"] is True
        time.sleep(1.5)
        assert health(port)[0] == 503, "an idle feed poll does not make it healthy"
        (in_the_way / "user.txt").unlink()
        in_the_way.rmdir()
        gone_at = time.monotonic()
        settles_to(port, 200, 10)
        assert time.monotonic() - gone_at <= 2.5
        assert (export_dir / "health-bucket/blocked").read_bytes() == b"object"
    finally:
        stop_process(process)


@pytest.fixture
def small_disk(tmp_path):
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a 1 MiB tmpfs here ({result.stderr.strip()}); the blocked-path test covers "
                    "a write that fails until its cause goes away")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=False)


def test_a_full_disk_makes_health_503_and_it_recovers_within_two_seconds(exporter_env, s3, small_disk):
    export_dir = small_disk / "mirror"
    s3.create_bucket(Bucket="disk-bucket", CreateBucketConfiguration=REGION)
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * 600 * 1024)
    process, port = follow(exporter_env, export_dir=export_dir)
    try:
        settles_to(port, 200, 60)
        s3.put_object(Bucket="disk-bucket", Key="big.bin", Body=os.urandom(700 * 1024))
        settles_to(port, 503, 10)
        samples = []
        for _ in range(8):
            samples.append(health(port)[0])
            time.sleep(0.25)
        assert samples == [503] * 8, "503 the whole time the write fails"
        reasons = health(port)[1]["reasons"]
        assert any("cannot be written" in reason for reason in reasons), reasons
        filler.unlink()
        assert settles_to(port, 200, 10) <= 2.5
        assert (export_dir / "disk-bucket/big.bin").stat().st_size == 700 * 1024
    finally:
        stop_process(process)


def test_a_restore_cut_short_by_another_restart_starts_over_and_ends_byte_exact(exporter_env, tmp_path):
    moto = MotoServer()
    moto.start()
    export_dir = tmp_path / "mirror"
    try:
        client = make_test_client(moto.url)
        client.create_bucket(Bucket="restore-bucket", CreateBucketConfiguration=REGION)
        bodies = {f"obj/{index:04d}": hashlib.sha256(str(index).encode()).digest() * 64 for index in range(600)}
        for key, body in bodies.items():
            client.put_object(Bucket="restore-bucket", Key=key, Body=body)
        env = {**exporter_env, "AWS_ENDPOINT_URL": moto.url}
        # The S3 API's restore, one object at a time, so that a second restart lands in the middle of it
        # (the bulk import restores these 600 objects in about a second, between two progress reports).
        process, port = follow(env, export_dir=export_dir, EXPORT_CONCURRENCY="1", BULK_TRANSFERS="false")
        try:
            settles_to(port, 200, 120)
            moto.restart()

            def restoring():
                restore = get_json(f"http://127.0.0.1:{port}/status")[1]["last_restore"]
                return restore and restore["objects_done"] >= 30 and restore["objects_done"] < restore["objects_total"]

            wait_until(restoring, 60, "a restore under way")
            down_at = time.monotonic()
            moto.restart()
            down_seconds = time.monotonic() - down_at
            client = make_test_client(moto.url)

            def restore_started():
                try:
                    return client.head_bucket(Bucket="restore-bucket") is not None
                except Exception:  # noqa: BLE001 (not there yet)
                    return False

            # The event, not a deadline: the restore that was cut short starts over in the new Moto (the
            # bucket it creates first), however busy the machine is.
            wait_until(restore_started, 120, "the fresh restore to create the bucket", interval=0.05)
            settles_to(port, 200, 120)
            assert s3_of(client, "restore-bucket") == bodies
        finally:
            stop_process(process)
        output = process.stdout.read()
        # No error flood: uploads fail only while Moto is down (each one after botocore's retries, about a
        # second or more), not once for each of the hundreds of objects left.
        failed = output.count("cannot upload")
        assert failed <= 3 + 2 * down_seconds, f"{failed} failed uploads while Moto was down {down_seconds:.1f} s"
        assert "starting over" in output
    finally:
        moto.stop()
