"""One pass at a time, against a real Moto server: what lands on disk, and what does not."""

import json
import logging
import os
import shutil
import signal
import sqlite3
from pathlib import Path

import pytest

from exporter.naming import ESCAPE_DIR
from exporter.store import STATE_DIR
from tests.exporter.conftest import read_manifest
from tests.exporter.test_naming import HOSTILE_KEYS


def files_under(root):
    """The mirror's files (the exporter's own state folder, `.motostack`, left out)."""
    return {
        os.path.relpath(os.path.join(folder, name), root)
        for folder, _dirs, names in os.walk(root)
        for name in names
        if not os.path.relpath(folder, root).split(os.sep)[0] == STATE_DIR
    }


def snapshot(root):
    return {path: os.stat(root / path).st_mtime_ns for path in files_under(root)}


def test_full_pass_writes_every_object_with_its_bytes(make_exporter, s3, bucket, export_dir):
    s3.put_object(Bucket=bucket, Key="sample/hello.txt", Body=b"hello moto server", ContentType="text/plain")
    s3.put_object(Bucket=bucket, Key="deep/a/b/c.bin", Body=bytes(range(256)) * 50)
    s3.create_bucket(Bucket="empty-bucket", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    stats = make_exporter().run_pass()
    assert (stats.downloads, stats.errors, stats.complete) == (2, 0, True)
    assert (export_dir / bucket / "sample/hello.txt").read_bytes() == b"hello moto server"
    assert (export_dir / bucket / "deep/a/b/c.bin").read_bytes() == bytes(range(256)) * 50
    assert (export_dir / "empty-bucket").is_dir()
    manifest = read_manifest(export_dir)
    hello = manifest["buckets"][bucket]["objects"]["sample/hello.txt"]
    assert hello["path"] == "sample/hello.txt" and hello["size"] == 17
    assert hello["headers"]["ContentType"] == "text/plain"


def test_no_change_pass_makes_no_get_and_writes_nothing(make_exporter, s3, bucket, export_dir):
    for index in range(30):
        s3.put_object(Bucket=bucket, Key=f"k/{index}", Body=b"x" * index)
    exporter = make_exporter()
    exporter.run_pass()
    before, gets_before = snapshot(export_dir), exporter.gets
    stats = exporter.run_pass()
    assert stats.downloads == 0 and exporter.gets == gets_before
    assert snapshot(export_dir) == before
    fresh = make_exporter()
    fresh.run_pass()
    assert fresh.gets == 0, "a new process with the same manifest downloads nothing"


def test_changed_object_is_downloaded_again(make_exporter, s3, bucket, export_dir):
    s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"v1")
    exporter = make_exporter()
    exporter.run_pass()
    s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"v2")
    assert exporter.run_pass().downloads == 1
    assert (export_dir / bucket / "doc.txt").read_bytes() == b"v2"


def test_file_deleted_by_hand_comes_back(make_exporter, s3, bucket, export_dir):
    s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"v1")
    exporter = make_exporter()
    exporter.run_pass()
    (export_dir / bucket / "doc.txt").unlink()
    assert exporter.run_pass().downloads == 1
    assert (export_dir / bucket / "doc.txt").read_bytes() == b"v1"


def test_hostile_keys_each_get_their_own_file_inside_the_bucket(make_exporter, s3, bucket, export_dir):
    # Moto's router answers 404 to a PUT whose key holds a newline, so that one is covered by the naming tests only.
    keys = [key for key in HOSTILE_KEYS if "\n" not in key and len(key.encode()) <= 1024]
    keys += ["a", "a/b", "dir/", "dir/child"]
    for index, key in enumerate(keys):
        s3.put_object(Bucket=bucket, Key=key, Body=f"body {index}".encode())
    stats = make_exporter().run_pass()
    assert stats.errors == 0 and stats.downloads == len(keys)
    written = files_under(export_dir)
    assert written == {os.path.join(bucket, path) for path in written_paths(export_dir, bucket)}
    assert len(written) == len(keys)
    manifest = read_manifest(export_dir)["buckets"][bucket]["objects"]
    for index, key in enumerate(keys):
        assert (export_dir / bucket / manifest[key]["path"]).read_bytes() == f"body {index}".encode()
    assert (export_dir / bucket / "a/b").read_bytes() == f"body {keys.index('a/b')}".encode()
    assert (export_dir / bucket / ESCAPE_DIR / "a").read_bytes() == f"body {keys.index('a')}".encode()
    assert not (export_dir / "other-bucket").exists() and not (export_dir / "x").exists()
    assert read_manifest(export_dir)["format"] == 1


def written_paths(export_dir, bucket):
    manifest = read_manifest(export_dir)
    return {entry["path"] for entry in manifest["buckets"][bucket]["objects"].values()}


def test_a_key_appearing_below_an_existing_file_moves_it_without_download(make_exporter, s3, bucket, export_dir):
    s3.put_object(Bucket=bucket, Key="report", Body=b"the file")
    exporter = make_exporter()
    exporter.run_pass()
    s3.put_object(Bucket=bucket, Key="report/2026.csv", Body=b"a,b")
    gets = exporter.gets
    stats = exporter.run_pass()
    assert (stats.moves, stats.downloads, exporter.gets - gets) == (1, 1, 1)
    assert (export_dir / bucket / ESCAPE_DIR / "report").read_bytes() == b"the file"
    assert (export_dir / bucket / "report/2026.csv").read_bytes() == b"a,b"


def test_without_delete_sync_files_of_deleted_objects_stay(make_exporter, s3, bucket, export_dir):
    s3.put_object(Bucket=bucket, Key="keep/me.txt", Body=b"data")
    exporter = make_exporter(delete_sync=False)
    exporter.run_pass()
    s3.delete_object(Bucket=bucket, Key="keep/me.txt")
    assert exporter.run_pass().deletes == 0
    assert (export_dir / bucket / "keep/me.txt").read_bytes() == b"data"
    entry = read_manifest(export_dir)["buckets"][bucket]["objects"]["keep/me.txt"]
    assert entry["in_s3"] is False


def test_with_delete_sync_files_and_empty_folders_go(make_exporter, s3, bucket, export_dir):
    s3.put_object(Bucket=bucket, Key="a/b/c.txt", Body=b"1")
    s3.put_object(Bucket=bucket, Key="a/keep.txt", Body=b"2")
    exporter = make_exporter(delete_sync=True)
    exporter.run_pass()
    (export_dir / bucket / "a/b/users-own-note.txt").write_text("not from S3")
    s3.delete_object(Bucket=bucket, Key="a/b/c.txt")
    s3.delete_object(Bucket=bucket, Key="a/keep.txt")
    assert exporter.run_pass().deletes == 2
    assert not (export_dir / bucket / "a/b/c.txt").exists()
    assert not (export_dir / bucket / "a/keep.txt").exists()
    assert (export_dir / bucket / "a/b/users-own-note.txt").read_text() == "not from S3"
    (export_dir / bucket / "a/b/users-own-note.txt").unlink()
    s3.put_object(Bucket=bucket, Key="x/y.txt", Body=b"3")
    exporter.run_pass()
    s3.delete_object(Bucket=bucket, Key="x/y.txt")
    exporter.run_pass()
    assert not (export_dir / bucket / "x").exists()
    assert (export_dir / bucket).is_dir()


def test_missing_bucket_deletes_nothing_even_with_delete_sync(make_exporter, s3, bucket, export_dir, moto, caplog):
    s3.put_object(Bucket=bucket, Key="precious.txt", Body=b"data")
    exporter = make_exporter(delete_sync=True, restore_on_start=False)
    exporter.run_pass()
    moto.reset()
    stats = exporter.run_pass()
    assert stats.deletes == 0
    assert (export_dir / bucket / "precious.txt").read_bytes() == b"data"
    assert "gone from S3" in caplog.text
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    assert exporter.run_pass().deletes == 0
    assert exporter.run_pass().deletes == 0
    assert (export_dir / bucket / "precious.txt").read_bytes() == b"data"


@pytest.mark.parametrize("damage", ["garbage", "foreign"])
def test_a_corrupt_or_foreign_database_is_set_aside_and_rebuilt(make_exporter, s3, bucket, export_dir, caplog, damage):
    s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"v1")
    s3.put_object(Bucket=bucket, Key="dir/kept.txt", Body=b"v2")
    first = make_exporter()
    first.run_pass()
    first.close()
    database = export_dir / STATE_DIR / "manifest.sqlite3"
    for suffix in ("-wal", "-shm"):
        (export_dir / STATE_DIR / f"manifest.sqlite3{suffix}").unlink(missing_ok=True)
    if damage == "garbage":
        database.write_bytes(b"SQLite format 3\x00" + os.urandom(4000))
    else:
        database.unlink()
        other = sqlite3.connect(database)
        other.execute("CREATE TABLE objects (whatever TEXT)")
        other.commit()
        other.close()
    (export_dir / bucket / "my-own-notes.txt").write_text("a user's file")
    exporter = make_exporter(delete_sync=True)
    stats = exporter.run_pass()
    assert stats.errors == 0 and stats.deletes == 0
    assert (export_dir / bucket / "doc.txt").read_bytes() == b"v1"
    assert (export_dir / bucket / "my-own-notes.txt").read_text() == "a user's file", "nothing of the mirror deleted"
    set_aside = [p.name for p in (export_dir / STATE_DIR).iterdir() if "unreadable" in p.name]
    assert set_aside, "the damaged database is kept aside, not deleted"
    assert [r for r in caplog.records if "set aside" in r.getMessage()], "one clear log line"
    assert read_manifest(export_dir)["buckets"][bucket]["objects"]["dir/kept.txt"]["size"] == 2
    assert exporter.run_pass().downloads == 0


def test_a_corrupt_legacy_json_manifest_means_a_full_pass(make_exporter, s3, bucket, export_dir):
    s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"v1")
    export_dir.mkdir(parents=True)
    (export_dir / "_manifest.json").write_text('{"format": 1, "buckets": {"test-bucket": ')
    stats = make_exporter().run_pass()
    assert stats.downloads == 1 and stats.errors == 0
    assert not (export_dir / "_manifest.json").exists()
    assert read_manifest(export_dir)["buckets"][bucket]["objects"]["doc.txt"]


def test_a_tampered_manifest_cannot_make_the_exporter_touch_files_outside(make_exporter, s3, bucket, export_dir):
    outside = export_dir.parent / "outside.txt"
    outside.write_text("must survive")
    export_dir.mkdir(parents=True)
    (export_dir / "_manifest.json").write_text(
        json.dumps({"format": 1, "buckets": {bucket: {"created": None, "objects": {
            "../../outside.txt": {"path": "../../outside.txt", "etag": "x", "size": 12},
        }}}})
    )
    stats = make_exporter(delete_sync=True).run_pass()
    assert stats.errors == 0 and stats.deletes == 0
    assert outside.read_text() == "must survive"


def test_large_object_is_streamed_to_disk_intact(make_exporter, s3, bucket, export_dir):
    body = os.urandom(1024 * 1024) * 12
    s3.put_object(Bucket=bucket, Key="big.bin", Body=body)
    make_exporter().run_pass()
    assert (export_dir / bucket / "big.bin").read_bytes() == body
    assert not [p for p in files_under(export_dir) if ".motostack-tmp-" in p]


@pytest.fixture
def own_signal_handlers():
    """`main()` installs the exporter's SIGINT/SIGTERM handlers: give the test process its own back, or
    Ctrl-C would no longer stop the test run."""
    saved = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


def test_required_buckets_are_created_in_the_configured_region(
    exporter_env, s3, monkeypatch, tmp_path, own_signal_handlers
):
    from exporter.__main__ import main

    monkeypatch.setenv("REQUIRED_BUCKETS", "test-bucket,report-bucket")
    assert main(["--once"]) == 0
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert {"test-bucket", "report-bucket"} <= names
    assert s3.get_bucket_location(Bucket="report-bucket")["LocationConstraint"] == "ap-northeast-1"
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("REQUIRED_BUCKETS", "east-bucket")
    assert main(["--once"]) == 0
    assert s3.get_bucket_location(Bucket="east-bucket")["LocationConstraint"] in (None, "us-east-1")


LEGACY_MIRROR = Path(__file__).parent / "data" / "legacy_mirror"
"""A mirror and its `_manifest.json` as the previous release (JSON manifest) wrote them."""


def test_a_json_manifest_of_the_previous_release_is_migrated_once(make_exporter, s3, export_dir, caplog):
    caplog.set_level(logging.INFO, "exporter")
    shutil.copytree(LEGACY_MIRROR, export_dir)
    legacy = json.loads((export_dir / "_manifest.json").read_text())["buckets"]["legacy-bucket"]["objects"]
    s3.create_bucket(Bucket="legacy-bucket", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    for key in legacy:
        body = (export_dir / "legacy-bucket" / legacy[key]["path"]).read_bytes()
        s3.put_object(Bucket="legacy-bucket", Key=key, Body=body, ContentType="text/plain")
    exporter = make_exporter()
    stats = exporter.run_pass()
    assert (stats.errors, stats.downloads, stats.moves) == (0, 0, 0), "the migrated manifest knows every file"
    assert not (export_dir / "_manifest.json").exists()
    assert [r for r in caplog.records if "migrated _manifest.json (5 object(s))" in r.getMessage()]
    migrated = read_manifest(export_dir)["buckets"]["legacy-bucket"]
    assert migrated["region"] == "ap-northeast-1"
    assert {key: entry["path"] for key, entry in migrated["objects"].items()} == {
        key: entry["path"] for key, entry in legacy.items()}
    assert migrated["objects"]["readme.txt"]["headers"] == {"ContentType": "text/plain"}
    exporter.close()
    caplog.clear()
    assert make_exporter().run_pass().downloads == 0
    assert not [r for r in caplog.records if "migrated" in r.getMessage()], "migrated once"
