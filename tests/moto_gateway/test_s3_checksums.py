"""Checksum headers, part checksums and part reads as S3 answers them (checks/conformance/rules.py,
moto_patches/part_reads.py), against a real gateway with boto3. Page: S3 User Guide "Checking object
integrity" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html), and the
S3 API Reference pages each test names. What test_access_checksums.py covers (each algorithm verified,
stored and returned, composite and full-object values) is not repeated here."""

from __future__ import annotations

import base64
import hashlib
import zlib

import pytest
import requests
from botocore.exceptions import ClientError

from tests.moto_gateway.access_support import (
    accounts_server,  # noqa: F401 (fixture)
    gateway,  # noqa: F401 (fixture)
    new_bucket,
    owner,
    signed_headers,
)

MIB = 1024 * 1024


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def refused(call, **kwargs) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as error:
        call(**kwargs)
    answer = error.value.response
    return answer["ResponseMetadata"]["HTTPStatusCode"], answer["Error"]["Code"], answer["Error"]["Message"]


def test_one_checksum_header_and_the_checksum_the_sdk_header_names(gateway):  # noqa: F811
    """PutObject (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html): a request carries one
    x-amz-checksum-* header ("Multiple checksum Types are not allowed"); an x-amz-sdk-checksum-algorithm
    without the checksum it names, in a header or a trailer, is 400 InvalidRequest; nothing is stored."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "sums")
    url = f"{gateway.url}/{bucket}/k"
    for headers in (
        {"x-amz-checksum-crc32": crc32(b"hello"), "x-amz-checksum-sha256": sha256(b"hello")},
        {"x-amz-sdk-checksum-algorithm": "SHA256"},
    ):
        answer = requests.put(
            url, data=b"hello", headers=signed_headers("PUT", url, b"hello", headers=headers), timeout=10
        )
        assert answer.status_code == 400, answer.text
        assert "<Code>InvalidRequest</Code>" in answer.text
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_a_part_checksum_is_of_the_uploads_algorithm(gateway):  # noqa: F811
    """UploadPart (https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html): the part's checksum
    is of the algorithm CreateMultipartUpload named; another is 400 InvalidRequest ("Checksum Type
    mismatch")."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "sums")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m", ChecksumAlgorithm="CRC32")["UploadId"]
    status, code, message = refused(
        s3.upload_part, Bucket=bucket, Key="m", UploadId=upload, PartNumber=1, Body=b"part",
        ChecksumAlgorithm="SHA256",
    )
    assert (status, code) == (400, "InvalidRequest")
    assert "expected checksum Type: crc32, actual checksum Type: sha256" in message
    s3.upload_part(
        Bucket=bucket, Key="m", UploadId=upload, PartNumber=1, Body=b"part", ChecksumAlgorithm="CRC32"
    )


def two_sha256_parts(s3, bucket: str) -> tuple[str, list[dict]]:
    """An upload of key `m` with SHA-256 checksums and two parts (5 MiB and 1 byte): its id and parts."""
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m", ChecksumAlgorithm="SHA256")["UploadId"]
    parts = []
    for number, body in enumerate((b"a" * (5 * MIB), b"b"), start=1):
        answer = s3.upload_part(
            Bucket=bucket, Key="m", UploadId=upload, PartNumber=number, Body=body, ChecksumAlgorithm="SHA256"
        )
        parts.append(
            {"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": answer["ChecksumSHA256"]}
        )
    return upload, parts


def test_a_composite_completion_names_each_parts_checksum(gateway):  # noqa: F811
    """"Checking object integrity" (Using part-level checksums for multipart uploads) and
    CompleteMultipartUpload
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html): the composite
    checksum is made of the parts' checksums, so a completion of such an upload that leaves one out is 400
    InvalidRequest and the upload stays; naming them all completes it."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "sums")
    upload, parts = two_sha256_parts(s3, bucket)
    without = [parts[0], {"PartNumber": 2, "ETag": parts[1]["ETag"]}]
    status, code, message = refused(
        s3.complete_multipart_upload,
        Bucket=bucket, Key="m", UploadId=upload, MultipartUpload={"Parts": without},
    )
    assert (status, code) == (400, "InvalidRequest")
    assert "It was missing for part 2" in message
    assert s3.list_parts(Bucket=bucket, Key="m", UploadId=upload)["Parts"]
    s3.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=upload, MultipartUpload={"Parts": parts})


def test_a_part_read_with_checksum_mode_gives_the_parts_checksum(gateway):  # noqa: F811
    """GetObject / HeadObject with partNumber and `x-amz-checksum-mode: ENABLED`
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html; "Checking object integrity": the
    checksum of each part of a composite object can be read back by its part number): the part's own
    checksum, never the whole object's."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "sums")
    upload, parts = two_sha256_parts(s3, bucket)
    s3.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=upload, MultipartUpload={"Parts": parts})
    head = s3.head_object(Bucket=bucket, Key="m", PartNumber=2, ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == sha256(b"b")
    got = s3.get_object(Bucket=bucket, Key="m", PartNumber=1, ChecksumMode="ENABLED")
    assert got["Body"].read() == b"a" * (5 * MIB)
    assert got["ChecksumSHA256"] == sha256(b"a" * (5 * MIB))
