"""Listings, multipart, conditional writes, checksums and CORS preflights answer as S3 does (issue 19's table),
where Moto 5.2.5 answers 500 or accepts what S3 refuses."""

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
    send,
    signed_headers,
)
from tests.moto_gateway.helpers import aws_error


def signed(method: str, url: str, body: bytes = b"", headers: dict | None = None) -> requests.Response:
    return send(method, url, body, signed_headers(method, url, body, headers=headers))


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("max-keys=blah", "max-keys"),
        ("list-type=2&max-keys=-1", "max-keys"),
        ("versions&max-keys=1.5", "max-keys"),
        ("uploads&max-uploads=x", "max-uploads"),
        ("encoding-type=base64", "encoding-type"),
    ],
)
def test_invalid_listing_parameters_are_invalid_argument(gateway, query, name):  # noqa: F811
    """S3 API Reference, ListObjects / ListObjectsV2 / ListObjectVersions / ListMultipartUploads: max-keys and
    max-uploads are integers, EncodingType is `url`; "Error responses": InvalidArgument (400)."""
    new_bucket(owner(gateway), "lists")
    error = aws_error(signed("GET", f"{gateway.url}/lists?{query}"))
    assert (error["status"], error["Code"], error["ArgumentName"]) == (400, "InvalidArgument", name)


def test_list_parts_max_parts_must_be_an_integer(gateway):  # noqa: F811
    """S3 API Reference, ListParts: max-parts and part-number-marker are integers."""
    s3 = owner(gateway)
    new_bucket(s3, "parts")
    upload = s3.create_multipart_upload(Bucket="parts", Key="m")["UploadId"]
    error = aws_error(signed("GET", f"{gateway.url}/parts/m?uploadId={upload}&max-parts=lots"))
    assert (error["status"], error["Code"], error["ArgumentName"]) == (400, "InvalidArgument", "max-parts")
    assert "Parts" not in s3.list_parts(Bucket="parts", Key="m", UploadId=upload, MaxParts=5)


EMPTY_COMPLETE = b'<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></CompleteMultipartUpload>'


@pytest.mark.parametrize("body", [b"", EMPTY_COMPLETE])
def test_complete_without_parts_is_malformed_xml(gateway, body):  # noqa: F811
    """S3 API Reference, CompleteMultipartUpload: the body lists the parts; an upload completed with none
    is 400 MalformedXML (s3-tests test_multipart_upload_empty records AWS's answer)."""
    s3 = owner(gateway)
    new_bucket(s3, "multi")
    upload = s3.create_multipart_upload(Bucket="multi", Key="m")["UploadId"]
    error = aws_error(signed("POST", f"{gateway.url}/multi/m?uploadId={upload}", body))
    assert (error["status"], error["Code"]) == (400, "MalformedXML")


def test_complete_of_an_upload_that_never_existed_is_no_such_upload(gateway):  # noqa: F811
    """S3 API Reference, CompleteMultipartUpload, "Special errors": NoSuchUpload (404)."""
    new_bucket(owner(gateway), "multi")
    body = b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>"
    error = aws_error(signed("POST", f"{gateway.url}/multi/m?uploadId=never-created", body))
    assert (error["status"], error["Code"], error["UploadId"]) == (404, "NoSuchUpload", "never-created")


def test_a_repeated_complete_of_a_just_completed_upload_answers_200(gateway):  # noqa: F811
    """S3 API Reference, CompleteMultipartUpload
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html): a client retries a
    completion whose answer it lost; S3 answers the retry 200 with the same ETag, as bare Moto does (issue
    28's regression: the gateway answered NoSuchUpload). An upload that was aborted stays NoSuchUpload."""
    s3 = owner(gateway)
    new_bucket(s3, "again")
    upload, parts = upload_one_part(s3, "again", "m")
    done = {"Parts": parts}
    first = s3.complete_multipart_upload(Bucket="again", Key="m", UploadId=upload, MultipartUpload=done)
    second = s3.complete_multipart_upload(Bucket="again", Key="m", UploadId=upload, MultipartUpload=done)
    assert second["ETag"] == first["ETag"]
    assert s3.get_object(Bucket="again", Key="m")["Body"].read() == b"part"
    aborted, parts = upload_one_part(s3, "again", "gone")
    s3.abort_multipart_upload(Bucket="again", Key="gone", UploadId=aborted)
    with pytest.raises(ClientError) as refused:
        s3.complete_multipart_upload(
            Bucket="again", Key="gone", UploadId=aborted, MultipartUpload={"Parts": parts}
        )
    assert refused.value.response["Error"]["Code"] == "NoSuchUpload"


def upload_one_part(s3, bucket: str, key: str) -> tuple[str, list]:
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"part")["ETag"]
    return upload, [{"PartNumber": 1, "ETag": etag}]


def test_conditional_complete_multipart_upload(gateway):  # noqa: F811
    """S3 API Reference, CompleteMultipartUpload: If-None-Match `*` fails with 412 PreconditionFailed when
    the key exists; If-Match fails with 412 when the ETag differs, 404 NoSuchKey when the key is absent."""
    s3 = owner(gateway)
    new_bucket(s3, "cond")
    s3.put_bucket_versioning(Bucket="cond", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="cond", Key="taken", Body=b"first")
    upload, parts = upload_one_part(s3, "cond", "taken")
    with pytest.raises(ClientError) as refused:
        s3.complete_multipart_upload(
            Bucket="cond", Key="taken", UploadId=upload, MultipartUpload={"Parts": parts}, IfNoneMatch="*"
        )
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
    with pytest.raises(ClientError) as refused:
        s3.complete_multipart_upload(
            Bucket="cond", Key="taken", UploadId=upload, MultipartUpload={"Parts": parts}, IfMatch='"nope"'
        )
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
    etag = s3.head_object(Bucket="cond", Key="taken")["ETag"]
    s3.complete_multipart_upload(
        Bucket="cond", Key="taken", UploadId=upload, MultipartUpload={"Parts": parts}, IfMatch=etag
    )
    assert s3.get_object(Bucket="cond", Key="taken")["Body"].read() == b"part"
    fresh, parts = upload_one_part(s3, "cond", "fresh")
    s3.complete_multipart_upload(
        Bucket="cond", Key="fresh", UploadId=fresh, MultipartUpload={"Parts": parts}, IfNoneMatch="*"
    )


def test_put_if_none_match_on_an_existing_key_in_a_versioned_bucket(gateway):  # noqa: F811
    """S3 API Reference, PutObject (If-None-Match): 412 PreconditionFailed when the key exists."""
    s3 = owner(gateway)
    new_bucket(s3, "vers")
    s3.put_bucket_versioning(Bucket="vers", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="vers", Key="k", Body=b"1")
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket="vers", Key="k", Body=b"2", IfNoneMatch="*")
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize(
    ("header", "value", "algorithm"),
    [
        ("x-amz-checksum-sha256", b64(hashlib.sha256(b"other").digest()), "SHA256"),
        ("x-amz-checksum-sha1", b64(hashlib.sha1(b"other").digest()), "SHA1"),
        ("x-amz-checksum-crc32", b64(zlib.crc32(b"other").to_bytes(4, "big")), "CRC32"),
    ],
)
def test_wrong_checksum_is_bad_digest_and_nothing_is_stored(gateway, header, value, algorithm):  # noqa: F811
    """S3 User Guide, "Checking object integrity": a checksum that does not match the received data fails
    the request, 400 BadDigest ("The SHA256 you specified did not match the calculated checksum.")."""
    s3 = owner(gateway)
    new_bucket(s3, "sums")
    error = aws_error(signed("PUT", f"{gateway.url}/sums/k", b"data", {header: value}))
    assert (error["status"], error["Code"]) == (400, "BadDigest")
    assert algorithm in error["Message"]
    assert "Contents" not in s3.list_objects_v2(Bucket="sums")


def test_right_checksums_are_stored(gateway):  # noqa: F811
    s3 = owner(gateway)
    new_bucket(s3, "sums")
    for header, value in (
        ("x-amz-checksum-sha256", b64(hashlib.sha256(b"data").digest())),
        ("x-amz-checksum-crc32", b64(zlib.crc32(b"data").to_bytes(4, "big"))),
    ):  # one at a time: S3 refuses two checksum headers in one request (test_s3_checksums.py)
        assert signed("PUT", f"{gateway.url}/sums/k", b"data", {header: value}).status_code == 200
        assert s3.get_object(Bucket="sums", Key="k")["Body"].read() == b"data"
    error = aws_error(signed("PUT", f"{gateway.url}/sums/k", b"data", {"x-amz-checksum-sha256": "short"}))
    assert (error["status"], error["Code"]) == (400, "InvalidRequest")


def test_cors_preflight_follows_the_buckets_rules(gateway):  # noqa: F811
    """S3 User Guide, "How does Amazon S3 evaluate the CORS configuration on a bucket?": the first rule whose
    origin (one `*` wildcard allowed), method and requested headers all match answers; otherwise 403."""
    s3 = owner(gateway)
    new_bucket(s3, "cors")
    s3.put_bucket_cors(
        Bucket="cors",
        CORSConfiguration={"CORSRules": [
            {"AllowedMethods": ["GET"], "AllowedOrigins": ["http://*.example"], "AllowedHeaders": ["x-amz-*"]}
        ]},
    )

    def preflight(origin: str, method: str, headers: str = "") -> requests.Response:
        asked = {"Origin": origin, "Access-Control-Request-Method": method}
        if headers:
            asked["Access-Control-Request-Headers"] = headers
        return requests.options(f"{gateway.url}/cors/k", headers=asked, timeout=10)

    assert preflight("http://a.example", "GET").status_code == 200
    assert preflight("http://a.example", "GET", "x-amz-date").status_code == 200
    refused = preflight("http://a.example", "PUT")
    assert (refused.status_code, aws_error(refused)["Code"]) == (403, "AccessForbidden")
    assert preflight("http://other.test", "GET").status_code == 403
    assert preflight("http://a.example", "GET", "authorization").status_code == 403
    new_bucket(s3, "no-cors")  # without a configuration: refused (tests/moto_gateway/test_access_cors.py)
    refused = requests.options(
        f"{gateway.url}/no-cors/k",
        headers={"Origin": "http://x.test", "Access-Control-Request-Method": "PUT"},
        timeout=10,
    )
    assert (refused.status_code, aws_error(refused)["Code"]) == (403, "AccessForbidden")


@pytest.mark.parametrize("value", ["0-2", "bytes=0", "bytes=hello-world", "bytes=0-bar", "bytes=hello-",
                                   "bytes=0-2,3-5", "bytes=-5", "bytes=3-1"])
def test_an_improper_copy_source_range_is_invalid_argument(gateway, value):  # noqa: F811
    """UploadPartCopy (https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html),
    x-amz-copy-source-range: "must use the form bytes=first-last" (s3-tests test_multipart_copy_improper_range:
    400 InvalidArgument)."""
    s3 = owner(gateway)
    new_bucket(s3, "copyrange")
    s3.put_object(Bucket="copyrange", Key="src", Body=b"12345")
    upload = s3.create_multipart_upload(Bucket="copyrange", Key="dst")["UploadId"]
    with pytest.raises(ClientError) as refused:
        s3.upload_part_copy(Bucket="copyrange", Key="dst", UploadId=upload, PartNumber=1,
                            CopySource={"Bucket": "copyrange", "Key": "src"}, CopySourceRange=value)
    assert (refused.value.response["ResponseMetadata"]["HTTPStatusCode"],
            refused.value.response["Error"]["Code"]) == (400, "InvalidArgument")


def test_a_copy_source_range_past_the_source_is_invalid_range(gateway):  # noqa: F811
    """UploadPartCopy: a range beyond the source object's last byte is refused with InvalidRange (s3-tests
    test_multipart_copy_invalid_range); a range inside it is copied."""
    s3 = owner(gateway)
    new_bucket(s3, "copyrange")
    s3.put_object(Bucket="copyrange", Key="src", Body=b"12345")
    upload = s3.create_multipart_upload(Bucket="copyrange", Key="dst")["UploadId"]
    source = {"Bucket": "copyrange", "Key": "src"}
    with pytest.raises(ClientError) as refused:
        s3.upload_part_copy(Bucket="copyrange", Key="dst", UploadId=upload, PartNumber=1, CopySource=source,
                            CopySourceRange="bytes=0-21")
    assert refused.value.response["Error"]["Code"] == "InvalidRange"
    part = s3.upload_part_copy(Bucket="copyrange", Key="dst", UploadId=upload, PartNumber=1, CopySource=source,
                               CopySourceRange="bytes=1-3")
    s3.complete_multipart_upload(Bucket="copyrange", Key="dst", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]})
    assert s3.get_object(Bucket="copyrange", Key="dst")["Body"].read() == b"234"
