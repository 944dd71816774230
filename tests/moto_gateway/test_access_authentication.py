"""Principals and malformed authentication: refused as S3 refuses them, whether or not signatures are verified.

Each case names the S3 documentation page its expected answer comes from.
"""

from __future__ import annotations

import base64
import hashlib

import pytest

from moto_gateway.signing.credentials import parse_credentials
from moto_gateway.signing.keyring import DEFAULT_ACCOUNT_ID, Keyring, canonical_id_of
from tests.moto_gateway.access_support import (
    ALICE,
    accounts_server,  # noqa: F401 (fixture)
    alice,
    bob,
    gateway,  # noqa: F401 (fixture)
    new_bucket,
    owner,
    send,
    signed_headers,
    start,
)
from tests.moto_gateway.helpers import aws_error


@pytest.fixture(scope="module")
def verifying():
    server = start({"GATEWAY_VERIFY_HEADER_SIGNATURES": "true"})
    yield server
    server.stop()


@pytest.fixture(params=["not-verified", "verified"])
def server(request, accounts_server, verifying):  # noqa: F811
    chosen = accounts_server if request.param == "not-verified" else verifying
    chosen.reset()
    new_bucket(owner(chosen), "auth")
    return chosen


def test_credentials_parse_and_refuse_garbage():
    assert parse_credentials(" a:b:111111111111 , c:d:222222222222,") == [
        ("a", "b", "111111111111"),
        ("c", "d", "222222222222"),
    ]
    for bad in ("a:b", "a:b:12", "a::111111111111", "a:b:111111111111,a:c:222222222222"):
        with pytest.raises(ValueError):
            parse_credentials(bad)
    keyring = Keyring("test", "test", [ALICE])
    assert keyring.default.account.canonical_id == canonical_id_of(DEFAULT_ACCOUNT_ID)
    assert keyring.credentials_for("alice-key").secret_key == "alice-secret"
    assert keyring.credentials_for("unknown").access_key == "test"  # whose check answers InvalidAccessKeyId


def test_each_key_acts_as_its_account(gateway):  # noqa: F811
    """S3 User Guide, "Bucket ownership": the account that creates a bucket owns it; ListBuckets lists the
    caller's own buckets (API Reference, ListBuckets)."""
    new_bucket(owner(gateway), "of-owner")
    new_bucket(alice(gateway), "of-alice")
    assert [b["Name"] for b in alice(gateway).list_buckets()["Buckets"]] == ["of-alice"]
    assert [b["Name"] for b in owner(gateway).list_buckets()["Buckets"]] == ["of-owner"]
    assert bob(gateway).list_buckets()["Buckets"] == []


def test_presigned_urls_of_each_key_are_checked_with_its_own_secret(gateway):  # noqa: F811
    """S3 API Reference, "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)"."""
    new_bucket(alice(gateway), "alices")
    alice(gateway).put_object(Bucket="alices", Key="k", Body=b"hers")
    url = alice(gateway).generate_presigned_url("get_object", Params={"Bucket": "alices", "Key": "k"})
    assert send("GET", url).content == b"hers"
    forged = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    assert aws_error(send("GET", forged))["Code"] == "SignatureDoesNotMatch"


def test_post_policy_of_a_second_key_is_checked_with_its_secret(gateway):  # noqa: F811
    """S3 API Reference, "Browser-Based Uploads Using POST (AWS Signature Version 4)": the policy is signed
    with the secret of the access key named in x-amz-credential."""
    import requests

    new_bucket(alice(gateway), "alice-posts")
    post = alice(gateway).generate_presigned_post("alice-posts", "up.txt")
    response = requests.post(post["url"], data=post["fields"], files={"file": ("f", b"posted")}, timeout=10)
    assert response.status_code == 204, response.text
    assert alice(gateway).get_object(Bucket="alice-posts", Key="up.txt")["Body"].read() == b"posted"


@pytest.mark.parametrize("value", ["", "\x07"])
def test_empty_or_unreadable_authorization_is_access_denied(server, value):
    """S3 API Reference, "Error responses": AccessDenied (403); the s3-tests conformance suite
    (test_object_create_bad_authorization_empty / _unreadable) records AWS's 403 AccessDenied."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.putrequest("PUT", "/auth/k")
    connection.putheader("Authorization", value)
    connection.putheader("Content-Length", "1")
    connection.endheaders(b"x")
    response = connection.getresponse()
    body = response.read()
    connection.close()
    assert response.status == 403 and b"<Code>AccessDenied</Code>" in body, body


def test_garbled_sigv2_authorization_is_invalid_argument(server):
    """S3 API Reference, "Signing and authenticating REST requests" (Authorization: AWS AccessKeyId:Signature);
    a header without that form is 400 InvalidArgument ("Error responses")."""
    headers = signed_headers("PUT", f"{server.url}/auth/k", b"x", version="v2")
    headers["Authorization"] = "AWS HAHAHA"
    error = aws_error(send("PUT", f"{server.url}/auth/k", b"x", headers))
    assert (error["status"], error["Code"], error["ArgumentName"]) == (400, "InvalidArgument", "Authorization")


def test_garbled_sigv4_authorization_is_malformed(server):
    """S3 API Reference, "Authenticating Requests: Using the Authorization Header (AWS Signature Version 4)":
    Credential, SignedHeaders and Signature are required; otherwise AuthorizationHeaderMalformed (400)."""
    headers = signed_headers("PUT", f"{server.url}/auth/k", b"x")
    headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=test/20260101/ap-northeast-1/s3/aws4_request"
    error = aws_error(send("PUT", f"{server.url}/auth/k", b"x", headers))
    assert (error["status"], error["Code"]) == (400, "AuthorizationHeaderMalformed")


def test_unknown_scheme_is_unsupported(server):
    """S3 API Reference, "Error responses": InvalidArgument, "Unsupported Authorization Type"."""
    error = aws_error(send("GET", f"{server.url}/auth", headers={"Authorization": "Bearer abc"}))
    assert (error["status"], error["Code"], error["Message"]) == (
        400,
        "InvalidArgument",
        "Unsupported Authorization Type",
    )


@pytest.mark.parametrize(
    ("date", "code"),
    [
        ("Bad Date", "AccessDenied"),
        ("", "AccessDenied"),
        (None, "AccessDenied"),
        ("Tue, 07 Jul 2010 21:53:04 GMT", "RequestTimeTooSkewed"),
        ("Tue, 07 Jul 9999 21:53:04 GMT", "RequestTimeTooSkewed"),
    ],
)
def test_sigv2_needs_a_valid_date_within_15_minutes(server, date, code):
    """S3 API Reference, "Signing and authenticating REST requests" (Time stamp requirement: a valid Date or
    x-amz-date, within 15 minutes of the server's time, else 403 RequestTimeTooSkewed; AccessDenied
    "AWS authentication requires a valid Date or x-amz-date header")."""
    url = f"{server.url}/auth/k"
    headers = signed_headers("PUT", url, b"x", version="v2")
    headers.pop("Date", None)
    if date is not None:
        headers["Date"] = date
    error = aws_error(send("PUT", url, b"x", headers))
    assert (error["status"], error["Code"]) == (403, code)


def test_negative_content_length_is_refused(server):
    """RFC 9110 §8.6 (Content-Length is a non-negative integer); S3 answers 400 (s3-tests
    test_object_create_bad_contentlength_negative)."""
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"PUT /auth/k HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\nConnection: close\r\n\r\n")
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]


@pytest.mark.parametrize(
    ("md5", "code"),
    [
        ("YWJyYWNhZGFicmE=", "InvalidDigest"),  # base64 of 11 bytes
        ("", "InvalidDigest"),
        ("not base64!", "InvalidDigest"),
        ("rL0Y20xC+Fzt72VPzMSk2A==", "BadDigest"),  # the MD5 of another body
    ],
)
def test_content_md5_must_be_an_md5_of_the_body(server, md5, code):
    """S3 API Reference, PutObject (Content-MD5) and "Error responses": InvalidDigest "The Content-MD5 you
    specified was invalid", BadDigest "The Content-MD5 you specified did not match what we received"."""
    url = f"{server.url}/auth/k"
    headers = signed_headers("PUT", url, b"bar", headers={"Content-MD5": md5})
    error = aws_error(send("PUT", url, b"bar", headers))
    assert (error["status"], error["Code"]) == (400, code)
    with pytest.raises(Exception):
        owner(server).head_object(Bucket="auth", Key="k")


def test_right_content_md5_is_stored(server):
    url = f"{server.url}/auth/k"
    md5 = base64.b64encode(hashlib.md5(b"bar").digest()).decode()
    headers = signed_headers("PUT", url, b"bar", headers={"Content-MD5": md5})
    assert send("PUT", url, b"bar", headers).status_code == 200
    assert owner(server).get_object(Bucket="auth", Key="k")["Body"].read() == b"bar"
