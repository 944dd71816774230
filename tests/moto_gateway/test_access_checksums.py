"""Additional checksums answer as S3 does: CRC32C and CRC64NVME verified like CRC32, SHA-1 and SHA-256 on
PutObject, UploadPart and POST; composite and full-object multipart checksums; HEAD / GET return them."""

from __future__ import annotations

import base64
import zlib

import anycrc
import pytest
import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from botocore.exceptions import ClientError

from testkit.clients import REGION

from tests.moto_gateway.access_support import (
    accounts_server,  # noqa: F401 (fixture)
    gateway,  # noqa: F401 (fixture)
    new_bucket,
    owner,
)

MIB = 1024 * 1024
# S3 User Guide, "Checking object integrity" names the algorithms; their check values (the CRC of the
# ASCII digits "123456789") are those of the CRC catalogue: CRC-32C 0xE3069283, CRC-64/NVME
# 0xAE8B14860A799888. The tests' own CRCs come from anycrc, held to those values first.
CRC32C = anycrc.Model("CRC32C")
CRC64NVME = anycrc.Model("CRC64-NVME")
assert CRC32C.calc(b"123456789") == 0xE3069283
assert CRC64NVME.calc(b"123456789") == 0xAE8B14860A799888


def b64(value: int, size: int) -> str:
    return base64.b64encode(value.to_bytes(size, "big")).decode()


def crc32c(data: bytes) -> str:
    return b64(CRC32C.calc(data) if data else 0, 4)


def crc64nvme(data: bytes) -> str:
    return b64(CRC64NVME.calc(data) if data else 0, 8)


ALGORITHMS = [("CRC32C", crc32c), ("CRC64NVME", crc64nvme)]


@pytest.mark.parametrize(("algorithm", "checksum"), ALGORITHMS)
def test_crc32c_and_crc64nvme_are_verified_stored_and_returned(gateway, algorithm, checksum):  # noqa: F811
    """S3 API Reference, PutObject (`x-amz-checksum-crc32c`, `x-amz-checksum-crc64nvme`): the checksum of the
    object; HeadObject / GetObject with `x-amz-checksum-mode: ENABLED` return it. A value that does not match
    the body is 400 BadDigest and nothing is stored (S3 User Guide, "Checking object integrity")."""
    s3 = owner(gateway)
    new_bucket(s3, "sums")
    member = f"Checksum{algorithm}"
    stored = s3.put_object(Bucket="sums", Key="k", Body=b"123456789", **{member: checksum(b"123456789")})
    assert stored[member] == checksum(b"123456789")
    assert s3.head_object(Bucket="sums", Key="k", ChecksumMode="ENABLED")[member] == checksum(b"123456789")
    assert s3.get_object(Bucket="sums", Key="k", ChecksumMode="ENABLED")[member] == checksum(b"123456789")
    empty = s3.put_object(Bucket="sums", Key="empty", Body=b"", **{member: checksum(b"")})
    assert empty[member] == checksum(b"")
    with pytest.raises(ClientError) as wrong:
        s3.put_object(Bucket="sums", Key="wrong", Body=b"123456789", **{member: checksum(b"12345678")})
    assert wrong.value.response["Error"]["Code"] == "BadDigest"
    assert algorithm in wrong.value.response["Error"]["Message"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="sums")["Contents"]] == ["empty", "k"]


@pytest.mark.parametrize("algorithm", ["CRC32", "SHA1", "SHA256"])
def test_checksums_boto3_computes_are_returned(gateway, algorithm):  # noqa: F811
    """S3 API Reference, PutObject `ChecksumAlgorithm` (the SDK computes the checksum and sends it);
    HeadObject with checksum mode returns the same value."""
    s3 = owner(gateway)
    new_bucket(s3, "sums")
    member = f"Checksum{algorithm}"
    sent = s3.put_object(Bucket="sums", Key="k", Body=b"data", ChecksumAlgorithm=algorithm)[member]
    assert s3.head_object(Bucket="sums", Key="k", ChecksumMode="ENABLED")[member] == sent


@pytest.mark.parametrize(("algorithm", "checksum"), ALGORITHMS)
def test_a_wrong_part_checksum_is_bad_digest(gateway, algorithm, checksum):  # noqa: F811
    """S3 API Reference, UploadPart (`x-amz-checksum-*`): a part whose checksum does not match is 400
    BadDigest and the upload has no such part."""
    s3 = owner(gateway)
    new_bucket(s3, "sums")
    upload = s3.create_multipart_upload(Bucket="sums", Key="m", ChecksumAlgorithm=algorithm)["UploadId"]
    with pytest.raises(ClientError) as wrong:
        s3.upload_part(
            Bucket="sums", Key="m", UploadId=upload, PartNumber=1, Body=b"part",
            **{f"Checksum{algorithm}": checksum(b"other")},
        )
    assert wrong.value.response["Error"]["Code"] == "BadDigest"
    assert "Parts" not in s3.list_parts(Bucket="sums", Key="m", UploadId=upload)


def upload_with(s3, key: str, algorithm: str, checksum_type: str, parts: list[bytes], checksum) -> dict:
    created = s3.create_multipart_upload(
        Bucket="sums", Key=key, ChecksumAlgorithm=algorithm, ChecksumType=checksum_type
    )
    assert (created["ChecksumAlgorithm"], created["ChecksumType"]) == (algorithm, checksum_type)
    member = f"Checksum{algorithm}"
    done = []
    for number, body in enumerate(parts, start=1):
        answer = s3.upload_part(
            Bucket="sums", Key=key, UploadId=created["UploadId"], PartNumber=number, Body=body,
            **{member: checksum(body)},
        )
        assert answer[member] == checksum(body)
        done.append({"PartNumber": number, "ETag": answer["ETag"], member: answer[member]})
    return s3.complete_multipart_upload(
        Bucket="sums", Key=key, UploadId=created["UploadId"], MultipartUpload={"Parts": done}
    )


def test_composite_and_full_object_multipart_checksums(gateway):  # noqa: F811
    """S3 User Guide, "Checking object integrity" (Using part-level checksums for multipart uploads): a
    COMPOSITE checksum is the checksum of the concatenated binary part checksums, written "<base64>-<parts>";
    a FULL_OBJECT checksum is the CRC of the whole object. CompleteMultipartUpload and HeadObject (checksum
    mode) return it with its x-amz-checksum-type."""
    s3 = owner(gateway)
    new_bucket(s3, "sums")
    parts = [b"a" * (5 * MIB), b"the rest"]
    raw = b"".join(base64.b64decode(crc32c(p)) for p in parts)
    composite = f"{crc32c(raw)}-2"
    done = upload_with(s3, "composite", "CRC32C", "COMPOSITE", parts, crc32c)
    assert (done["ChecksumCRC32C"], done["ChecksumType"]) == (composite, "COMPOSITE")
    head = s3.head_object(Bucket="sums", Key="composite", ChecksumMode="ENABLED")
    assert (head["ChecksumCRC32C"], head["ChecksumType"]) == (composite, "COMPOSITE")
    done = upload_with(s3, "full", "CRC64NVME", "FULL_OBJECT", parts, crc64nvme)
    assert (done["ChecksumCRC64NVME"], done["ChecksumType"]) == (crc64nvme(b"".join(parts)), "FULL_OBJECT")
    whole = b64(zlib.crc32(b"".join(parts)), 4)
    done = upload_with(s3, "crc32", "CRC32", "FULL_OBJECT", parts, lambda body: b64(zlib.crc32(body), 4))
    assert (done["ChecksumCRC32"], done["ChecksumType"]) == (whole, "FULL_OBJECT")
    got = s3.get_object(Bucket="sums", Key="crc32", ChecksumMode="ENABLED")
    assert (got["ChecksumCRC32"], got["ChecksumType"]) == (whole, "FULL_OBJECT")


@pytest.mark.parametrize(
    ("algorithm", "checksum_type"), [("CRC64NVME", "COMPOSITE"), ("SHA256", "FULL_OBJECT")]
)
def test_a_checksum_type_the_algorithm_lacks_is_refused(gateway, algorithm, checksum_type):  # noqa: F811
    """S3 User Guide, "Checking object integrity" (checksum types): full-object checksums are offered for the
    CRCs only, composite ones for CRC32, CRC32C, SHA-1 and SHA-256; CreateMultipartUpload asking for another
    combination is 400 InvalidRequest."""
    s3 = owner(gateway)
    new_bucket(s3, "sums")
    with pytest.raises(ClientError) as refused:
        s3.create_multipart_upload(
            Bucket="sums", Key="m", ChecksumAlgorithm=algorithm, ChecksumType=checksum_type
        )
    assert refused.value.response["Error"]["Code"] == "InvalidRequest"
    assert "Uploads" not in s3.list_multipart_uploads(Bucket="sums")


@pytest.mark.parametrize(("algorithm", "checksum"), ALGORITHMS)
def test_post_object_checksum_fields_are_verified(gateway, algorithm, checksum):  # noqa: F811
    """S3 API Reference, POST Object (form fields `x-amz-checksum-crc32c`, `x-amz-checksum-crc64nvme`, ...):
    the file must match; otherwise 400 BadDigest and nothing is stored."""
    s3 = owner(gateway)
    new_bucket(s3, "form")
    field = f"x-amz-checksum-{algorithm.lower()}"
    for body, expected in ((b"file", 204), (b"elif", 400)):
        form = s3.generate_presigned_post("form", f"k-{expected}", Fields={field: checksum(b"file")})
        answer = requests.post(form["url"], data=form["fields"], files={"file": ("f", body)}, timeout=30)
        assert answer.status_code == expected, answer.text
        if expected == 400:
            assert "<Code>BadDigest</Code>" in answer.text
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="form")["Contents"]] == ["k-204"]
    stored = s3.head_object(Bucket="form", Key="k-204", ChecksumMode="ENABLED")
    assert stored[f"Checksum{algorithm}"] == checksum(b"file")


def started_upload(s3, key: str, algorithm: str, checksum_type: str, parts: list[bytes], checksum):
    """An upload of `parts`, each sent with its checksum: (upload id, the parts as CompleteMultipartUpload
    lists them)."""
    upload = s3.create_multipart_upload(
        Bucket="sums", Key=key, ChecksumAlgorithm=algorithm, ChecksumType=checksum_type
    )["UploadId"]
    member = f"Checksum{algorithm}"
    done = []
    for number, body in enumerate(parts, start=1):
        answer = s3.upload_part(
            Bucket="sums", Key=key, UploadId=upload, PartNumber=number, Body=body, **{member: checksum(body)}
        )
        done.append({"PartNumber": number, "ETag": answer["ETag"], member: answer[member]})
    return upload, done


def upload_ids(s3) -> list[str]:
    return [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="sums").get("Uploads", [])]


@pytest.mark.parametrize(
    ("algorithm", "checksum_type", "checksum"),
    [("CRC32C", "COMPOSITE", crc32c), ("CRC64NVME", "FULL_OBJECT", crc64nvme)],
)
def test_complete_holds_part_checksums_to_the_uploaded_parts(  # noqa: F811
    gateway, algorithm, checksum_type, checksum  # noqa: F811
):
    """S3 API Reference, CompleteMultipartUpload (Request body, `Part` > `ChecksumCRC32C` /
    `ChecksumCRC64NVME`:
    "The Base64 encoded ... checksum of the part"; Errors: `InvalidPart`, "One or more of the specified
    parts could not be found ... or the specified entity tag might not have matched the part's entity tag"),
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html and API_CompletedPart:
    a part listed with another checksum than it was uploaded with is 400 InvalidPart, the upload stays and
    can still be completed with the right list (a part over 1 MiB takes the streamed path)."""
    s3 = owner(gateway)
    new_bucket(s3, "sums")
    parts = [b"p" * (5 * MIB), b"last part"]
    upload, done = started_upload(s3, "m", algorithm, checksum_type, parts, checksum)
    member = f"Checksum{algorithm}"
    for wrong_part in (0, 1):
        wrong = [dict(p) for p in done]
        wrong[wrong_part][member] = checksum(b"something else")
        with pytest.raises(ClientError) as refused:
            s3.complete_multipart_upload(
                Bucket="sums", Key="m", UploadId=upload, MultipartUpload={"Parts": wrong}
            )
        assert refused.value.response["Error"]["Code"] == "InvalidPart"
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert upload_ids(s3) == [upload]
        assert "Contents" not in s3.list_objects_v2(Bucket="sums")
    s3.complete_multipart_upload(Bucket="sums", Key="m", UploadId=upload, MultipartUpload={"Parts": done})
    assert s3.get_object(Bucket="sums", Key="m")["Body"].read() == b"".join(parts)
    assert upload_ids(s3) == []


def test_complete_holds_the_full_object_checksum_to_the_object(gateway):  # noqa: F811
    """S3 API Reference, CompleteMultipartUpload (`x-amz-checksum-crc64nvme`: "the Base64 encoded, 64-bit
    CRC64NVME checksum of the object"; Amazon S3 checks it against the object it assembles),
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html and S3 User Guide,
    "Checking object integrity" (full object checksums for multipart uploads): a full-object checksum that
    does not match is 400 BadDigest; nothing is stored and the upload stays; the right one completes it."""
    s3 = owner(gateway)
    new_bucket(s3, "sums")
    parts = [b"f" * (5 * MIB), b"tail"]
    upload, done = started_upload(s3, "full", "CRC64NVME", "FULL_OBJECT", parts, crc64nvme)
    with pytest.raises(ClientError) as refused:
        s3.complete_multipart_upload(
            Bucket="sums", Key="full", UploadId=upload, MultipartUpload={"Parts": done},
            ChecksumCRC64NVME=crc64nvme(b"not the object"), ChecksumType="FULL_OBJECT",
        )
    assert refused.value.response["Error"]["Code"] == "BadDigest"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert upload_ids(s3) == [upload]
    assert "Contents" not in s3.list_objects_v2(Bucket="sums")
    answer = s3.complete_multipart_upload(
        Bucket="sums", Key="full", UploadId=upload, MultipartUpload={"Parts": done},
        ChecksumCRC64NVME=crc64nvme(b"".join(parts)), ChecksumType="FULL_OBJECT",
    )
    assert answer["ChecksumCRC64NVME"] == crc64nvme(b"".join(parts))
    assert s3.get_object(Bucket="sums", Key="full")["Body"].read() == b"".join(parts)


def aws_chunked(data: bytes, trailer: str, chunk: int = 64 * 1024) -> bytes:
    """`data` framed as aws-chunked (unsigned chunks), then the trailer line and the final CRLF."""
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    pieces = [b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces]
    return b"".join(pieces) + b"0\r\n" + trailer.encode() + b"\r\n\r\n"


def trailer_put(server, bucket: str, key: str, data: bytes, crc32_value: str) -> requests.Response:
    """PutObject as boto3 sends it over HTTPS: `STREAMING-UNSIGNED-PAYLOAD-TRAILER`, a CRC32 trailer."""
    url = f"{server.url}/{bucket}/{key}"
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(len(data)),
        "x-amz-trailer": "x-amz-checksum-crc32",
        "x-amz-sdk-checksum-algorithm": "CRC32",
    }
    request = AWSRequest(method="PUT", url=url, headers=headers)
    request.headers["X-Amz-Content-SHA256"] = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    S3SigV4Auth(BotoCredentials("test", "test"), "s3", REGION).add_auth(request)
    signed = dict(request.headers)
    signed["X-Amz-Content-SHA256"] = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"  # botocore's signer replaces it
    body = aws_chunked(data, f"x-amz-checksum-crc32:{crc32_value}")
    return requests.put(url, data=body, headers=signed, timeout=60)


@pytest.mark.parametrize("size", [100, 3 * MIB], ids=["small", "streamed"])
def test_a_trailing_checksum_that_does_not_match_is_bad_digest(gateway, size):  # noqa: F811
    """S3 User Guide, "Checking object integrity" (Using trailing checksums: the SDK sends the checksum in
    the trailer of an aws-chunked body, `x-amz-trailer` names it) and S3 API Reference, "Authenticating
    requests: Using the Authorization header for chunked upload with trailing checksums"
    (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`),
    https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html:
    the trailer's checksum is checked against the decoded body like the header's (PutObject,
    `x-amz-checksum-crc32`): a mismatch is 400 BadDigest and nothing is stored; the right one stores it.
    Both Moto's path (a small body) and the streamed one (over 1 MiB)."""
    s3 = owner(gateway)
    new_bucket(s3, "trail")
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    wrong = trailer_put(gateway, "trail", "wrong", data, b64(zlib.crc32(data + b"!"), 4))
    assert wrong.status_code == 400, wrong.text
    assert "<Code>BadDigest</Code>" in wrong.text
    assert "Contents" not in s3.list_objects_v2(Bucket="trail")
    right = trailer_put(gateway, "trail", "right", data, b64(zlib.crc32(data), 4))
    assert right.status_code == 200, right.text
    assert s3.get_object(Bucket="trail", Key="right")["Body"].read() == data
    stored = s3.head_object(Bucket="trail", Key="right", ChecksumMode="ENABLED")
    assert stored["ChecksumCRC32"] == b64(zlib.crc32(data), 4)
