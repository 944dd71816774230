"""Multipart objects read part by part (`partNumber`) and described by GetObjectAttributes as S3 does,
against a real gateway with real boto3."""

from __future__ import annotations

import base64
import hashlib

import pytest
from botocore.exceptions import ClientError

from tests.moto_gateway.access_support import (
    accounts_server,  # noqa: F401 (fixture)
    gateway,  # noqa: F401 (fixture)
    new_bucket,
    owner,
    send,
    signed_headers,
)
from tests.moto_gateway.helpers import aws_error

MIB = 1024 * 1024
PARTS = [b"a" * (5 * MIB), b"b" * (5 * MIB), b"tail of the object"]


def upload(s3, bucket: str, key: str, parts: list[bytes], keep: list[int] | None = None, **create) -> dict:
    """Uploads `parts` as parts 1..N and completes the upload with those numbered in `keep` (default all)."""
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, **create)["UploadId"]
    extra = {"ChecksumAlgorithm": create["ChecksumAlgorithm"]} if "ChecksumAlgorithm" in create else {}
    done = []
    for number, body in enumerate(parts, start=1):
        answer = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body, **extra
        )
        entry = {"PartNumber": number, "ETag": answer["ETag"]}
        entry.update({name: value for name, value in answer.items() if name.startswith("Checksum")})
        entry.pop("ChecksumType", None)
        done.append(entry)
    chosen = [entry for entry in done if keep is None or entry["PartNumber"] in keep]
    return s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": chosen}
    )


def multipart_etag(parts: list[bytes]) -> str:
    """S3's ETag of a multipart object: MD5 of the parts' binary MD5s, then "-" and the part count."""
    return '"%s-%d"' % (hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest(), len(parts))


def test_get_and_head_part_of_a_multipart_object(gateway):  # noqa: F811
    """S3 API Reference, GetObject / HeadObject, `partNumber`: "Effectively performs a 'ranged' GET request
    for the part specified"; `x-amz-mp-parts-count`: "The count of parts this object has", returned "if you
    specify partNumber in your request and the object was uploaded as a multipart upload". 206 with the
    part's Content-Range, and its ETag is the object's ("md5-of-md5s-N"), as on S3 (ceph s3-tests
    test_multipart_get_part and the SDKs' multipart downloaders, which compare it across parts)."""
    s3 = owner(gateway)
    new_bucket(s3, "parts")
    done = upload(s3, "parts", "big", PARTS)
    assert done["ETag"] == multipart_etag(PARTS)
    total = sum(map(len, PARTS))
    first = 0
    for number, body in enumerate(PARTS, start=1):
        last = first + len(body) - 1
        got = s3.get_object(Bucket="parts", Key="big", PartNumber=number)
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert got["Body"].read() == body
        assert (got["ContentLength"], got["ContentRange"]) == (len(body), f"bytes {first}-{last}/{total}")
        assert (got["PartsCount"], got["ETag"]) == (3, done["ETag"])
        head = s3.head_object(Bucket="parts", Key="big", PartNumber=number)
        assert head["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert (head["ContentLength"], head["ContentRange"]) == (len(body), f"bytes {first}-{last}/{total}")
        assert (head["PartsCount"], head["ETag"]) == (3, done["ETag"])
        first = last + 1
    whole = s3.get_object(Bucket="parts", Key="big")
    assert whole["ResponseMetadata"]["HTTPStatusCode"] == 200 and "PartsCount" not in whole
    assert whole["ContentLength"] == total


def test_part_numbers_count_the_parts_the_completion_named(gateway):  # noqa: F811
    """S3 User Guide, "Uploading and copying objects using multipart upload": the object is assembled from
    the parts CompleteMultipartUpload lists; a part uploaded but not listed is not in it (x-amz-mp-parts-count
    counts the listed ones)."""
    s3 = owner(gateway)
    new_bucket(s3, "parts")
    upload(s3, "parts", "some", PARTS, keep=[1, 3])
    second = s3.get_object(Bucket="parts", Key="some", PartNumber=2)
    assert second["Body"].read() == PARTS[2]
    assert second["PartsCount"] == 2
    assert second["ETag"] == multipart_etag([PARTS[0], PARTS[2]])


def test_part_number_beyond_the_object_is_invalid_part_number(gateway):  # noqa: F811
    """S3 API Reference, GetObject, "Error responses" / HeadObject: a part the object does not have is
    416 InvalidPartNumber ("The requested partnumber is not satisfiable"); HEAD has no body, only the
    status. A part read of a key that is not there (yet) is 404 NoSuchKey."""
    s3 = owner(gateway)
    new_bucket(s3, "parts")
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket="parts", Key="big", PartNumber=1)
    assert missing.value.response["Error"]["Code"] == "NoSuchKey"
    upload(s3, "parts", "big", PARTS)
    with pytest.raises(ClientError) as beyond:
        s3.get_object(Bucket="parts", Key="big", PartNumber=4)
    assert beyond.value.response["Error"]["Code"] == "InvalidPartNumber"
    assert beyond.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416
    with pytest.raises(ClientError) as beyond_head:
        s3.head_object(Bucket="parts", Key="big", PartNumber=4)
    assert beyond_head.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416


def test_part_number_with_a_range_is_invalid_request(gateway):  # noqa: F811
    """S3 API Reference, GetObject: `partNumber` "Effectively performs a 'ranged' GET request", so a Range
    header beside it is refused: 400 InvalidRequest."""
    s3 = owner(gateway)
    new_bucket(s3, "parts")
    s3.put_object(Bucket="parts", Key="small", Body=b"0123456789")
    url = f"{gateway.url}/parts/small?partNumber=1"
    error = aws_error(send("GET", url, headers=signed_headers("GET", url, headers={"Range": "bytes=0-1"})))
    assert (error["status"], error["Code"]) == (400, "InvalidRequest")


def test_part_reads_of_an_object_uploaded_in_one_piece(gateway):  # noqa: F811
    """S3 API Reference, GetObject `partNumber`: an object uploaded in one piece has one part; part 1 is the
    whole object (its own ETag, no x-amz-mp-parts-count), part 2 is 416 InvalidPartNumber (ceph s3-tests
    test_non_multipart_get_part)."""
    s3 = owner(gateway)
    new_bucket(s3, "parts")
    etag = s3.put_object(Bucket="parts", Key="single", Body=b"body")["ETag"]
    first = s3.get_object(Bucket="parts", Key="single", PartNumber=1)
    assert (first["Body"].read(), first["ETag"]) == (b"body", etag)
    assert "PartsCount" not in first
    with pytest.raises(ClientError) as second:
        s3.get_object(Bucket="parts", Key="single", PartNumber=2)
    assert second.value.response["Error"]["Code"] == "InvalidPartNumber"


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_get_object_attributes_lists_the_parts_of_an_upload_with_checksums(gateway):  # noqa: F811
    """S3 API Reference, GetObjectAttributes: ObjectParts has TotalPartsCount and, for an upload made with a
    checksum algorithm, its Parts (PartNumber, Size, the part's checksum), paged by MaxParts and
    PartNumberMarker; ETag (without quotes), Checksum (a composite SHA-256 here), ObjectSize, StorageClass."""
    s3 = owner(gateway)
    new_bucket(s3, "attrs")
    done = upload(s3, "attrs", "summed", PARTS, ChecksumAlgorithm="SHA256")
    everything = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]
    attributes = s3.get_object_attributes(Bucket="attrs", Key="summed", ObjectAttributes=everything)
    assert attributes["ETag"] == done["ETag"].strip('"')
    assert attributes["ObjectSize"] == sum(map(len, PARTS))
    assert attributes["StorageClass"] == "STANDARD"
    composite = base64.b64encode(hashlib.sha256(b"".join(hashlib.sha256(p).digest() for p in PARTS)).digest())
    assert attributes["Checksum"]["ChecksumSHA256"] == composite.decode()
    assert attributes["Checksum"]["ChecksumType"] == "COMPOSITE"
    assert done["ChecksumSHA256"] == f"{composite.decode()}-3"
    parts = attributes["ObjectParts"]
    assert parts["TotalPartsCount"] == 3 and parts["IsTruncated"] is False
    assert [(p["PartNumber"], p["Size"], p["ChecksumSHA256"]) for p in parts["Parts"]] == [
        (n, len(body), sha256_b64(body)) for n, body in enumerate(PARTS, start=1)
    ]
    page = s3.get_object_attributes(
        Bucket="attrs", Key="summed", ObjectAttributes=["ObjectParts"], MaxParts=1, PartNumberMarker=1
    )["ObjectParts"]
    assert [p["PartNumber"] for p in page["Parts"]] == [2]
    assert (page["IsTruncated"], page["NextPartNumberMarker"], page["MaxParts"]) == (True, 2, 1)


def test_get_object_attributes_counts_parts_when_no_checksum_was_used(gateway):  # noqa: F811
    """S3 API Reference, GetObjectAttributes (ObjectParts): an upload without a checksum algorithm gives the
    parts count only; an object uploaded in one piece has no ObjectParts."""
    s3 = owner(gateway)
    new_bucket(s3, "attrs")
    upload(s3, "attrs", "plain", PARTS[1:])
    parts = s3.get_object_attributes(Bucket="attrs", Key="plain", ObjectAttributes=["ObjectParts"])
    parts = parts["ObjectParts"]
    assert parts["TotalPartsCount"] == 2 and "Parts" not in parts
    s3.put_object(Bucket="attrs", Key="single", Body=b"one piece")
    single = s3.get_object_attributes(
        Bucket="attrs", Key="single", ObjectAttributes=["ObjectParts", "ObjectSize"]
    )
    assert "ObjectParts" not in single and single["ObjectSize"] == 9
