"""Presigned POST through the running gateway: boto3's own forms, sent as browsers send them."""

from __future__ import annotations

import base64
import hashlib
import json
import os

import pytest
import requests

from tests.moto_gateway.helpers import aws_error, client

BUCKET = "uploads"


@pytest.fixture
def bucket(s3):
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    return BUCKET


def keys(s3) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def post(
    presigned: dict, content: bytes, filename: str = "photo.jpg", **extra_fields: str
) -> requests.Response:
    fields = {**presigned["fields"], **extra_fields}
    return requests.post(presigned["url"], data=fields, files={"file": (filename, content)}, timeout=30)


def test_valid_post_with_fields_and_conditions_is_stored(s3, bucket):
    presigned = s3.generate_presigned_post(
        bucket,
        "docs/report.txt",
        Fields={"Content-Type": "text/plain", "success_action_status": "201", "x-amz-meta-owner": "ana"},
        Conditions=[
            {"Content-Type": "text/plain"},
            {"success_action_status": "201"},
            ["starts-with", "$x-amz-meta-owner", ""],
            ["content-length-range", 1, 1024],
        ],
        ExpiresIn=600,
    )
    response = post(presigned, b"quarterly numbers")
    assert response.status_code == 201, response.text
    head = s3.head_object(Bucket=bucket, Key="docs/report.txt")
    assert head["ContentType"] == "text/plain"
    assert head["Metadata"] == {"owner": "ana"}
    assert s3.get_object(Bucket=bucket, Key="docs/report.txt")["Body"].read() == b"quarterly numbers"


def test_filename_placeholder_names_the_object(s3, bucket):
    presigned = s3.generate_presigned_post(bucket, "user/7/${filename}")
    assert post(presigned, b"x", filename="holiday photo ü.jpg").status_code == 204
    assert keys(s3) == ["user/7/holiday photo ü.jpg"]


@pytest.mark.parametrize(
    ("size", "code", "limit_element", "limit"),
    [(11, "EntityTooLarge", "MaxSizeAllowed", "10"), (4, "EntityTooSmall", "MinSizeAllowed", "5")],
)
def test_content_length_range_is_enforced(s3, bucket, size, code, limit_element, limit):
    presigned = s3.generate_presigned_post(bucket, "k", Conditions=[["content-length-range", 5, 10]])
    error = aws_error(post(presigned, b"x" * size))
    assert (error["status"], error["Code"], error["ProposedSize"], error[limit_element]) == (
        400,
        code,
        str(size),
        limit,
    )
    assert keys(s3) == []


def test_forbidden_content_type_is_refused(s3, bucket):
    presigned = s3.generate_presigned_post(
        bucket,
        "k",
        Fields={"Content-Type": "image/png"},
        Conditions=[["starts-with", "$Content-Type", "image/"]],
    )
    error = aws_error(post(presigned, b"<html>", **{"Content-Type": "text/html"}))
    assert (error["status"], error["Code"]) == (403, "AccessDenied")
    assert (
        error["Message"]
        == 'Invalid according to Policy: Policy Condition failed: ["starts-with", "$Content-Type", "image/"]'
    )
    assert keys(s3) == []


def test_expired_policy_is_refused(s3, bucket):
    presigned = s3.generate_presigned_post(bucket, "k", ExpiresIn=-5)
    error = aws_error(post(presigned, b"late"))
    assert (error["status"], error["Code"], error["Message"]) == (
        403,
        "AccessDenied",
        "Invalid according to Policy: Policy expired.",
    )
    assert keys(s3) == []


def test_all_zero_signature_is_refused(s3, bucket):
    presigned = s3.generate_presigned_post(bucket, "k")
    error = aws_error(post(presigned, b"x", **{"x-amz-signature": "0" * 64}))
    assert (error["status"], error["Code"]) == (403, "SignatureDoesNotMatch")
    assert error["SignatureProvided"] == "0" * 64
    assert error["StringToSign"] == presigned["fields"]["policy"]
    assert keys(s3) == []


def test_tampered_policy_is_refused(s3, bucket):
    presigned = s3.generate_presigned_post(bucket, "k", Conditions=[["content-length-range", 0, 10]])
    document = json.loads(base64.b64decode(presigned["fields"]["policy"]))
    document["conditions"] = [c for c in document["conditions"] if not isinstance(c, list)]
    tampered = base64.b64encode(json.dumps(document).encode()).decode()
    error = aws_error(post(presigned, b"x" * 100, policy=tampered))
    assert (error["status"], error["Code"]) == (403, "SignatureDoesNotMatch")
    assert keys(s3) == []


def test_key_the_policy_does_not_name_is_refused(s3, bucket):
    presigned = s3.generate_presigned_post(bucket, "allowed.txt")
    error = aws_error(post(presigned, b"x", key="elsewhere.txt"))
    assert (error["status"], error["Code"], error["Message"]) == (
        403,
        "AccessDenied",
        'Invalid according to Policy: Policy Condition failed: ["eq", "$key", "allowed.txt"]',
    )
    assert keys(s3) == []


def test_field_no_condition_covers_is_refused(s3, bucket):
    presigned = s3.generate_presigned_post(bucket, "k")
    error = aws_error(post(presigned, b"x", **{"x-amz-meta-note": "hi", "x-ignore-ui": "fine"}))
    assert (error["status"], error["Code"], error["Message"]) == (
        403,
        "AccessDenied",
        "Invalid according to Policy: Extra input fields: x-amz-meta-note",
    )


def test_missing_signature_field_is_named(s3, bucket):
    presigned = s3.generate_presigned_post(bucket, "k")
    del presigned["fields"]["x-amz-signature"]
    error = aws_error(post(presigned, b"x"))
    assert (error["status"], error["Code"], error["ArgumentName"]) == (
        400,
        "InvalidArgument",
        "X-Amz-Signature",
    )


def test_post_to_another_bucket_is_refused(s3, bucket):
    s3.create_bucket(
        Bucket="other-bucket", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
    )
    presigned = s3.generate_presigned_post(bucket, "k")
    presigned["url"] = presigned["url"].replace(f"/{bucket}", "/other-bucket")
    error = aws_error(post(presigned, b"x"))
    assert (
        error["Message"]
        == f'Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "{bucket}"]'
    )


def test_form_without_policy_is_anonymous_and_denied(moto, bucket):
    response = requests.post(
        f"{moto.url}/{bucket}", data={"key": "k"}, files={"file": ("f", b"x")}, timeout=10
    )
    assert aws_error(response)["Code"] == "AccessDenied"


def test_key_after_the_file_is_ignored_like_s3(s3, bucket):
    presigned = s3.generate_presigned_post(bucket, "k")
    fields = {name: value for name, value in presigned["fields"].items() if name != "key"}
    parts = [(name, (None, value)) for name, value in fields.items()]
    parts += [("file", ("f.txt", b"x")), ("key", (None, "k"))]
    error = aws_error(requests.post(presigned["url"], files=parts, timeout=10))
    assert (error["status"], error["Code"], error["ArgumentName"]) == (400, "InvalidArgument", "key")


def test_non_multipart_post_to_a_bucket_is_a_failed_precondition(moto, bucket):
    error = aws_error(requests.post(f"{moto.url}/{bucket}", data={"key": "k"}, timeout=10))
    assert (error["status"], error["Code"], error["Condition"]) == (
        412,
        "PreconditionFailed",
        "Bucket POST must be of the enclosure-type multipart/form-data",
    )


def test_sigv2_policy_is_verified(moto, s3, bucket):
    v2 = client(moto.url, signature_version="s3")
    presigned = v2.generate_presigned_post(bucket, "v2.txt", Conditions=[["content-length-range", 0, 100]])
    assert "signature" in presigned["fields"] and "x-amz-signature" not in presigned["fields"]
    assert post(presigned, b"old style").status_code == 204
    error = aws_error(post(presigned, b"x", signature="AAAA" + presigned["fields"]["signature"][4:]))
    assert error["Code"] == "SignatureDoesNotMatch"
    assert keys(s3) == ["v2.txt"]


def test_wrong_secret_is_a_signature_mismatch_and_unknown_key_is_refused(moto, bucket):
    wrong_secret = client(moto.url, secret="not-the-secret").generate_presigned_post(bucket, "k")
    assert aws_error(post(wrong_secret, b"x"))["Code"] == "SignatureDoesNotMatch"
    wrong_key = client(moto.url, key="AKIAOTHER").generate_presigned_post(bucket, "k")
    error = aws_error(post(wrong_key, b"x"))
    assert (error["status"], error["Code"], error["AWSAccessKeyId"]) == (
        403,
        "InvalidAccessKeyId",
        "AKIAOTHER",
    )


def test_large_upload_is_spooled_and_stored_intact(s3, bucket):
    content = os.urandom(3 * 1024 * 1024) * 4  # 12 MiB: past the 8 MiB in-memory spool
    presigned = s3.generate_presigned_post(
        bucket, "big.bin", Conditions=[["content-length-range", 1, 64 * 1024 * 1024]]
    )
    assert post(presigned, content, filename="big.bin").status_code == 204
    stored = s3.get_object(Bucket=bucket, Key="big.bin")["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(content).hexdigest()


def test_virtual_hosted_post(moto, s3, bucket):
    presigned = s3.generate_presigned_post(bucket, "vhost.txt")
    host = f"{bucket}.localhost.test:{moto.port}"
    response = requests.post(
        f"{moto.url}/",
        data=presigned["fields"],
        files={"file": ("f", b"v")},
        headers={"Host": host},
        timeout=10,
    )
    assert response.status_code == 204, response.text
    assert keys(s3) == ["vhost.txt"]
    other = s3.generate_presigned_post("another-bucket", "vhost.txt")
    response = requests.post(
        f"{moto.url}/", data=other["fields"], files={"file": ("f", b"v")}, headers={"Host": host}, timeout=10
    )
    assert aws_error(response)["Message"].endswith('["eq", "$bucket", "another-bucket"]')
