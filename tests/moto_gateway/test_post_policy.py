"""POST policy checking as pure functions: AWS's signed example, each condition kind, each refusal."""

from __future__ import annotations

import base64
import json
from calendar import timegm

import pytest

from moto_gateway.signing import sigv2, sigv4
from moto_gateway.signing.post_form import FormScanner
from moto_gateway.signing.post_policy import PostForm, check_post_form, expand_filename, parse_policy
from moto_gateway.wsgi.errors import S3Error

NOW = float(timegm((2026, 1, 1, 0, 0, 0)))
DATE = "20260101T000000Z"
CREDENTIAL = "test/20260101/ap-northeast-1/s3/aws4_request"

# AWS's "Example: Browser-Based Upload using HTTP POST (Using AWS Signature Version 4)", byte for byte.
AWS_POLICY = (
    "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2"
    "NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMt"
    "cmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29t"
    "L3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4"
    "LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0s"
    "DQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZP"
    "RE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1B"
    "Qy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9"
)


def aws_example_form(**changes: str) -> PostForm:
    fields = {
        "key": "user/user1/${filename}",
        "acl": "public-read",
        "success_action_redirect": "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html",
        "Content-Type": "image/jpeg",
        "x-amz-meta-uuid": "14365123651274",
        "x-amz-server-side-encryption": "AES256",
        "X-Amz-Credential": "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request",
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Date": "20151229T000000Z",
        "x-amz-meta-tag": "",
        "Policy": AWS_POLICY,
        "X-Amz-Signature": "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e",
    }
    fields.update(changes)
    return PostForm(fields=list(fields.items()), has_file=True, filename="MyPicture.jpg", file_size=10)


def check_aws_example(form: PostForm, bucket: str = "sigv4examplebucket") -> None:
    check_post_form(
        form,
        bucket,
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        float(timegm((2015, 12, 30, 11, 0, 0))),
    )


def refusal(form: PostForm, bucket: str = "sigv4examplebucket", check=check_aws_example) -> S3Error:
    with pytest.raises(S3Error) as caught:
        check(form, bucket)
    return caught.value


def test_aws_signed_example_is_accepted():
    check_aws_example(aws_example_form())


def test_aws_example_with_a_tampered_field_fails_its_condition():
    error = refusal(aws_example_form(**{"Content-Type": "text/html"}))
    assert (error.status, error.code) == (403, "AccessDenied")
    assert (
        error.message
        == 'Invalid according to Policy: Policy Condition failed: ["starts-with", "$Content-Type", "image/"]'
    )


def test_aws_example_on_another_bucket_fails_the_bucket_condition():
    error = refusal(aws_example_form(), bucket="otherbucket")
    assert (
        error.message
        == 'Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "sigv4examplebucket"]'
    )


def test_aws_example_with_a_truncated_policy_is_a_signature_mismatch():
    error = refusal(aws_example_form(Policy=AWS_POLICY[:-2]))
    assert (error.status, error.code) == (403, "SignatureDoesNotMatch")
    assert error.detail("StringToSign") == AWS_POLICY[:-2]
    assert (
        error.detail("SignatureProvided")
        == "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
    )


def test_aws_example_after_expiry():
    form = aws_example_form()
    with pytest.raises(S3Error) as caught:
        check_post_form(
            form,
            "sigv4examplebucket",
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            float(timegm((2015, 12, 30, 12, 0, 1))),
        )
    assert (caught.value.status, caught.value.code, caught.value.message) == (
        403,
        "AccessDenied",
        "Invalid according to Policy: Policy expired.",
    )


def signed_form(
    policy: dict, fields: dict, file_size: int = 5, filename: str | None = "photo.jpg"
) -> PostForm:
    conditions = list(policy.get("conditions", []))
    conditions += [
        {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
        {"x-amz-credential": CREDENTIAL},
        {"x-amz-date": DATE},
    ]
    document = {**policy, "conditions": conditions}
    encoded = base64.b64encode(json.dumps(document).encode()).decode()
    key = sigv4.signing_key("test", "20260101", "ap-northeast-1", "s3")
    all_fields = {
        **fields,
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-credential": CREDENTIAL,
        "x-amz-date": DATE,
        "policy": encoded,
        "x-amz-signature": sigv4.sign(key, encoded),
    }
    return PostForm(fields=list(all_fields.items()), has_file=True, filename=filename, file_size=file_size)


def check(form: PostForm, bucket: str = "bkt") -> None:
    check_post_form(form, bucket, "test", "test", NOW)


def policy(*conditions, expiration: str = "2026-01-01T01:00:00Z") -> dict:
    return {"expiration": expiration, "conditions": [{"bucket": "bkt"}, *conditions]}


def test_filename_is_expanded_before_conditions():
    check(signed_form(policy(["starts-with", "$key", "uploads/photo"]), {"key": "uploads/${filename}"}))
    error = refusal(
        signed_form(policy(["eq", "$key", "uploads/${filename}"]), {"key": "uploads/${filename}"}),
        "bkt",
        check,
    )
    assert (
        error.message
        == 'Invalid according to Policy: Policy Condition failed: ["eq", "$key", "uploads/${filename}"]'
    )


def test_filename_without_path_and_kept_literally_without_filename():
    assert expand_filename("u/${filename}", "C:\\Users\\me\\cv.pdf") == "u/cv.pdf"
    assert expand_filename("u/${filename}", "dir/x.txt") == "u/x.txt"
    assert expand_filename("u/${filename}", None) == "u/${filename}"
    assert expand_filename("u/${filename}", "") == "u/"


@pytest.mark.parametrize(
    ("size", "code", "details"),
    [
        (4, "EntityTooSmall", [("ProposedSize", "4"), ("MinSizeAllowed", "5")]),
        (11, "EntityTooLarge", [("ProposedSize", "11"), ("MaxSizeAllowed", "10")]),
    ],
)
def test_content_length_range_bounds_are_inclusive(size, code, details):
    check(signed_form(policy({"key": "k"}, ["content-length-range", 5, 10]), {"key": "k"}, file_size=5))
    check(signed_form(policy({"key": "k"}, ["content-length-range", "5", "10"]), {"key": "k"}, file_size=10))
    error = refusal(
        signed_form(policy({"key": "k"}, ["content-length-range", 5, 10]), {"key": "k"}, size), "bkt", check
    )
    assert (error.status, error.code, list(error.details)) == (400, code, details)


def test_content_length_range_with_words_fails_as_a_condition():
    error = refusal(
        signed_form(policy({"key": "k"}, ["content-length-range", "test", "10"]), {"key": "k"}), "bkt", check
    )
    assert (
        error.message
        == 'Invalid according to Policy: Policy Condition failed: ["content-length-range", "test", "10"]'
    )


def test_content_type_starts_with_checks_every_listed_type():
    cond = ["starts-with", "$Content-Type", "image/"]
    check(signed_form(policy({"key": "k"}, cond), {"key": "k", "Content-Type": "image/jpg,image/png"}))
    error = refusal(
        signed_form(policy({"key": "k"}, cond), {"key": "k", "Content-Type": "image/jpg,text/plain"}),
        "bkt",
        check,
    )
    assert error.code == "AccessDenied"


def test_field_names_are_case_insensitive_values_are_not():
    check(
        signed_form(
            policy({"key": "k"}, ["eq", "$content-type", "text/plain"]),
            {"key": "k", "Content-Type": "text/plain"},
        )
    )
    error = refusal(
        signed_form(policy({"key": "k"}, {"acl": "private"}), {"key": "k", "ACL": "PRIVATE"}), "bkt", check
    )
    assert error.message == 'Invalid according to Policy: Policy Condition failed: ["eq", "$acl", "private"]'


def test_a_condition_on_an_absent_field_fails_even_when_empty():
    error = refusal(
        signed_form(policy({"key": "k"}, ["starts-with", "$Content-Type", ""]), {"key": "k"}), "bkt", check
    )
    assert (
        error.message
        == 'Invalid according to Policy: Policy Condition failed: ["starts-with", "$Content-Type", ""]'
    )


def test_a_condition_name_without_dollar_fails():
    error = refusal(
        signed_form(
            policy({"key": "k"}, ["eq", "success_action_status", "201"]),
            {"key": "k", "success_action_status": "201"},
        ),
        "bkt",
        check,
    )
    assert (
        error.message
        == 'Invalid according to Policy: Policy Condition failed: ["eq", "success_action_status", "201"]'
    )


def test_every_field_must_be_covered_except_the_exempt_ones():
    check(signed_form(policy({"key": "k"}), {"key": "k", "x-ignore-tracking": "1"}))
    error = refusal(
        signed_form(policy({"key": "k"}), {"key": "k", "Content-Type": "a/b", "x-amz-meta-note": "n"}),
        "bkt",
        check,
    )
    assert (error.status, error.code, error.message) == (
        403,
        "AccessDenied",
        "Invalid according to Policy: Extra input fields: Content-Type, x-amz-meta-note",
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("not base64!", "Invalid Policy: invalid Base64 encoding."),
        (base64.b64encode(b"{nope").decode(), "Invalid Policy: Invalid JSON."),
        (base64.b64encode(b'{"conditions": []}').decode(), "Invalid Policy: Policy missing expiration."),
        (
            base64.b64encode(b'{"expiration": "2026-01-01T01:00:00Z"}').decode(),
            "Invalid Policy: Policy missing conditions.",
        ),
        (
            base64.b64encode(b'{"expiration": "2026-01-01 01:00:00 UTC", "conditions": []}').decode(),
            "Invalid Policy: Invalid 'expiration' value: '2026-01-01 01:00:00 UTC'",
        ),
        (
            base64.b64encode(b'{"expiration": "2026-01-01T01:00:00+02:00", "conditions": []}').decode(),
            "Invalid Policy: Invalid 'expiration' value: '2026-01-01T01:00:00+02:00'",
        ),
        (
            base64.b64encode(b'{"expiration": "2026-01-01T01:00:00Z", "conditions": {}}').decode(),
            "Invalid Policy: Invalid 'conditions' value: must be a List.",
        ),
        (
            base64.b64encode(
                b'{"Statement": [], "expiration": "2026-01-01T01:00:00Z", "conditions": []}'
            ).decode(),
            "Invalid Policy: Unexpected: 'statement'",
        ),
        (
            base64.b64encode(
                b'{"expiration": "2026-01-01T01:00:00Z", "conditions": [{"a": "1", "b": "2"}]}'
            ).decode(),
            "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.",
        ),
        (
            base64.b64encode(b'{"expiration": "2026-01-01T01:00:00Z", "conditions": [{"a": 1}]}').decode(),
            "Invalid Policy: Invalid Simple-Condition: value must be a string.",
        ),
        (
            base64.b64encode(b'{"expiration": "2026-01-01T01:00:00Z", "conditions": [[]]}').decode(),
            "Invalid Policy: Invalid Condition: missing operation identifier.",
        ),
        (
            base64.b64encode(
                b'{"expiration": "2026-01-01T01:00:00Z", "conditions": [["ends-with", "$key", "x"]]}'
            ).decode(),
            "Invalid Policy: Invalid Condition: unknown operation 'ends-with'.",
        ),
        (
            base64.b64encode(
                b'{"expiration": "2026-01-01T01:00:00Z", "conditions": [["content-length-range", 0]]}'
            ).decode(),
            "Invalid Policy: Invalid content-length-range: wrong number of arguments.",
        ),
        (
            base64.b64encode(
                b'{"expiration": "2026-01-01T01:00:00Z", "conditions": [["content-length-range", 0, 512.0]]}'
            ).decode(),
            "Invalid Policy: Invalid JSON.",
        ),
        (
            base64.b64encode(b'{"expiration": "2026-01-01T01:00:00Z", "conditions": ["key"]}').decode(),
            "Invalid Policy: Invalid condition test: must be a List or Object.",
        ),
    ],
)
def test_malformed_policies_are_invalid_policy_documents(document, message):
    with pytest.raises(S3Error) as caught:
        parse_policy(document)
    assert (caught.value.status, caught.value.code, caught.value.message) == (
        400,
        "InvalidPolicyDocument",
        message,
    )


def test_policy_accepts_both_expiration_formats():
    assert (
        parse_policy(
            base64.b64encode(b'{"expiration": "2026-01-01T00:00:00.500Z", "conditions": []}').decode()
        ).expiration
        == NOW + 0.5
    )
    assert (
        parse_policy(
            base64.b64encode(b'{"expiration": "2026-01-01T00:00:00Z", "conditions": []}').decode()
        ).expiration
        == NOW
    )


@pytest.mark.parametrize(
    ("drop", "missing"),
    [
        ("key", "key"),
        ("x-amz-signature", "X-Amz-Signature"),
        ("x-amz-algorithm", "X-Amz-Algorithm"),
        ("x-amz-date", "X-Amz-Date"),
        ("x-amz-credential", "X-Amz-Credential"),
    ],
)
def test_missing_fields_are_named(drop, missing):
    form = signed_form(policy({"key": "k"}), {"key": "k"})
    form.fields = [(name, value) for name, value in form.fields if name != drop]
    error = refusal(form, "bkt", check)
    assert (error.status, error.code) == (400, "InvalidArgument")
    assert (
        error.message
        == f"Bucket POST must contain a field named '{missing}'.  If it is specified, please check the order of the fields."
    )
    assert error.detail("ArgumentName") == missing


def test_no_file_and_anonymous_forms():
    form = signed_form(policy({"key": "k"}), {"key": "k"})
    form.has_file = False
    error = refusal(form, "bkt", check)
    assert (error.code, error.message, error.detail("ArgumentName"), error.detail("ArgumentValue")) == (
        "InvalidArgument",
        "POST requires exactly one file upload per request.",
        "file",
        "0",
    )
    anonymous = PostForm(fields=[("key", "k")], has_file=True)
    assert refusal(anonymous, "bkt", check).message == "Access Denied"
    policy_only = PostForm(fields=[("key", "k"), ("policy", "e30=")], has_file=True)
    assert (refusal(policy_only, "bkt", check).status, refusal(policy_only, "bkt", check).code) == (
        403,
        "AccessDenied",
    )


def test_wrong_credential_and_date_formats():
    form = signed_form(policy({"key": "k"}), {"key": "k"})
    form.fields = [
        (n, "someone/20260101/ap-northeast-1/s3/aws4_request" if n == "x-amz-credential" else v)
        for n, v in form.fields
    ]
    assert refusal(form, "bkt", check).code == "InvalidAccessKeyId"
    form = signed_form(policy({"key": "k"}), {"key": "k"})
    form.fields = [(n, "2026-01-01" if n == "x-amz-date" else v) for n, v in form.fields]
    error = refusal(form, "bkt", check)
    assert (error.code, error.message) == (
        "InvalidArgument",
        "X-Amz-Date must be formated via ISO8601 Long format",
    )


def test_sigv2_policy_signature_is_verified():
    document = base64.b64encode(json.dumps(policy({"key": "k"})).encode()).decode()
    fields = [
        ("key", "k"),
        ("AWSAccessKeyId", "test"),
        ("policy", document),
        ("signature", sigv2.sign("test", document)),
    ]
    check(PostForm(fields=fields, has_file=True, filename="f", file_size=1))
    fields[-1] = ("signature", sigv2.sign("wrong", document))
    assert (
        refusal(PostForm(fields=fields, has_file=True, filename="f", file_size=1), "bkt", check).code
        == "SignatureDoesNotMatch"
    )


def multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "XyZ") -> bytes:
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else ""
        )
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def scan(body: bytes, chunk: int) -> PostForm:
    scanner = FormScanner(b"XyZ")
    for start in range(0, len(body), chunk):
        scanner.feed(body[start : start + chunk])
    return scanner.finish()


@pytest.mark.parametrize("chunk", [1, 7, 65536])
def test_form_scanner_reads_fields_and_counts_the_file_whatever_the_chunking(chunk):
    payload = b"\r\n--XyZ not a boundary\r\n" * 50 + b"end"
    form = scan(
        multipart(
            [
                ("key", None, b"a/${filename}"),
                ("Policy", None, b"p"),
                ("file", "x.bin", payload),
                ("after", None, b"ignored"),
            ]
        ),
        chunk,
    )
    assert form.fields == [("key", "a/${filename}"), ("Policy", "p")]
    assert (form.has_file, form.filename, form.file_size, form.malformed) == (
        True,
        "x.bin",
        len(payload),
        False,
    )


def test_form_scanner_without_filename_and_with_empty_file():
    form = scan(multipart([("key", None, b"k"), ("file", None, b"")]), 3)
    assert (form.has_file, form.filename, form.file_size) == (True, None, 0)


def test_form_scanner_limits_fields_before_the_file():
    form = scan(
        multipart(
            [
                ("key", None, b"k"),
                ("big", None, b"x" * 20000),
                ("more", None, b"y" * 1000),
                ("file", "f", b"1"),
            ]
        ),
        4096,
    )
    assert form.pre_file_too_large
    form = scan(multipart([("key", None, b"k"), ("upload", "big.bin", b"x" * 100000)]), 4096)
    assert form.pre_file_too_large and not form.has_file


def test_form_scanner_flags_broken_bodies():
    assert scan(b"this is not multipart", 5).malformed
    assert scan(multipart([("key", None, b"k"), ("file", "f", b"123")])[:-12], 5).malformed
