"""The pure signing pieces against AWS's published examples and against what botocore itself signs."""

from __future__ import annotations

from calendar import timegm
from urllib.parse import urlsplit

import pytest
from botocore.auth import HmacV1QueryAuth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from moto_gateway.signing import sigv2, sigv4
from moto_gateway.signing.presigned import Credentials, check_query_v2, check_query_v4
from moto_gateway.wsgi.errors import S3Error
from moto_gateway.wsgi.query import split_query
from moto_gateway.wsgi.request import RequestView, addressing

AWS_EXAMPLE = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
MAY_24_2013 = float(timegm((2013, 5, 24, 0, 0, 0)))


def view_of(url: str, method: str = "GET", headers: dict | None = None) -> RequestView:
    parts = urlsplit(url)
    return RequestView(
        method=method,
        raw_path=parts.path or "/",
        raw_query=parts.query,
        headers={"host": parts.netloc, **{k.lower(): v for k, v in (headers or {}).items()}},
    )


def test_aws_documented_presigned_get_example_verifies():
    """AWS's 'Authenticating Requests: Using Query Parameters' example (examplebucket/test.txt)."""
    url = (
        "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    )
    check_query_v4(view_of(url), AWS_EXAMPLE, now=MAY_24_2013 + 60)
    with pytest.raises(S3Error) as expired:
        check_query_v4(view_of(url), AWS_EXAMPLE, now=MAY_24_2013 + 86401)
    assert (expired.value.status, expired.value.code, expired.value.message) == (
        403,
        "AccessDenied",
        "Request has expired",
    )
    assert expired.value.detail("X-Amz-Expires") == "86400"
    assert expired.value.detail("Expires") == "2013-05-25T00:00:00Z"
    with pytest.raises(S3Error) as tampered:
        check_query_v4(view_of(url.replace("test.txt", "test2.txt")), AWS_EXAMPLE, now=MAY_24_2013 + 60)
    assert tampered.value.code == "SignatureDoesNotMatch"
    assert tampered.value.detail("CanonicalRequest").startswith("GET\n/test2.txt\nX-Amz-Algorithm=")


def test_aws_documented_post_policy_signature():
    """AWS's 'Example: Browser-Based Upload using HTTP POST (Using AWS Signature Version 4)'."""
    key = sigv4.signing_key(AWS_EXAMPLE.secret_key, "20151229", "us-east-1", "s3")
    assert key.hex() == "cbcef1ebeaefc82cce6530b9f0a9ae598846065f5c5bae0674bd5ebc4ba52d28"


def botocore_presign_v4(
    url: str, method: str = "GET", headers: dict | None = None, expires: int = 3600
) -> str:
    request = AWSRequest(method=method, url=url, headers=headers or {})
    request.context["timestamp"] = "20260101T000000Z"
    signer = S3SigV4QueryAuth(BotoCredentials("test", "test"), "s3", "ap-northeast-1", expires=expires)
    signer._modify_request_before_signing(request)
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    return f"{request.url}&X-Amz-Signature={signature}"


@pytest.mark.parametrize(
    "path",
    [
        "/bkt/plain.txt",
        "/bkt/with%20space.txt",
        "/bkt/plus%2Bsign.txt",
        "/bkt/tilde~x.txt",
        "/bkt/%C3%BCnic%C3%B6de/%E6%97%A5%E6%9C%AC.txt",
        "/bkt/dir/sub/%21%27%28%29%2A.txt",
        "/bkt/",
    ],
)
def test_presigned_v4_matches_botocore_for_awkward_keys(path):
    jan_1 = float(timegm((2026, 1, 1, 0, 0, 0)))
    url = botocore_presign_v4(
        f"http://127.0.0.1:5000{path}?response-content-disposition=attachment%3B%20a%3D%22b%20c%22"
    )
    check_query_v4(view_of(url), Credentials("test", "test"), now=jan_1 + 10)


def test_presigned_v4_content_type_is_signed():
    jan_1 = float(timegm((2026, 1, 1, 0, 0, 0)))
    url = botocore_presign_v4("http://localhost:5000/bkt/k.txt", "PUT", {"Content-Type": "text/plain"})
    check_query_v4(
        view_of(url, "PUT", {"Content-Type": "text/plain"}), Credentials("test", "test"), now=jan_1
    )
    with pytest.raises(S3Error) as wrong:
        check_query_v4(
            view_of(url, "PUT", {"Content-Type": "image/png"}), Credentials("test", "test"), now=jan_1
        )
    assert wrong.value.code == "SignatureDoesNotMatch"
    with pytest.raises(S3Error) as method:
        check_query_v4(
            view_of(url, "POST", {"Content-Type": "text/plain"}), Credentials("test", "test"), now=jan_1
        )
    assert method.value.code == "SignatureDoesNotMatch"


def test_unsigned_amz_header_is_refused_like_s3():
    jan_1 = float(timegm((2026, 1, 1, 0, 0, 0)))
    url = botocore_presign_v4("http://localhost:5000/bkt/k.txt", "PUT")
    with pytest.raises(S3Error) as refused:
        check_query_v4(
            view_of(url, "PUT", {"x-amz-acl": "public-read"}), Credentials("test", "test"), now=jan_1
        )
    assert (refused.value.status, refused.value.code) == (403, "AccessDenied")
    assert refused.value.detail("HeadersNotSigned") == "x-amz-acl"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("X-Amz-Expires=3600", "X-Amz-Expires=604801"),
            "X-Amz-Expires must be less than a week (in seconds) that is; 604800",
        ),
        (("X-Amz-Expires=3600", "X-Amz-Expires=-1"), "X-Amz-Expires must be non-negative"),
        (("X-Amz-Expires=3600", "X-Amz-Expires=soon"), "X-Amz-Expires should be a number"),
        (
            ("X-Amz-Date=20260101T000000Z", "X-Amz-Date=2026-01-01"),
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
        ),
        (
            ("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1"),
            'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"',
        ),
        (
            ("&X-Amz-SignedHeaders=host", ""),
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
        ),
        (
            ("test%2F20260101", "test%2F2026-01-01"),
            'Error parsing the X-Amz-Credential parameter; incorrect date format "2026-01-01". This date in the credential must be in the format "yyyyMMdd".',
        ),
        (
            ("aws4_request", "aws5_request"),
            'Error parsing the X-Amz-Credential parameter; incorrect terminal "aws5_request". This endpoint uses "aws4_request".',
        ),
        (
            ("test%2F20260101%2F", "20260101%2F"),
            'Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
        ),
    ],
)
def test_malformed_query_parameters_get_aws_messages(change, message):
    url = botocore_presign_v4("http://localhost:5000/bkt/k.txt").replace(*change)
    with pytest.raises(S3Error) as refused:
        check_query_v4(view_of(url), Credentials("test", "test"), now=float(timegm((2026, 1, 1, 0, 0, 0))))
    assert (refused.value.status, refused.value.code, refused.value.message) == (
        400,
        "AuthorizationQueryParametersError",
        message,
    )


def test_presigned_v4_for_another_service_is_not_ours():
    url = botocore_presign_v4("http://localhost:5000/").replace("%2Fs3%2F", "%2Fsts%2F")
    check_query_v4(view_of(url), Credentials("test", "test"), now=0.0)


def test_unknown_access_key_is_invalid_access_key_id():
    url = botocore_presign_v4("http://localhost:5000/bkt/k")
    with pytest.raises(S3Error) as refused:
        check_query_v4(
            view_of(url), Credentials("someone-else", "test"), now=float(timegm((2026, 1, 1, 0, 0, 0)))
        )
    assert (refused.value.status, refused.value.code, refused.value.detail("AWSAccessKeyId")) == (
        403,
        "InvalidAccessKeyId",
        "test",
    )


def botocore_presign_v2(
    url: str, method: str = "GET", headers: dict | None = None, expires_at: int = 2000000000
) -> str:
    request = AWSRequest(method=method, url=url, headers=headers or {})
    signer = HmacV1QueryAuth(BotoCredentials("test", "test"))
    signer._get_date = lambda: str(expires_at)
    signer.add_auth(request)
    return request.url


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/bkt/a%20b%2Bc~%C3%BC.txt", ""),
        ("/bkt/k.txt", "response-content-type=text%2Fplain&versionId=3"),
        ("/bkt/k.txt", "uploads"),
    ],
)
def test_presigned_v2_matches_botocore(path, query):
    url = botocore_presign_v2(f"http://127.0.0.1:5000{path}" + (f"?{query}" if query else ""))
    check_query_v2(view_of(url), Credentials("test", "test"), now=1999999999.0)
    with pytest.raises(S3Error) as expired:
        check_query_v2(view_of(url), Credentials("test", "test"), now=2000000001.0)
    assert (expired.value.status, expired.value.code, expired.value.message) == (
        403,
        "AccessDenied",
        "Request has expired",
    )


def test_presigned_v2_signs_content_type_and_amz_headers():
    url = botocore_presign_v2(
        "http://127.0.0.1:5000/bkt/k", "PUT", {"Content-Type": "text/plain", "x-amz-acl": "private"}
    )
    assert "content-type=text%2Fplain" in url and "x-amz-acl=private" in url
    check_query_v2(view_of(url, "PUT", {"Content-Type": "text/plain"}), Credentials("test", "test"), now=0.0)
    with pytest.raises(S3Error) as wrong:
        check_query_v2(
            view_of(url, "PUT", {"Content-Type": "text/html"}), Credentials("test", "test"), now=0.0
        )
    assert wrong.value.code == "SignatureDoesNotMatch"
    assert wrong.value.detail("StringToSign").startswith(
        "PUT\n\ntext/html\n2000000000\nx-amz-acl:private\n/bkt/k"
    )


def test_v2_string_to_sign_layout():
    text = sigv2.string_to_sign(
        "get", "", "", "1700000000", {"X-Amz-Meta-B": " 2 ", "x-amz-a": "1"}, "/b/k?acl"
    )
    assert text == "GET\n\n\n1700000000\nx-amz-a:1\nx-amz-meta-b:2\n/b/k?acl"
    assert (
        sigv2.canonical_resource("/b/k", [("versionId", "7"), ("acl", ""), ("list-type", "2")])
        == "/b/k?acl&versionId=7"
    )


def test_canonical_query_sorts_encoded_pairs_and_drops_the_signature():
    pairs = split_query("b=2&a=%7e&X-Amz-Signature=x&a=1&c&d=a+b")
    assert sigv4.canonical_query_string(pairs, exclude="X-Amz-Signature") == "a=1&a=~&b=2&c=&d=a%2Bb"


def test_canonical_uri_reencodes_once():
    assert sigv4.canonical_uri("/b/a%20b+c%7E%C3%BC/x") == "/b/a%20b%2Bc~%C3%BC/x"


@pytest.mark.parametrize(
    ("host", "path", "expected"),
    [
        ("127.0.0.1:5000", "/bkt/a/b", ("bkt", "a/b", False)),
        ("localhost:5000", "/bkt", ("bkt", "", False)),
        ("moto:5000", "/bkt/", ("bkt", "", False)),
        ("bkt.localhost.test:5000", "/a%20b", ("bkt", "a b", True)),
        ("bkt.s3.amazonaws.com", "/", ("bkt", "", True)),
    ],
)
def test_addressing_follows_moto(host, path, expected):
    found = addressing(host, path)
    assert (found.bucket, found.key, found.virtual_host) == expected
