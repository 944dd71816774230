"""SSE-C as S3 enforces it (moto_gateway/s3_features/sse_c.py), against a real gateway with boto3. Page: S3 User
Guide, "Using server-side encryption with customer-provided keys (SSE-C)"
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerSideEncryptionCustomerKeys.html)."""

from __future__ import annotations

import base64
import hashlib
import pickle

import pytest
from botocore.exceptions import ClientError

from tests.moto_gateway.access_support import (
    accounts_server,  # noqa: F401 (fixture)
    gateway,  # noqa: F401 (fixture)
    new_bucket,
    owner,
)
from tests.moto_gateway.helpers import aws_error, signed_request

KEY_A = bytes(range(32))
KEY_B = bytes(range(1, 33))


def sse(key: bytes, prefix: str = "SSECustomer") -> dict:
    """boto3 computes the MD5 and base64-encodes the key itself."""
    return {f"{prefix}Algorithm": "AES256", f"{prefix}Key": key}


def raw_headers(key: bytes, md5_of: bytes | None = None) -> dict:
    return {
        "x-amz-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-server-side-encryption-customer-key": base64.b64encode(key).decode(),
        "x-amz-server-side-encryption-customer-key-md5": base64.b64encode(
            hashlib.md5(md5_of if md5_of is not None else key).digest()).decode(),
    }


def failure(call, **kwargs) -> tuple[int, str]:
    with pytest.raises(ClientError) as error:
        call(**kwargs)
    return error.value.response["ResponseMetadata"]["HTTPStatusCode"], error.value.response["Error"]["Code"]


def test_the_key_is_required_to_read_and_a_wrong_key_is_refused(gateway):  # noqa: F811
    """GetObject / HeadObject (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "SSE-C"):
    an object written with SSE-C is read only with its key: without it 400 InvalidRequest, with another
    403 AccessDenied; the answer echoes the algorithm and the key's MD5."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "ssec")
    written = s3.put_object(Bucket=bucket, Key="k", Body=b"secret", **sse(KEY_A))
    assert written["SSECustomerAlgorithm"] == "AES256"
    assert failure(s3.get_object, Bucket=bucket, Key="k") == (400, "InvalidRequest")
    assert failure(s3.head_object, Bucket=bucket, Key="k")[0] == 400
    assert failure(s3.get_object, Bucket=bucket, Key="k", **sse(KEY_B)) == (403, "AccessDenied")
    assert failure(s3.head_object, Bucket=bucket, Key="k", **sse(KEY_B))[0] == 403
    read = s3.get_object(Bucket=bucket, Key="k", **sse(KEY_A))
    assert read["Body"].read() == b"secret"
    assert read["SSECustomerKeyMD5"] == base64.b64encode(hashlib.md5(KEY_A).digest()).decode()
    assert s3.head_object(Bucket=bucket, Key="k", **sse(KEY_A))["SSECustomerAlgorithm"] == "AES256"
    s3.put_object(Bucket=bucket, Key="plain", Body=b"x")
    assert failure(s3.get_object, Bucket=bucket, Key="plain", **sse(KEY_A)) == (400, "InvalidRequest")


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        (raw_headers(KEY_A, md5_of=KEY_B), "InvalidArgument"),
        (raw_headers(b"short"), "InvalidArgument"),
        ({**raw_headers(KEY_A), "x-amz-server-side-encryption-customer-algorithm": "AES128"},
         "InvalidEncryptionAlgorithmError"),
        ({k: v for k, v in raw_headers(KEY_A).items() if not k.endswith("md5")}, "InvalidArgument"),
        ({**raw_headers(KEY_A), "x-amz-server-side-encryption": "AES256"}, "InvalidArgument"),
    ],
)
def test_a_wrong_md5_algorithm_or_key_size_is_refused(gateway, headers, code):  # noqa: F811
    """PutObject, SSECustomerKeyMD5 / SSECustomerAlgorithm: "Amazon S3 uses this header for a message integrity
    check to ensure that the encryption key was transmitted without error"; AES256 only; a 256-bit key;
    SSE-C does not combine with x-amz-server-side-encryption. Nothing is stored."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "ssecbad")
    answer = signed_request(gateway.url, "PUT", f"/{bucket}/k", b"body", headers)
    assert (answer.status_code, aws_error(answer)["Code"]) == (400, code)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_copy_needs_the_source_key_and_multipart_parts_need_the_upload_key(gateway):  # noqa: F811
    """CopyObject (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html): an SSE-C source is
    copied only with x-amz-copy-source-server-side-encryption-customer-*; the copy is encrypted with the
    destination key it names, or not at all. UploadPart of an SSE-C upload needs the upload's key."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "sseccopy")
    s3.put_object(Bucket=bucket, Key="src", Body=b"secret", **sse(KEY_A))
    source = {"Bucket": bucket, "Key": "src"}
    assert failure(s3.copy_object, Bucket=bucket, Key="dst", CopySource=source) == (400, "InvalidRequest")
    assert failure(s3.copy_object, Bucket=bucket, Key="dst", CopySource=source,
                   **sse(KEY_B, "CopySourceSSECustomer")) == (403, "AccessDenied")
    s3.copy_object(Bucket=bucket, Key="dst", CopySource=source, **sse(KEY_A, "CopySourceSSECustomer"),
                   **sse(KEY_B))
    assert s3.get_object(Bucket=bucket, Key="dst", **sse(KEY_B))["Body"].read() == b"secret"
    s3.copy_object(Bucket=bucket, Key="clear", CopySource=source, **sse(KEY_A, "CopySourceSSECustomer"))
    assert s3.get_object(Bucket=bucket, Key="clear")["Body"].read() == b"secret"
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m", **sse(KEY_A))["UploadId"]
    assert failure(s3.upload_part, Bucket=bucket, Key="m", UploadId=upload, PartNumber=1, Body=b"p") == (
        400, "InvalidRequest")
    part = s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=1, Body=b"p", **sse(KEY_A))
    s3.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert failure(s3.get_object, Bucket=bucket, Key="m") == (400, "InvalidRequest")
    assert s3.get_object(Bucket=bucket, Key="m", **sse(KEY_A))["Body"].read() == b"p"


def test_only_a_salted_hmac_of_the_key_is_kept():
    """"Amazon S3 does not store the encryption key you provide. Instead, it stores a randomly salted HMAC
    value of the encryption key": what the layer keeps on Moto's FakeKey names neither the key nor its MD5,
    and two objects with one key keep different values."""
    from moto.s3.models import FakeKey

    from moto_gateway.s3_features.sse_c import CustomerKey, check_key, seal

    given = CustomerKey(KEY_A, base64.b64encode(hashlib.md5(KEY_A).digest()).decode())
    first, second = FakeKey("a", b"x", "123456789012", "us-east-1"), FakeKey("b", b"x", "123456789012", "us-east-1")
    seal(first, given)
    seal(second, given)
    assert first.sse_c_hmac != second.sse_c_hmac
    kept = pickle.dumps({name: getattr(first, name) for name in ("sse_c_salt", "sse_c_hmac")})
    for secret in (KEY_A, base64.b64encode(KEY_A), hashlib.md5(KEY_A).digest(), given.md5.encode(),
                   KEY_A.hex().encode()):
        assert secret not in kept
    check_key(first, given)


def test_sse_kms_names_its_key_and_bucket_default_encryption_applies(gateway):  # noqa: F811
    """S3 User Guide, "Using server-side encryption with AWS KMS keys (SSE-KMS)"
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html): an object written with
    aws:kms and no key id is encrypted with the account's AWS managed key, whose ARN every answer names;
    a named key id and the bucket key setting come back as given; a bucket's default encryption applies to
    objects written without encryption headers, copies and multipart uploads included
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-encryption.html). A read that names an
    encryption is refused (GetObject: "you'll get an HTTP 400 Bad Request error")."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "ssekms")
    s3.put_object(Bucket=bucket, Key="managed", Body=b"x", ServerSideEncryption="aws:kms")
    managed = s3.head_object(Bucket=bucket, Key="managed")["SSEKMSKeyId"]
    assert managed.startswith("arn:aws:kms:") and ":123456789012:key/" in managed
    named = s3.put_object(Bucket=bucket, Key="named", Body=b"x", ServerSideEncryption="aws:kms",
                          SSEKMSKeyId="my-key", BucketKeyEnabled=True)
    assert (named["SSEKMSKeyId"], named["BucketKeyEnabled"]) == ("my-key", True)
    arn = "arn:aws:kms:ap-northeast-1:123456789012:key/abc"
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": arn}}]})
    s3.put_object(Bucket=bucket, Key="plain", Body=b"x")
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "plain"})
    upload = s3.create_multipart_upload(Bucket=bucket, Key="multi")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="multi", UploadId=upload, PartNumber=1, Body=b"p")
    s3.complete_multipart_upload(Bucket=bucket, Key="multi", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    for key in ("plain", "copy", "multi"):
        head = s3.head_object(Bucket=bucket, Key=key)
        assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", arn), key
    answer = signed_request(gateway.url, "GET", f"/{bucket}/plain", headers={"x-amz-server-side-encryption": "aws:kms"})
    assert (answer.status_code, aws_error(answer)["Code"]) == (400, "InvalidArgument")
