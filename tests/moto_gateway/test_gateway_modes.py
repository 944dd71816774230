"""Ordinary boto3 traffic through the gateway in each mode; the health path, Moto's own API, config errors."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
import requests
from boto3.s3.transfer import TransferConfig
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from botocore.exceptions import ClientError

from testkit.clients import REGION
from tests.moto_gateway.helpers import aws_error, client, shift_botocore_clock
from testkit.servers import ROOT, MotoServer

BULK = {"version": 1, "export": "/_bulk/export", "import": "/_bulk/import", "list": "/_bulk/list"}
"""What /_health advertises for the bulk API (issue 13: clients find the capability there)."""


@pytest.fixture(scope="module")
def verifying_server():
    server = MotoServer(
        env={"GATEWAY_VERIFY_HEADER_SIGNATURES": "true", "GATEWAY_SPOOL_MEMORY_BYTES": "65536"}
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def plain_server():
    server = MotoServer(env={"GATEWAY_VALIDATION": "false"})
    server.start()
    yield server
    server.stop()


def everyday_traffic(s3) -> None:
    """What applications do all day: every call must work exactly as on plain Moto."""
    s3.create_bucket(Bucket="daily", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(
        Bucket="daily", Key="notes/a b+c ü.txt", Body=b"hello", ContentType="text/plain", Metadata={"k": "v"}
    )
    assert s3.get_object(Bucket="daily", Key="notes/a b+c ü.txt")["Body"].read() == b"hello"
    assert s3.head_object(Bucket="daily", Key="notes/a b+c ü.txt")["Metadata"] == {"k": "v"}
    s3.copy_object(Bucket="daily", Key="copy.txt", CopySource={"Bucket": "daily", "Key": "notes/a b+c ü.txt"})
    s3.put_object_tagging(Bucket="daily", Key="copy.txt", Tagging={"TagSet": [{"Key": "t", "Value": "1"}]})
    assert s3.get_object_tagging(Bucket="daily", Key="copy.txt")["TagSet"] == [{"Key": "t", "Value": "1"}]
    body = os.urandom(6 * 1024 * 1024 + 17)
    s3.upload_fileobj(
        io.BytesIO(body),
        "daily",
        "multi.bin",
        Config=TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024),
    )
    assert s3.get_object(Bucket="daily", Key="multi.bin")["Body"].read() == body
    listed = s3.list_objects_v2(Bucket="daily", Prefix="notes/", Delimiter="/")
    assert [item["Key"] for item in listed["Contents"]] == ["notes/a b+c ü.txt"]
    s3.delete_object(Bucket="daily", Key="copy.txt")
    s3.delete_objects(
        Bucket="daily", Delete={"Objects": [{"Key": "multi.bin"}, {"Key": "notes/a b+c ü.txt"}]}
    )
    assert "Contents" not in s3.list_objects_v2(Bucket="daily")
    s3.delete_bucket(Bucket="daily")


def test_everyday_boto3_traffic_with_validation_on(s3):
    everyday_traffic(s3)


def test_everyday_traffic_with_header_signatures_verified(verifying_server):
    verifying_server.reset()
    everyday_traffic(client(verifying_server.url))
    sigv2 = client(verifying_server.url, signature_version="s3")
    sigv2.create_bucket(Bucket="old-style", CreateBucketConfiguration={"LocationConstraint": REGION})
    sigv2.put_object(Bucket="old-style", Key="a b.txt", Body=b"v2", ContentType="text/plain")
    assert sigv2.get_object(Bucket="old-style", Key="a b.txt")["Body"].read() == b"v2"


def test_header_signature_failures_when_verified(verifying_server, monkeypatch):
    verifying_server.reset()
    good = client(verifying_server.url)
    good.create_bucket(Bucket="guarded", CreateBucketConfiguration={"LocationConstraint": REGION})
    with pytest.raises(ClientError) as wrong_secret:
        client(verifying_server.url, secret="nope").list_objects_v2(Bucket="guarded")
    assert wrong_secret.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    with pytest.raises(ClientError) as unknown_key:
        client(verifying_server.url, key="AKIAUNKNOWN").put_object(Bucket="guarded", Key="k", Body=b"x")
    assert unknown_key.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    with pytest.raises(ClientError) as v2_wrong:
        client(verifying_server.url, signature_version="s3", secret="nope").list_objects_v2(Bucket="guarded")
    assert v2_wrong.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert "Contents" not in good.list_objects_v2(Bucket="guarded")
    shift_botocore_clock(monkeypatch, -3600)
    with pytest.raises(ClientError) as skewed:
        client(verifying_server.url).list_objects_v2(Bucket="guarded")
    assert skewed.value.response["Error"]["Code"] == "RequestTimeTooSkewed"


def test_payload_hash_mismatch_when_verified(verifying_server):
    verifying_server.reset()
    client(verifying_server.url).create_bucket(
        Bucket="guarded", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    url = f"{verifying_server.url}/guarded/k"
    request = AWSRequest(method="PUT", url=url, data=b"signed body")
    S3SigV4Auth(BotoCredentials("test", "test"), "s3", REGION).add_auth(request)
    headers = dict(request.headers.items())
    error = aws_error(requests.put(url, data=b"other body!", headers=headers, timeout=10))
    assert (error["status"], error["Code"]) == (400, "XAmzContentSHA256Mismatch")
    assert requests.put(url, data=b"signed body", headers=headers, timeout=10).status_code == 200


def test_validation_off_is_plain_moto(plain_server, monkeypatch):
    plain_server.reset()
    s3 = client(plain_server.url)
    s3.create_bucket(Bucket="plain", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="plain", Key="k", Body=b"x")
    shift_botocore_clock(monkeypatch, -7200)
    expired = s3.generate_presigned_url("get_object", Params={"Bucket": "plain", "Key": "k"}, ExpiresIn=60)
    assert requests.get(expired, timeout=10).status_code == 200
    health = requests.get(f"{plain_server.url}/_health", timeout=5).json()
    assert len(health.pop("boot_id")) == 32
    assert health == {
        "status": "ok",
        "validation": False,
        "verify_header_signatures": False,
        "change_feed": True,
        "bulk": BULK,
        "snapshots": True,
    }



def test_health_path(moto):
    response = requests.get(f"{moto.url}/_health", timeout=5)
    assert response.status_code == 200
    health = response.json()
    assert len(health.pop("boot_id")) == 32
    assert health == {
        "status": "ok",
        "validation": True,
        "verify_header_signatures": False,
        "change_feed": True,
        "bulk": BULK,
        "snapshots": True,
    }
    assert requests.head(f"{moto.url}/_health", timeout=5).status_code == 200
    assert requests.post(f"{moto.url}/_health", timeout=5).status_code == 405
    probe = subprocess.run(
        [sys.executable, "-m", "common.probe", f"{moto.url}/_health"],
        cwd=ROOT,
        capture_output=True,
        timeout=30,
    )
    assert probe.returncode == 0, probe.stderr


def test_moto_api_is_untouched(moto, s3):
    s3.create_bucket(Bucket="gone-soon", CreateBucketConfiguration={"LocationConstraint": REGION})
    assert requests.post(f"{moto.url}/moto-api/reset", timeout=10).status_code == 200
    assert s3.list_buckets()["Buckets"] == []
    assert (
        requests.get(
            f"{moto.url}/moto-api/data.json", params={"X-Amz-Signature": "junk"}, timeout=10
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GATEWAY_VALIDATION", "perhaps"),
        ("GATEWAY_VERIFY_HEADER_SIGNATURES", "sometimes"),
        ("GATEWAY_SPOOL_MEMORY_BYTES", "-1"),
        ("GATEWAY_ACCESS", "perhaps"),
        ("GATEWAY_ALLOW_ANONYMOUS", "sometimes"),
        ("GATEWAY_CREDENTIALS", "key-without-secret"),
        ("GATEWAY_CREDENTIALS", "k:topsecret:12"),
    ],
)
def test_bad_settings_exit_2_with_one_line(name, value):
    env = {**os.environ, name: value}
    result = subprocess.run(
        [sys.executable, "-m", "moto_gateway"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and "Traceback" not in result.stderr
    assert "topsecret" not in result.stderr  # GATEWAY_CREDENTIALS holds secrets: its value is never shown


def test_cors_preflight_passes_and_refusals_stay_readable_cross_origin(s3):
    s3.create_bucket(Bucket="cors", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_cors(  # as on S3, a bucket answers preflights only from its CORS rules
        Bucket="cors",
        CORSConfiguration={
            "CORSRules": [{"AllowedMethods": ["PUT"], "AllowedOrigins": ["http://localhost:8000"]}]
        },
    )
    url = s3.generate_presigned_url("put_object", Params={"Bucket": "cors", "Key": "k"})
    origin = {"Origin": "http://localhost:8000"}
    preflight = requests.options(url, headers={**origin, "Access-Control-Request-Method": "PUT"}, timeout=10)
    assert preflight.status_code == 200
    refused = requests.put(
        url.replace("X-Amz-Signature=", "X-Amz-Signature=0"), data=b"x", headers=origin, timeout=10
    )
    assert refused.status_code == 403
    assert refused.headers["Access-Control-Allow-Origin"] == "http://localhost:8000"


def test_router_serves_only_underscore_paths_and_passes_the_rest():
    from moto_gateway.server.router import Router

    seen = []

    def inner(environ, start_response):
        seen.append(environ["PATH_INFO"])
        start_response("204 No Content", [])
        return []

    router = Router(inner)
    router.add("/_ping", lambda environ, start_response: start_response("200 OK", []) or [b"pong"])
    with pytest.raises(ValueError):
        router.add("/ping", inner)
    assert router({"PATH_INFO": "/_ping"}, lambda status, headers: None) == [b"pong"]
    router({"PATH_INFO": "/_unknown"}, lambda status, headers: None)
    router({"PATH_INFO": "/bucket/_ping"}, lambda status, headers: None)
    assert seen == ["/_unknown", "/bucket/_ping"]
