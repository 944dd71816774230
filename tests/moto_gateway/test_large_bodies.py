"""Issue 17: no single request grows the gateway's RSS by more than 32 MiB beyond GATEWAY_SPOOL_MEMORY_BYTES.

Against a real `python -m moto_gateway`: a 1 GiB PutObject, a 512 MiB UploadPart, a presigned PUT, an
aws-chunked PUT with a trailing CRC32 (what boto3 sends over HTTPS) and a CopyObject / UploadPartCopy of the
1 GiB object. Before each request the kernel's peak-RSS mark of the server is reset (/proc/PID/clear_refs);
after it, the peak (VmHWM) over the RSS before is the request's cost. Bodies are generated as they are sent
(testkit.streams) and hashed as they come back, so this process stays small; every object is read back
byte-exact with S3's ETag (MD5 for a single PUT). The change feed carries the stored size and ETag.
"""

from __future__ import annotations

import json
import urllib.request

import pytest
import requests

from bench.large_bodies import PeakGrowth, aws_chunked_put
from testkit.servers import MotoServer
from testkit.streams import DeterministicBody, expected_digests, stream_digests
from tests.moto_gateway.helpers import client

MIB = 1024 * 1024
SPOOL_MEMORY = 8 * MIB
RSS_BOUND_MIB = 32 + SPOOL_MEMORY / MIB
BUCKET = "large"


@pytest.fixture(scope="module")
def gateway():
    server = MotoServer(env={"GATEWAY_SPOOL_MEMORY_BYTES": str(SPOOL_MEMORY)})
    server.start()
    s3 = client(server.url)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    s3.put_object(Bucket=BUCKET, Key="warm-up", Body=b"x" * 1024)  # Moto's lazy imports, before measuring
    s3.get_object(Bucket=BUCKET, Key="warm-up")["Body"].read()
    yield server
    server.stop()


def read_back(s3, key: str, size: int) -> None:
    length, digests = stream_digests(s3.get_object(Bucket=BUCKET, Key=key)["Body"])
    assert length == size
    assert digests == expected_digests(size)


def feed_event(server: MotoServer, key: str) -> dict:
    with urllib.request.urlopen(f"{server.url}/_changes?after=0", timeout=30) as answer:
        events = json.load(answer)["events"]
    return [event for event in events if event.get("key") == key][-1]


def test_a_1_gib_put_object_stays_within_the_bound_and_is_stored_exactly(gateway):
    size = 1024 * MIB
    s3 = client(gateway.url)
    with PeakGrowth(gateway.process.pid) as growth:
        answer = s3.put_object(
            Bucket=BUCKET, Key="big", Body=DeterministicBody(size), ContentType="video/mp4"
        )
    assert growth.mib < RSS_BOUND_MIB, f"RSS grew {growth.mib:.1f} MiB for one 1 GiB PUT"
    md5 = expected_digests(size)["md5"]
    assert answer["ETag"] == f'"{md5}"'
    head = s3.head_object(Bucket=BUCKET, Key="big")
    assert (head["ContentLength"], head["ETag"], head["ContentType"]) == (size, f'"{md5}"', "video/mp4")
    event = feed_event(gateway, "big")
    assert (event["op"], event.get("etag", "").strip('"'), event.get("size")) == ("put", md5, size)
    read_back(s3, "big", size)


def test_a_body_of_the_spool_s_size_with_a_checksum_stays_within_the_bound(gateway):
    """Where the server and the checksum check each still hold a body in memory, the key keeps it too."""
    size = SPOOL_MEMORY
    s3 = client(gateway.url)
    with PeakGrowth(gateway.process.pid) as growth:
        answer = s3.put_object(
            Bucket=BUCKET, Key="spool-size", Body=DeterministicBody(size), ChecksumAlgorithm="CRC32"
        )
    assert growth.mib < RSS_BOUND_MIB, f"RSS grew {growth.mib:.1f} MiB for one {size // MIB} MiB PUT"
    assert answer["ETag"] == f'"{expected_digests(size)["md5"]}"'
    read_back(s3, "spool-size", size)


def test_copies_of_a_large_object_go_key_to_key(gateway):
    size = 1024 * MIB
    s3 = client(gateway.url)
    if "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="big"):
        s3.put_object(Bucket=BUCKET, Key="big", Body=DeterministicBody(size))
    md5 = expected_digests(size)["md5"]
    with PeakGrowth(gateway.process.pid) as growth:
        answer = s3.copy_object(Bucket=BUCKET, Key="big-copy", CopySource=f"{BUCKET}/big")
    assert growth.mib < RSS_BOUND_MIB, f"RSS grew {growth.mib:.1f} MiB for a copy of 1 GiB"
    assert answer["CopyObjectResult"]["ETag"] == f'"{md5}"'
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="ranged")["UploadId"]
    with PeakGrowth(gateway.process.pid) as growth:
        part = s3.upload_part_copy(
            Bucket=BUCKET, Key="ranged", UploadId=upload, PartNumber=1, CopySource=f"{BUCKET}/big",
            CopySourceRange=f"bytes=0-{64 * MIB - 1}",
        )
    assert growth.mib < RSS_BOUND_MIB, f"RSS grew {growth.mib:.1f} MiB for a 64 MiB UploadPartCopy"
    assert part["CopyPartResult"]["ETag"] == f'"{expected_digests(64 * MIB)["md5"]}"'
    s3.abort_multipart_upload(Bucket=BUCKET, Key="ranged", UploadId=upload)
    assert s3.head_object(Bucket=BUCKET, Key="big-copy")["ContentLength"] == size


def test_copies_asking_for_a_checksum_and_copies_in_place_answer_as_moto_does(gateway):
    """Moto reads the copy's own value again to compute a requested checksum; a copy in place reads its
    source and stores over it: both keep working with the key-to-key copy."""
    size = 3 * MIB
    s3 = client(gateway.url)
    s3.put_object(Bucket=BUCKET, Key="small-source", Body=DeterministicBody(size), Metadata={"a": "1"})
    md5 = expected_digests(size)["md5"]
    copied = s3.copy_object(
        Bucket=BUCKET, Key="small-copy", CopySource=f"{BUCKET}/small-source", ChecksumAlgorithm="SHA256"
    )["CopyObjectResult"]
    assert copied["ETag"] == f'"{md5}"'
    assert copied["ChecksumSHA256"]
    in_place = s3.copy_object(
        Bucket=BUCKET, Key="small-source", CopySource=f"{BUCKET}/small-source",
        Metadata={"a": "2"}, MetadataDirective="REPLACE",
    )["CopyObjectResult"]
    assert in_place["ETag"] == f'"{md5}"'
    assert s3.head_object(Bucket=BUCKET, Key="small-source")["Metadata"] == {"a": "2"}
    read_back(s3, "small-source", size)
    read_back(s3, "small-copy", size)


def test_a_512_mib_upload_part_stays_within_the_bound(gateway):
    size = 512 * MIB
    s3 = client(gateway.url)
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="parts")["UploadId"]
    with PeakGrowth(gateway.process.pid) as growth:
        answer = s3.upload_part(
            Bucket=BUCKET, Key="parts", UploadId=upload, PartNumber=1, Body=DeterministicBody(size),
            ChecksumAlgorithm="SHA256",
        )
    assert growth.mib < RSS_BOUND_MIB, f"RSS grew {growth.mib:.1f} MiB for one 512 MiB UploadPart"
    assert answer["ETag"] == f'"{expected_digests(size)["md5"]}"'
    parts = s3.list_parts(Bucket=BUCKET, Key="parts", UploadId=upload)["Parts"]
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in parts] == [(1, size, answer["ETag"])]
    s3.abort_multipart_upload(Bucket=BUCKET, Key="parts", UploadId=upload)


def test_a_large_presigned_put_stays_within_the_bound(gateway):
    size = 256 * MIB
    s3 = client(gateway.url)
    url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "presigned"})
    with PeakGrowth(gateway.process.pid) as growth:
        answer = requests.put(
            url, data=DeterministicBody(size), headers={"Content-Length": str(size)}, timeout=300
        )
    assert answer.status_code == 200, answer.text
    assert growth.mib < RSS_BOUND_MIB, f"RSS grew {growth.mib:.1f} MiB for one presigned PUT"
    assert answer.headers["ETag"] == f'"{expected_digests(size)["md5"]}"'
    read_back(s3, "presigned", size)


def test_a_large_aws_chunked_put_with_a_trailing_checksum_stays_within_the_bound(gateway):
    size = 256 * MIB
    s3 = client(gateway.url)
    with PeakGrowth(gateway.process.pid) as growth:
        answer = aws_chunked_put(gateway.url, BUCKET, "chunked", size)
    assert answer.status_code == 200, answer.text
    assert growth.mib < RSS_BOUND_MIB, f"RSS grew {growth.mib:.1f} MiB for one aws-chunked PUT"
    assert answer.headers["ETag"] == f'"{expected_digests(size)["md5"]}"'
    assert answer.headers["x-amz-checksum-crc32"]
    head = s3.head_object(Bucket=BUCKET, Key="chunked", ChecksumMode="ENABLED")
    assert head["ContentLength"] == size
    assert head.get("ContentEncoding") is None  # aws-chunked is the transfer's, not the object's
    assert head["ChecksumCRC32"] == answer.headers["x-amz-checksum-crc32"]
    read_back(s3, "chunked", size)


def test_a_wrong_checksum_or_md5_on_a_large_put_is_refused_and_stores_nothing(gateway):
    size = 16 * MIB
    s3 = client(gateway.url)
    for extra in ({"ChecksumSHA256": "A" * 43 + "="}, {"ContentMD5": "A" * 22 + "=="}):
        with pytest.raises(s3.exceptions.ClientError) as refused:
            s3.put_object(Bucket=BUCKET, Key="refused", Body=DeterministicBody(size), **extra)
        assert refused.value.response["Error"]["Code"] in ("BadDigest", "InvalidDigest")
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="refused")
