"""Issue 24: every item S3 stores comes back after a kill -9 of a gateway with GATEWAY_STATE_DIR, set up
through boto3 as an application's fixtures do; also snapshots, the feed's position, the boot id, and
refusals when the folder cannot take a write (disk full, read-only)."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from testkit.servers import MotoServer
from tests.moto_gateway.helpers import client

REGION = {"LocationConstraint": "ap-northeast-1"}
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::items/*"}
    ],
}


def start(folder, **env) -> MotoServer:
    server = MotoServer(env={"GATEWAY_STATE_DIR": str(folder), **env})
    server.start()
    return server


def set_up(s3) -> dict:
    s3.create_bucket(Bucket="items", CreateBucketConfiguration=REGION)
    s3.put_bucket_versioning(Bucket="items", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_policy(Bucket="items", Policy=json.dumps(POLICY))
    s3.put_bucket_lifecycle_configuration(
        Bucket="items",
        LifecycleConfiguration={
            "Rules": [
                {"ID": "old", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 7}}
            ]
        },
    )
    s3.put_bucket_encryption(
        Bucket="items",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_bucket_tagging(Bucket="items", Tagging={"TagSet": [{"Key": "team", "Value": "data"}]})
    s3.put_bucket_cors(
        Bucket="items",
        CORSConfiguration={
            "CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["http://localhost:8000"]}]
        },
    )
    s3.put_bucket_ownership_controls(
        Bucket="items", OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    s3.put_bucket_website(Bucket="items", WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    sqs = boto3.client(
        "sqs", endpoint_url=s3.meta.endpoint_url, region_name=s3.meta.region_name,
        aws_access_key_id="test", aws_secret_access_key="test",
    )
    queue = sqs.create_queue(QueueName="item-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket="items",
        NotificationConfiguration={
            "QueueConfigurations": [{"Id": "new", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    s3.create_bucket(Bucket="access-logs", CreateBucketConfiguration=REGION, ACL="log-delivery-write")
    s3.put_bucket_logging(
        Bucket="items",
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "access-logs", "TargetPrefix": "items/"}},
    )
    first = s3.put_object(Bucket="items", Key="doc", Body=b"first", Metadata={"owner": "ann"})["VersionId"]
    s3.put_object(
        Bucket="items",
        Key="doc",
        Body=b"second",
        ContentType="text/plain",
        Tagging="kind=doc",
        StorageClass="STANDARD_IA",
    )
    s3.put_object_acl(Bucket="items", Key="doc", ACL="public-read")
    s3.put_object(Bucket="items", Key="gone", Body=b"x")
    s3.delete_object(Bucket="items", Key="gone")
    s3.put_object(Bucket="items", Key="sum", Body=b"checked", ChecksumAlgorithm="SHA256")
    upload = s3.create_multipart_upload(Bucket="items", Key="big")["UploadId"]
    parts = []
    for number, body in ((1, b"a" * 5 * 1024 * 1024), (2, b"b" * 1024)):
        etag = s3.upload_part(Bucket="items", Key="big", UploadId=upload, PartNumber=number, Body=body)[
            "ETag"
        ]
        parts.append({"PartNumber": number, "ETag": etag})
    s3.complete_multipart_upload(Bucket="items", Key="big", UploadId=upload, MultipartUpload={"Parts": parts})
    pending = s3.create_multipart_upload(Bucket="items", Key="pending")["UploadId"]
    s3.upload_part(Bucket="items", Key="pending", UploadId=pending, PartNumber=1, Body=b"p" * 2048)
    s3.create_bucket(Bucket="locked", CreateBucketConfiguration=REGION, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(
        Bucket="locked",
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
        },
    )
    until = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    s3.put_object(
        Bucket="locked",
        Key="held",
        Body=b"keep",
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=until,
        ObjectLockLegalHoldStatus="ON",
    )
    s3.put_public_access_block(
        Bucket="items",
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": False,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False,
        },
    )
    return {"first": first, "pending": pending}


def describe(s3, ids: dict) -> dict:
    """Every answer the items above show up in, without what changes per request."""

    def clean(answer: dict) -> dict:
        return {name: value for name, value in answer.items() if name != "ResponseMetadata"}

    doc = s3.get_object(Bucket="items", Key="doc")
    versions = s3.list_object_versions(Bucket="items")
    big = s3.head_object(Bucket="items", Key="big", PartNumber=1)
    return {
        "location": clean(s3.get_bucket_location(Bucket="items")),
        "versioning": clean(s3.get_bucket_versioning(Bucket="items")),
        "policy": json.loads(s3.get_bucket_policy(Bucket="items")["Policy"]),
        "lifecycle": clean(s3.get_bucket_lifecycle_configuration(Bucket="items")),
        "encryption": clean(s3.get_bucket_encryption(Bucket="items")),
        "bucket_tags": clean(s3.get_bucket_tagging(Bucket="items")),
        "cors": clean(s3.get_bucket_cors(Bucket="items")),
        "public_access_block": clean(s3.get_public_access_block(Bucket="items")),
        "ownership": clean(s3.get_bucket_ownership_controls(Bucket="items")),
        "website": clean(s3.get_bucket_website(Bucket="items")),
        "notifications": clean(s3.get_bucket_notification_configuration(Bucket="items")),
        "logging": clean(s3.get_bucket_logging(Bucket="items")),
        "bucket_acl": clean(s3.get_bucket_acl(Bucket="items")),
        "doc": (
            doc["Body"].read(),
            doc["ContentType"],
            doc["ETag"],
            doc.get("StorageClass"),
            doc["VersionId"],
        ),
        "first": s3.get_object(Bucket="items", Key="doc", VersionId=ids["first"])["Metadata"],
        "object_tags": clean(s3.get_object_tagging(Bucket="items", Key="doc")),
        "object_acl": clean(s3.get_object_acl(Bucket="items", Key="doc")),
        "versions": [(v["Key"], v["VersionId"], v["ETag"], v["Size"]) for v in versions["Versions"]],
        "markers": [(m["Key"], m["VersionId"]) for m in versions["DeleteMarkers"]],
        "checksum": s3.head_object(Bucket="items", Key="sum", ChecksumMode="ENABLED").get("ChecksumSHA256"),
        "sse": doc.get("ServerSideEncryption"),
        "multipart": (big["ETag"], big.get("PartsCount"), big["ContentLength"]),
        "big_bytes": [
            s3.get_object(Bucket="items", Key="big", Range=span)["Body"].read()
            for span in ("bytes=0-3", "bytes=5242878-5242881")
        ],
        "uploads": [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="items").get("Uploads", [])],
        "parts": [
            (p["PartNumber"], p["Size"])
            for p in s3.list_parts(Bucket="items", Key="pending", UploadId=ids["pending"])["Parts"]
        ],
        "lock_config": clean(s3.get_object_lock_configuration(Bucket="locked")),
        "lock": {
            name: value
            for name, value in s3.head_object(Bucket="locked", Key="held").items()
            if name.startswith("ObjectLock")
        },  # GetObjectRetention is checked through HeadObject here
    }


def test_every_item_s3_stores_survives_a_kill(tmp_path):
    server = start(tmp_path / "state")
    try:
        s3 = client(server.url)
        ids = set_up(s3)
        before = describe(s3, ids)
        assert before["multipart"][0].endswith('-2"') and before["multipart"][1] == 2
        assert requests.post(f"{server.url}/_snapshots/fixtures", timeout=10).status_code == 201
        health = requests.get(f"{server.url}/_health", timeout=5).json()
        s3.create_bucket(Bucket="temporary", CreateBucketConfiguration=REGION)
        s3.delete_bucket(Bucket="temporary")
        feed = requests.get(f"{server.url}/_changes?after=0", timeout=5).json()
        server.kill()
        server.start()
        s3 = client(server.url)
        assert describe(s3, ids) == before
        assert before["big_bytes"] == [b"aaaa", b"aabb"]
        assert "temporary" not in [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]
        again = requests.get(f"{server.url}/_health", timeout=5).json()
        assert again["boot_id"] == health["boot_id"], "a Moto that came back with its state keeps its boot id"
        assert again["durable"]["loaded"] and again["status"] == "ok"
        resumed = requests.get(f"{server.url}/_changes?after={feed['last_seq']}", timeout=5).json()
        assert resumed["last_seq"] == feed["last_seq"] and not resumed["gap"], "the feed goes on where it was"
        # the upload in progress completes after the crash, from its stored part
        part = s3.list_parts(Bucket="items", Key="pending", UploadId=ids["pending"])["Parts"][0]
        s3.complete_multipart_upload(
            Bucket="items",
            Key="pending",
            UploadId=ids["pending"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
        )
        assert s3.get_object(Bucket="items", Key="pending")["Body"].read() == b"p" * 2048
        # snapshots come back, and restoring one still works after the crash
        s3.delete_object(Bucket="items", Key="sum")
        listed = requests.get(f"{server.url}/_snapshots", timeout=5).json()["snapshots"]
        assert [snapshot["name"] for snapshot in listed] == ["fixtures"]
        assert requests.post(f"{server.url}/_snapshots/fixtures/restore", timeout=30).status_code == 200
        server.kill()
        server.start()
        s3 = client(server.url)
        assert s3.get_object(Bucket="items", Key="sum")["Body"].read() == b"checked"
        # a reset empties the folder too
        assert requests.post(f"{server.url}/_reset", timeout=30).status_code == 200
        server.kill()
        server.start()
        assert client(server.url).list_buckets()["Buckets"] == []
    finally:
        server.stop()


def mount_tmpfs(path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    return (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )


def slow_down(exc: pytest.ExceptionInfo) -> None:
    error = exc.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 503 and error["Error"]["Code"] == "SlowDown"


@pytest.fixture
def small_folder(tmp_path):
    folder = tmp_path / "small"
    if not mount_tmpfs(folder, "24m"):
        pytest.skip("needs root to mount a small tmpfs")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_refuses_writes_with_slow_down_and_takes_them_again_once_space_returns(small_folder):
    server = start(small_folder)
    try:
        s3 = client(server.url, retries={"max_attempts": 1, "mode": "standard"})
        s3.create_bucket(Bucket="full", CreateBucketConfiguration=REGION)
        s3.put_object(Bucket="full", Key="kept", Body=b"k" * 1000)
        filler = small_folder / "filler"
        subprocess.run(
            ["dd", "if=/dev/zero", f"of={filler}", "bs=1M", "count=64"], capture_output=True, check=False
        )
        with pytest.raises(ClientError) as refused:
            s3.put_object(Bucket="full", Key="big", Body=b"b" * (4 * 1024 * 1024))
        slow_down(refused)
        with pytest.raises(ClientError) as refused:
            s3.put_object(Bucket="full", Key="small", Body=b"s" * 1000)
        slow_down(refused)
        health = requests.get(f"{server.url}/_health", timeout=5).json()
        assert health["status"] == "degraded" and health["durable"]["writable"] is False
        for key in ("big", "small"):
            with pytest.raises(ClientError):
                s3.head_object(Bucket="full", Key=key)  # nothing half-visible
        assert s3.get_object(Bucket="full", Key="kept")["Body"].read() == b"k" * 1000
        filler.unlink()
        s3.put_object(Bucket="full", Key="after", Body=b"a" * (2 * 1024 * 1024))
        assert requests.get(f"{server.url}/_health", timeout=5).json()["status"] == "ok"
        server.kill()
        server.start()
        s3 = client(server.url)
        assert s3.get_object(Bucket="full", Key="after")["ContentLength"] == 2 * 1024 * 1024
        assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket="full")["Contents"]) == ["after", "kept"]
    finally:
        server.stop()


def test_a_read_only_folder_refuses_writes_and_keeps_serving_reads(small_folder):
    server = start(small_folder)
    try:
        s3 = client(server.url, retries={"max_attempts": 1, "mode": "standard"})
        s3.create_bucket(Bucket="read-only", CreateBucketConfiguration=REGION)
        s3.put_object(Bucket="read-only", Key="kept", Body=b"k")
        # read-only from now on: a read-only bind mount over the folder (the SQLite files stay open)
        subprocess.run(["mount", "--bind", str(small_folder), str(small_folder)], check=True)
        subprocess.run(["mount", "-o", "remount,bind,ro", str(small_folder)], check=True)
        with pytest.raises(ClientError) as refused:
            s3.put_object(Bucket="read-only", Key="new", Body=b"n" * 300_000)
        slow_down(refused)
        with pytest.raises(ClientError) as refused:
            s3.delete_object(Bucket="read-only", Key="kept")
        slow_down(refused)
        assert s3.get_object(Bucket="read-only", Key="kept")["Body"].read() == b"k"
        assert requests.get(f"{server.url}/_health", timeout=5).json()["durable"]["writable"] is False
        subprocess.run(["umount", str(small_folder)], check=True)  # the bind mount: writable again
        s3.put_object(Bucket="read-only", Key="new", Body=b"n")
        assert s3.get_object(Bucket="read-only", Key="new")["Body"].read() == b"n"
    finally:
        server.stop()
