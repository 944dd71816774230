"""Durable Moto: a restarted (empty) Moto gets the mirror's buckets and objects back."""

import json
import logging

import pytest

from tests.exporter.conftest import read_manifest

from exporter.manifest import BucketRecord, Entry, Manifest
from exporter.reverse.restore import objects_to_restore, restart_reason
from exporter.status import is_healthy
from testkit.clients import make_test_client
from testkit.servers import MotoServer

REGION = {"LocationConstraint": "ap-northeast-1"}
CORS = [{"AllowedMethods": ["GET", "POST"], "AllowedOrigins": ["http://localhost:8000"], "AllowedHeaders": ["*"],
         "MaxAgeSeconds": 300}]


def record(created="t1", gone=False, **objects):
    return BucketRecord(created=created, gone=gone, objects={
        key: Entry(path=key, etag="e", size=1, in_s3=in_s3) for key, in_s3 in objects.items()
    })


def reason(manifest, buckets, boot_id):
    holding = {name for name, rec in manifest.buckets.items() if any(e.in_s3 for e in rec.objects.values())}
    return restart_reason(manifest.boot_id, manifest.buckets, holding, buckets, boot_id)


def test_boot_id_decides_when_the_endpoint_has_one():
    manifest = Manifest(buckets={"b1": record(k=True)}, boot_id="boot-a")
    assert reason(manifest, {"b1": "t1"}, "boot-b")
    assert reason(manifest, {}, "boot-a") is None, "same Moto: a missing bucket was deleted by a user"


def test_without_boot_id_every_bucket_must_be_missing_or_new():
    manifest = Manifest(buckets={"b1": record(k=True), "b2": record(k=True), "b3": record(k=False)})
    assert reason(manifest, {}, None)
    assert reason(manifest, {"b1": "t2", "b2": "t9"}, None)
    assert reason(manifest, {"b1": "t1"}, None) is None
    assert reason(Manifest(buckets={"b1": record(gone=True, k=True)}), {"b1": "t1"}, None)
    assert reason(Manifest(), {}, None) is None


def test_only_objects_that_were_in_s3_and_are_intact_on_disk_are_restored():
    rec = record(present=True, missing=True, kept=False, truncated=True, hand_deleted=True)
    sizes = {"present": 1, "missing": 1, "kept": 1, "truncated": 0}
    chosen = objects_to_restore(sorted(rec.objects.items()), {"present"}, sizes.get)
    assert [key for key, _ in chosen] == ["missing"]


def test_not_healthy_while_restoring():
    assert is_healthy("syncing", 10.0, 11.0, 15)
    assert not is_healthy("restoring", 10.0, 11.0, 15)


@pytest.fixture
def own_moto(exporter_env, monkeypatch):
    server = MotoServer()
    server.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    yield server
    server.stop()


@pytest.fixture
def filled(own_moto, exporter_env):
    client = make_test_client(own_moto.url)
    client.create_bucket(Bucket="photos", CreateBucketConfiguration=REGION)
    client.put_bucket_cors(Bucket="photos", CORSConfiguration={"CORSRules": CORS})
    europe = make_test_client(own_moto.url, region="eu-west-1")
    europe.create_bucket(Bucket="empty-one", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    client.put_object(Bucket="photos", Key="cat.png", Body=b"\x89PNG fake", ContentType="image/png",
                      CacheControl="max-age=60", ContentDisposition='inline; filename="cat.png"',
                      Metadata={"owner": "alice", "x-note": "hi"})
    client.put_object(Bucket="photos", Key="a/../odd key", Body=b"odd", ContentEncoding="identity")
    for index in range(40):
        client.put_object(Bucket="photos", Key=f"many/{index}.txt", Body=f"n{index}".encode(), ContentType="text/plain")
    return client


def assert_everything_back(client):
    cat = client.get_object(Bucket="photos", Key="cat.png")
    assert cat["Body"].read() == b"\x89PNG fake"
    assert cat["ContentType"] == "image/png"
    assert cat["CacheControl"] == "max-age=60"
    assert cat["ContentDisposition"] == 'inline; filename="cat.png"'
    assert cat["Metadata"] == {"owner": "alice", "x-note": "hi"}
    odd = client.get_object(Bucket="photos", Key="a/../odd key")
    assert odd["Body"].read() == b"odd" and odd["ContentEncoding"] == "identity"
    for index in range(40):
        assert client.get_object(Bucket="photos", Key=f"many/{index}.txt")["Body"].read() == f"n{index}".encode()
    assert client.get_bucket_cors(Bucket="photos")["CORSRules"][0]["AllowedOrigins"] == ["http://localhost:8000"]
    assert client.get_bucket_location(Bucket="empty-one")["LocationConstraint"] == "eu-west-1"


@pytest.mark.parametrize("delete_sync", [False, True])
def test_restart_restores_everything_and_downloads_nothing_again(own_moto, filled, make_exporter, export_dir,
                                                                 delete_sync):
    exporter = make_exporter(delete_sync=delete_sync)
    assert exporter.run_pass().downloads == 42
    files_before = {p: p.read_bytes() for p in export_dir.rglob("*") if p.is_file() and ".motostack" not in p.parts}
    own_moto.restart()
    gets = exporter.gets
    stats = exporter.run_pass()
    assert (stats.restored, stats.downloads, stats.deletes, stats.errors) == (42, 0, 0, 0)
    assert exporter.run_pass().downloads == 0
    assert exporter.gets == gets, "no object is downloaded again after a restore"
    client = make_test_client(own_moto.url)
    assert_everything_back(client)
    files_after = {p: p.read_bytes() for p in export_dir.rglob("*") if p.is_file() and ".motostack" not in p.parts}
    assert files_after == files_before, "the host folder lost nothing"


def test_a_new_exporter_restores_a_moto_that_restarted_while_it_was_down(own_moto, filled, make_exporter):
    first = make_exporter()
    first.run_pass()
    first.close()
    own_moto.restart()
    second = make_exporter()
    assert second.run_pass().restored == 42
    assert_everything_back(make_test_client(own_moto.url))


def test_restore_leaves_existing_objects_alone_and_skips_deleted_ones(own_moto, filled, make_exporter, export_dir):
    exporter = make_exporter(delete_sync=False)
    filled.delete_object(Bucket="photos", Key="many/0.txt")
    exporter.run_pass()
    assert (export_dir / "photos/many/0.txt").exists() is False
    filled.put_object(Bucket="photos", Key="gone-later.txt", Body=b"x")
    exporter.run_pass()
    filled.delete_object(Bucket="photos", Key="gone-later.txt")
    exporter.run_pass()
    assert (export_dir / "photos/gone-later.txt").exists(), "kept without DELETE_SYNC"
    own_moto.restart()
    client = make_test_client(own_moto.url)
    client.create_bucket(Bucket="photos", CreateBucketConfiguration=REGION)
    client.put_object(Bucket="photos", Key="cat.png", Body=b"newer cat", ContentType="image/png")
    stats = exporter.run_pass()
    assert stats.restored == 40, "39 of many/ + odd key; cat.png exists already"
    assert client.get_object(Bucket="photos", Key="cat.png")["Body"].read() == b"newer cat"
    assert (export_dir / "photos/cat.png").read_bytes() == b"newer cat", "the newer object wins in the mirror"
    keys = {o["Key"] for o in client.list_objects_v2(Bucket="photos")["Contents"]}
    assert "gone-later.txt" not in keys, "an object deleted before the restart stays deleted"


def test_restore_off_restores_nothing_and_deletes_nothing(own_moto, filled, make_exporter, export_dir,
                                                          caplog):
    exporter = make_exporter(delete_sync=True, restore_on_start=False)
    first = exporter.run_pass()
    assert (first.complete, first.downloads) == (True, 42), "the whole mirror is there before the restart"
    own_moto.restart()
    client = make_test_client(own_moto.url)
    client.create_bucket(Bucket="photos", CreateBucketConfiguration=REGION)
    with caplog.at_level(logging.WARNING, logger="exporter"):
        stats = exporter.run_pass()
    assert "RESTORE_ON_START is off, so nothing is restored" in caplog.text, "the pass saw Moto restart"
    assert (stats.restored, stats.deletes) == (0, 0)
    assert (export_dir / "photos/cat.png").read_bytes() == b"\x89PNG fake"
    assert "Contents" not in client.list_objects_v2(Bucket="photos")
    manifest = read_manifest(export_dir)
    assert manifest["buckets"]["photos"]["objects"]["cat.png"]["in_s3"] is False
