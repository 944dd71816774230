"""The exporter uses the gateway's bulk API where /_health advertises it, and the S3 API everywhere else."""

from __future__ import annotations

import sys

import pytest

import exporter.source
from exporter.bulk import capability
from testkit.clients import make_test_client
from testkit.servers import MotoServer, free_port

REGION = {"LocationConstraint": "ap-northeast-1"}
OBJECTS = 40


@pytest.fixture
def own_gateway(exporter_env, monkeypatch):
    server = MotoServer()
    server.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    yield server
    server.stop()


def fill(client) -> dict[str, bytes]:
    client.create_bucket(Bucket="bulk-photos", CreateBucketConfiguration=REGION)
    client.put_bucket_cors(Bucket="bulk-photos", CORSConfiguration={"CORSRules": [
        {"AllowedMethods": ["GET"], "AllowedOrigins": ["http://localhost:8000"]}]})
    client.put_object(Bucket="bulk-photos", Key="cat.png", Body=b"\x89PNG fake", ContentType="image/png",
                      CacheControl="max-age=60", ContentDisposition='inline; filename="cat.png"',
                      ContentLanguage="en", ContentEncoding="identity", Metadata={"owner": "alice"})
    bodies = {"cat.png": b"\x89PNG fake"}
    for index in range(OBJECTS - 1):
        key = f"many/{index:02d}.txt"
        bodies[key] = f"n{index}".encode() * (index + 1)
        client.put_object(Bucket="bulk-photos", Key=key, Body=bodies[key], ContentType="text/plain")
    return bodies


def count_calls(counting, operation: str) -> list[int]:
    calls = [0]

    def count(**_):
        calls[0] += 1

    counting.client.meta.events.register(f"before-call.s3.{operation}", count)
    return calls


def assert_all_back(client, bodies: dict[str, bytes]) -> None:
    for key, body in bodies.items():
        assert client.get_object(Bucket="bulk-photos", Key=key)["Body"].read() == body
    cat = client.get_object(Bucket="bulk-photos", Key="cat.png")
    assert (cat["ContentType"], cat["CacheControl"], cat["ContentDisposition"], cat["ContentLanguage"],
            cat["ContentEncoding"], cat["Metadata"]) == (
        "image/png", "max-age=60", 'inline; filename="cat.png"', "en", "identity", {"owner": "alice"})
    assert client.get_bucket_cors(Bucket="bulk-photos")["CORSRules"][0]["AllowedOrigins"] == ["http://localhost:8000"]
    assert client.get_bucket_location(Bucket="bulk-photos")["LocationConstraint"] == "ap-northeast-1"


@pytest.mark.parametrize("bulk_transfers", [True, False])
def test_mirror_and_restore_with_and_without_the_bulk_api(own_gateway, make_exporter, export_dir, bulk_transfers):
    bodies = fill(make_test_client(own_gateway.url))
    counting = make_exporter(bulk_transfers=bulk_transfers)
    puts = count_calls(counting, "PutObject")
    stats = counting.run_pass()
    assert (stats.downloads, stats.errors) == (OBJECTS, 0)
    assert counting.gets == (0 if bulk_transfers else OBJECTS), "the bulk export replaces the GETs"
    for key, body in bodies.items():
        assert (export_dir / "bulk-photos" / key).read_bytes() == body

    own_gateway.restart()
    stats = counting.run_pass()
    assert (stats.restored, stats.downloads, stats.errors) == (OBJECTS, 0, 0)
    assert puts[0] == (0 if bulk_transfers else OBJECTS), "the bulk import replaces the PUTs"
    assert_all_back(make_test_client(own_gateway.url), bodies)
    gets = counting.gets
    assert counting.run_pass().downloads == 0 and counting.gets == gets, "restored ETags match the mirror's"


def test_a_bulk_mirror_writes_around_the_users_own_files_folder_by_folder(own_gateway, make_exporter, export_dir):
    """Files side by side share one check of their folder: the ones in the way are still found, each."""
    client = make_test_client(own_gateway.url)
    bodies = fill(client)
    counting = make_exporter()
    assert counting.run_pass().downloads == OBJECTS
    bucket_dir = export_dir / "bulk-photos"
    (bucket_dir / "many" / "users-file.txt").write_text("the user's own file")
    (bucket_dir / "many" / "users-folder.txt").mkdir()
    (bucket_dir / "many" / "users-folder.txt" / "keep.txt").write_text("the user's folder")
    (bucket_dir / "deep").write_text("the user's file where a folder must go")
    added = ["many/users-file.txt", "many/users-folder.txt", "deep/a.txt", "deep/b.txt", "fresh/x/1.txt", "fresh/x/2.txt"]
    added += [f"many/more-{index:02d}.txt" for index in range(20)]
    for key in added:
        client.put_object(Bucket="bulk-photos", Key=key, Body=key.encode())
        bodies[key] = key.encode()
    gets = counting.gets
    stats = counting.run_pass()
    assert counting.gets == gets, "the bulk export fetched them"
    blocked = {key for _bucket, key in counting.exporter.problems}
    assert blocked == {"many/users-file.txt", "many/users-folder.txt", "deep/a.txt", "deep/b.txt"}
    assert all(problem.blocked for problem in counting.exporter.problems.values()), "found in the way, not failed"
    assert stats.downloads == len(added) - len(blocked)
    assert (bucket_dir / "many" / "users-file.txt").read_text() == "the user's own file"
    assert (bucket_dir / "many" / "users-folder.txt" / "keep.txt").read_text() == "the user's folder"
    assert (bucket_dir / "deep").read_text() == "the user's file where a folder must go"
    for key, body in bodies.items():
        if key not in blocked:
            assert (bucket_dir / key).read_bytes() == body


def test_a_failing_bulk_endpoint_falls_back_to_the_s3_api(own_gateway, make_exporter, monkeypatch):
    bodies = fill(make_test_client(own_gateway.url))
    broken = {"version": 1, "export": "/_bulk/missing", "import": "/_bulk/missing"}
    monkeypatch.setattr(exporter.source, "advertised_bulk", lambda _health: broken)
    counting = make_exporter()
    assert (counting.run_pass().downloads, counting.gets) == (OBJECTS, OBJECTS)
    own_gateway.restart()
    stats = counting.run_pass()
    assert (stats.restored, stats.errors) == (OBJECTS, 0)
    assert_all_back(make_test_client(own_gateway.url), bodies)


def test_plain_moto_has_no_bulk_api_and_is_mirrored_through_s3(exporter_env, make_exporter, export_dir, monkeypatch):
    port = free_port()
    plain = MotoServer(port=port, command=[sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)])
    plain.start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", plain.url)
        assert capability(plain.url) is None
        bodies = fill(make_test_client(plain.url))
        counting = make_exporter()
        assert (counting.run_pass().downloads, counting.gets) == (OBJECTS, OBJECTS)
        assert counting.exporter.bulk is None
        assert (export_dir / "bulk-photos" / "cat.png").read_bytes() == bodies["cat.png"]
    finally:
        plain.stop()


def test_a_snapshot_restore_or_a_reset_is_not_taken_for_a_restart(own_gateway, make_exporter, export_dir):
    import requests

    client = make_test_client(own_gateway.url)
    client.create_bucket(Bucket="snap-mirror", CreateBucketConfiguration=REGION)
    client.put_object(Bucket="snap-mirror", Key="a.txt", Body=b"a")
    counting = make_exporter(delete_sync=True)
    counting.run_pass()
    assert requests.post(f"{own_gateway.url}/_snapshots/base", timeout=10).status_code == 201
    client.put_object(Bucket="snap-mirror", Key="b.txt", Body=b"b")
    counting.run_pass()
    assert (export_dir / "snap-mirror/b.txt").exists()

    assert requests.post(f"{own_gateway.url}/_snapshots/base/restore", timeout=10).status_code == 200
    stats = counting.run_pass()
    assert (stats.restored, stats.deletes) == (0, 1), "the mirror follows the snapshot (DELETE_SYNC=true)"
    assert not (export_dir / "snap-mirror/b.txt").exists() and (export_dir / "snap-mirror/a.txt").exists()

    assert requests.post(f"{own_gateway.url}/_reset", timeout=10).status_code == 200
    stats = counting.run_pass()
    assert stats.restored == 0 and client.list_buckets()["Buckets"] == [], "a reset stays a reset"
    assert (export_dir / "snap-mirror/a.txt").read_bytes() == b"a", "nothing is deleted for a missing bucket"
