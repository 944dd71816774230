"""Snapshots of all S3 state and the reset: in process (no sockets) and through a real gateway with boto3."""

from __future__ import annotations

import io

import pytest
import requests
from werkzeug.test import Client

from moto_gateway.app import create_app
from moto_gateway.settings import GatewaySettings
from moto_gateway.state.s3state import BodyHandle, SharedBody
from moto_gateway.state.snapshots import parse_path

BUCKET = "snap-bucket"


# -- without sockets ------------------------------------------------------------------------------------


def test_parse_path():
    assert parse_path("/_snapshots") == (None, None)
    assert parse_path("/_snapshots/") == (None, None)
    assert parse_path("/_snapshots/base") == ("base", None)
    assert parse_path("/_snapshots/base/restore") == ("base", "restore")


def test_a_shared_body_is_closed_by_its_last_holder_only():
    buffer = io.BytesIO(b"0123456789")
    shared = SharedBody(buffer, 10).acquire()
    first, second = BodyHandle(shared), BodyHandle(shared.acquire())
    first.seek(2)
    assert first.read(3) == b"234" and second.read() == b"0123456789", "each handle has its own position"
    first.close()
    first.close()
    assert not buffer.closed and second.read() == b""
    second.seek(0)
    assert second.read(4) == b"0123"
    second.close()
    assert buffer.closed
    with pytest.raises(OSError):
        second.write(b"x")


@pytest.fixture(scope="module")
def app_client():
    return Client(create_app(GatewaySettings(gateway_validation=False)))


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/_snapshots/bad!name", 400),
        ("POST", "/_snapshots/" + "x" * 65, 400),
        ("POST", "/_snapshots/ok/unknown-action", 400),
        ("POST", "/_snapshots/never-saved/restore", 404),
        ("GET", "/_snapshots/never-saved", 404),
        ("DELETE", "/_snapshots/never-saved", 404),
        ("GET", "/_snapshots/never-saved/restore", 405),
        ("PUT", "/_snapshots/never-saved", 405),
        ("POST", "/_snapshots", 405),
        ("GET", "/_reset", 405),
    ],
)
def test_refusals_in_process(app_client, method, path, status):
    response = app_client.open(path, method=method)
    assert response.status_code == status
    assert response.json["code"] and response.json["error"]


def test_save_list_restore_delete_in_process(app_client):
    assert app_client.post("/_snapshots/A.b_c-9").status_code == 201
    listing = app_client.get("/_snapshots").json["snapshots"]
    assert [item["name"] for item in listing] == ["A.b_c-9"]
    assert app_client.post("/_snapshots/A.b_c-9/restore").status_code == 200
    response = app_client.delete("/_snapshots/A.b_c-9")
    assert response.status_code == 204 and response.data == b""
    assert app_client.get("/_snapshots").json == {"snapshots": []}
    assert app_client.post("/_reset").status_code == 200


# -- through a real gateway process ----------------------------------------------------------------------


@pytest.fixture
def gateway(moto):
    """The session's gateway, emptied, and without snapshots left by an earlier test."""
    for item in requests.get(f"{moto.url}/_snapshots", timeout=10).json()["snapshots"]:
        requests.delete(f"{moto.url}/_snapshots/{item['name']}", timeout=10)
    return moto


def call(gateway, method: str, path: str) -> requests.Response:
    return requests.request(method, f"{gateway.url}{path}", timeout=30)


def body_and_headers(s3, key: str, bucket: str = BUCKET) -> tuple[bytes, dict]:
    response = s3.get_object(Bucket=bucket, Key=key)
    headers = {
        name: response.get(name)
        for name in ("ContentType", "ContentEncoding", "CacheControl", "ContentDisposition", "ContentLanguage",
                     "Metadata", "ETag")
    }
    return response["Body"].read(), headers


def test_restore_brings_back_exactly_the_saved_state(gateway, s3):
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    cors = [{"AllowedMethods": ["GET"], "AllowedOrigins": ["http://example.test"]}]
    s3.put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": cors})
    s3.put_object(Bucket=BUCKET, Key="kept", Body=b"kept bytes", ContentType="text/plain")
    s3.put_object(Bucket=BUCKET, Key="overwritten", Body=b"old bytes", ContentType="text/old",
                  CacheControl="max-age=1", ContentDisposition="inline", ContentLanguage="de",
                  ContentEncoding="identity", Metadata={"version": "old"})
    s3.put_object(Bucket=BUCKET, Key="deleted", Body=b"deleted bytes")
    s3.put_object_tagging(Bucket=BUCKET, Key="kept", Tagging={"TagSet": [{"Key": "t", "Value": "1"}]})
    before = {key: body_and_headers(s3, key) for key in ("kept", "overwritten", "deleted")}

    response = call(gateway, "POST", "/_snapshots/base")
    assert response.status_code == 201, response.text
    assert response.json() | {"created": 0, "seconds": 0} == {
        "name": "base", "objects": 3, "bytes": len(b"kept bytesold bytesdeleted bytes"), "buckets": 1,
        "created": 0, "seconds": 0,
    }

    s3.put_object(Bucket=BUCKET, Key="overwritten", Body=b"new", ContentType="text/new", Metadata={"version": "new"})
    s3.delete_object(Bucket=BUCKET, Key="deleted")
    s3.put_object(Bucket=BUCKET, Key="later", Body=b"later")
    s3.delete_bucket_cors(Bucket=BUCKET)
    s3.create_bucket(Bucket="later-bucket", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    s3.put_object(Bucket="later-bucket", Key="k", Body=b"x")

    for _ in range(2):  # a restore leaves the snapshot as it was: it can be restored again
        assert call(gateway, "POST", "/_snapshots/base/restore").status_code == 200
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [BUCKET]
        listed = s3.list_objects_v2(Bucket=BUCKET)["Contents"]
        assert sorted(item["Key"] for item in listed) == ["deleted", "kept", "overwritten"]
        assert {key: body_and_headers(s3, key) for key in before} == before
        assert s3.get_bucket_cors(Bucket=BUCKET)["CORSRules"][0]["AllowedOrigins"] == ["http://example.test"]
        assert s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] == "ap-northeast-1"
        assert s3.get_object_tagging(Bucket=BUCKET, Key="kept")["TagSet"] == [{"Key": "t", "Value": "1"}]
        # and the restored state is ordinary S3 again: overwrite and delete it
        s3.put_object(Bucket=BUCKET, Key="kept", Body=b"changed after restore")
        s3.delete_object(Bucket=BUCKET, Key="overwritten")


def test_a_large_object_survives_being_overwritten_after_the_snapshot(gateway, s3):
    """Bodies past Moto's in-memory buffer live in a temp file that Moto closes on overwrite."""
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    large = bytes(range(256)) * (24 * 1024 * 1024 // 256)
    s3.put_object(Bucket=BUCKET, Key="large", Body=large)
    assert call(gateway, "POST", "/_snapshots/large").status_code == 201
    s3.put_object(Bucket=BUCKET, Key="large", Body=b"small")
    s3.delete_object(Bucket=BUCKET, Key="large")
    assert call(gateway, "POST", "/_snapshots/large/restore").status_code == 200
    assert s3.get_object(Bucket=BUCKET, Key="large")["Body"].read() == large
    assert s3.get_object(Bucket=BUCKET, Key="large", Range="bytes=256-511")["Body"].read() == bytes(range(256))


def test_reset_empties_s3_and_keeps_snapshots(gateway, s3):
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    s3.put_object(Bucket=BUCKET, Key="k", Body=b"v")
    assert call(gateway, "POST", "/_snapshots/one").status_code == 201
    assert call(gateway, "POST", "/_reset").status_code == 200
    assert s3.list_buckets()["Buckets"] == []
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0, "a bucket made after a reset starts empty"
    gateway.reset()  # Moto's own reset does not touch snapshots either
    assert call(gateway, "POST", "/_snapshots/one/restore").status_code == 200
    assert s3.get_object(Bucket=BUCKET, Key="k")["Body"].read() == b"v"


def test_listing_saving_again_and_deleting(gateway, s3):
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    assert call(gateway, "POST", "/_snapshots/empty-bucket").status_code == 201
    s3.put_object(Bucket=BUCKET, Key="a", Body=b"12345")
    s3.put_object(Bucket=BUCKET, Key="b", Body=b"678")
    assert call(gateway, "POST", "/_snapshots/two-objects").status_code == 201
    listing = call(gateway, "GET", "/_snapshots").json()["snapshots"]
    assert [(s["name"], s["objects"], s["bytes"], s["buckets"]) for s in listing] == [
        ("empty-bucket", 0, 0, 1),
        ("two-objects", 2, 8, 1),
    ]
    s3.delete_object(Bucket=BUCKET, Key="a")
    assert call(gateway, "POST", "/_snapshots/two-objects").status_code == 201, "the same name: replaced"
    assert call(gateway, "GET", "/_snapshots/two-objects").json()["objects"] == 1
    assert call(gateway, "DELETE", "/_snapshots/two-objects").status_code == 204
    assert call(gateway, "DELETE", "/_snapshots/two-objects").status_code == 404
    assert call(gateway, "POST", "/_snapshots/two-objects/restore").status_code == 404
    assert call(gateway, "POST", "/_snapshots/empty-bucket/restore").status_code == 200
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


@pytest.mark.parametrize("name", ["has space", "a%2Fb", "x" * 65, "caf%C3%A9", "star*"])
def test_bad_names_are_400_with_a_json_error(gateway, name):
    response = call(gateway, "POST", f"/_snapshots/{name}")
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidSnapshotName"


def test_versions_come_back(gateway, s3):
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=BUCKET, Key="k", Body=b"v1")["VersionId"]
    s3.put_object(Bucket=BUCKET, Key="k", Body=b"v2")
    assert call(gateway, "POST", "/_snapshots/versions").status_code == 201
    s3.delete_object(Bucket=BUCKET, Key="k")
    assert call(gateway, "POST", "/_snapshots/versions/restore").status_code == 200
    assert s3.get_object(Bucket=BUCKET, Key="k")["Body"].read() == b"v2"
    assert s3.get_object(Bucket=BUCKET, Key="k", VersionId=first)["Body"].read() == b"v1"
    assert len(s3.list_object_versions(Bucket=BUCKET)["Versions"]) == 2


def test_restore_and_reset_are_in_the_change_feed_with_the_same_boot_id(gateway, s3):
    before = call(gateway, "GET", "/_changes?after=0").json()
    assert call(gateway, "POST", "/_snapshots/feed").status_code == 201
    assert call(gateway, "POST", "/_snapshots/feed/restore").status_code == 200
    assert call(gateway, "POST", "/_reset").status_code == 200
    after = call(gateway, "GET", f"/_changes?after={before['last_seq']}").json()
    assert after["boot_id"] == before["boot_id"] == call(gateway, "GET", "/_health").json()["boot_id"]
    assert [(event["op"], event["key"]) for event in after["events"]] == [("snapshot-restore", "feed"), ("reset", None)]


def test_make_targets_drive_the_running_gateway(gateway, s3):
    """`make snapshot/restore-snapshot/reset` against the gateway on MOTO_PORT, as a user runs them."""
    import subprocess

    from testkit.servers import ROOT

    def make(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["make", "-s", *args, f"MOTO_PORT={gateway.port}"], cwd=ROOT, capture_output=True,
                              text=True, timeout=60)

    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    s3.put_object(Bucket=BUCKET, Key="k", Body=b"v")
    assert make("snapshot", "NAME=from-make").returncode == 0
    assert make("reset").returncode == 0
    assert s3.list_buckets()["Buckets"] == []
    assert make("restore-snapshot", "NAME=from-make").returncode == 0
    assert s3.get_object(Bucket=BUCKET, Key="k")["Body"].read() == b"v"
    assert '"from-make"' in make("snapshots").stdout
    refused = make("snapshot", "NAME=bad*name")
    assert refused.returncode != 0 and "InvalidSnapshotName" in refused.stdout + refused.stderr
    assert make("restore-snapshot").returncode != 0, "NAME is required"
