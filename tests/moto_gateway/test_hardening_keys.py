"""Issue 17, cases 10-12: exact canonical forms, every signing form AWS accepts, keys with any character.

Property tests sign generated keys, prefixes and query values with botocore and require the gateway's
checks (the pure functions, then a real gateway process) to reach the signer's verdict; the aws4_testsuite
vectors pin the canonical forms.
"""

from __future__ import annotations

import hashlib
import time
from email.utils import formatdate
from urllib.parse import urlsplit

import pytest
import requests
from botocore.auth import HmacV1Auth, HmacV1QueryAuth, S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from botocore.utils import percent_encode_sequence
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moto_gateway.signing import sigv4
from moto_gateway.signing.presigned import Credentials, check_header, check_query_v2, check_query_v4, v4_timestamp
from moto_gateway.wsgi.errors import S3Error
from moto_gateway.wsgi.request import RequestView
from testkit.clients import REGION
from testkit.servers import MotoServer
from tests.moto_gateway.helpers import aws_error, client

BUCKET = "keys"
HOST = "127.0.0.1:5000"
CREDS = Credentials("test", "test")
BOTO_CREDS = BotoCredentials("test", "test")
ODD_KEYS = [
    "k\n",
    "line\nbreak/inside",
    "tab\there",
    "percent%20and%2F",
    "plus+sign",
    "question?mark",
    "hash#tag",
    "ünïcödé/日本語/🎉",
    "trailing space ",
    "a//double",
    "x" * 1024,
    "é" * 512,
    "amp&equals=semi;colon",
    "\r\ncr",
]
# Any Unicode scalar but surrogates (which UTF-8 cannot carry): what S3 allows in a key.
KEY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60).filter(
    lambda text: len(text.encode()) <= 1024
)


def view_of(method: str, url: str, headers: dict[str, str] | None = None) -> RequestView:
    parts = urlsplit(url)
    return RequestView(
        method=method,
        raw_path=parts.path or "/",
        raw_query=parts.query,
        headers={name.lower(): value for name, value in (headers or {}).items()},
    )


def verdict(check, view: RequestView) -> str:
    try:
        check(view, CREDS, time.time())
    except S3Error as error:
        return error.code
    return "ok"


def boto_url(path: str, query: str = "") -> str:
    return f"http://{HOST}{path}" + (f"?{query}" if query else "")


def presign_v4(path_and_query: str, params: dict | None = None) -> str:
    query = "?" + percent_encode_sequence(params) if params else ""
    request = AWSRequest(method="GET", url=f"http://{HOST}{path_and_query}{query}")
    S3SigV4QueryAuth(BOTO_CREDS, "s3", REGION, expires=300).add_auth(request)
    return request.prepare().url


@settings(max_examples=300, deadline=None)
@given(key=KEY_TEXT)
def test_presigned_v4_urls_for_any_key_verify(key):
    from urllib.parse import quote

    url = presign_v4("/" + BUCKET + "/" + quote(key.encode(), safe="/~"))
    assert verdict(check_query_v4, view_of("GET", url, {"host": HOST})) == "ok"
    tampered = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    assert verdict(check_query_v4, view_of("GET", tampered, {"host": HOST})) == "SignatureDoesNotMatch"


@settings(max_examples=300, deadline=None)
@given(prefix=KEY_TEXT, token=st.text(st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_presigned_v4_query_values_verify(prefix, token):
    url = presign_v4(f"/{BUCKET}", {"list-type": "2", "prefix": prefix, "continuation-token": token})
    assert verdict(check_query_v4, view_of("GET", url, {"host": HOST})) == "ok"


@settings(max_examples=200, deadline=None)
@given(key=KEY_TEXT, value=st.text(st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_header_signed_v4_requests_verify(key, value):
    from urllib.parse import quote

    query = percent_encode_sequence({"tagging": "", "versionId": value})  # as botocore builds request URLs
    request = AWSRequest(
        method="PUT", url=f"http://{HOST}/{BUCKET}/{quote(key.encode(), safe='/~')}?{query}", data=b"body"
    )
    S3SigV4Auth(BOTO_CREDS, "s3", REGION).add_auth(request)
    prepared = request.prepare()
    headers = {**prepared.headers, "host": HOST}
    assert verdict(check_header, view_of("PUT", prepared.url, headers)) == "ok"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=KEY_TEXT)
def test_sigv2_query_and_header_signatures_for_any_key_verify(key):
    from urllib.parse import quote

    path = f"/{BUCKET}/{quote(key.encode(), safe='/~')}"
    query_request = AWSRequest(method="GET", url=f"http://{HOST}{path}")
    HmacV1QueryAuth(BOTO_CREDS, expires=300).add_auth(query_request)
    assert verdict(check_query_v2, view_of("GET", query_request.prepare().url, {"host": HOST})) == "ok"
    header_request = AWSRequest(method="GET", url=f"http://{HOST}{path}")
    HmacV1Auth(BOTO_CREDS).add_auth(header_request)
    prepared = header_request.prepare()
    assert verdict(check_header, view_of("GET", prepared.url, {**prepared.headers, "host": HOST})) == "ok"


@pytest.mark.parametrize("value", [b"k\n", b"abc\n", b"\n", b"a b", b"~._-"])
def test_uri_encode_encodes_a_trailing_newline(value):
    assert sigv4.uri_encode(value) == (value.decode() if value == b"~._-" else sigv4.quote(value, safe="-_.~"))


@pytest.mark.parametrize(
    ("pattern", "value"),
    [
        (sigv4.AMZ_DATE_RE, "20260101T000000Z\n"),
        (sigv4.CREDENTIAL_DATE_RE, "20260101\n"),
        (sigv4.SHA256_HEX_RE, "a" * 64 + "\n"),
        (sigv4.AMZ_DATE_RE, "٢٠٢٦0101T000000Z"),
    ],
)
def test_whole_value_patterns_refuse_a_trailing_newline_and_foreign_digits(pattern, value):
    assert pattern.fullmatch(value) is None


def test_aws4_testsuite_get_vanilla_with_x_amz_date():
    """aws4_testsuite (2015) get-vanilla: the canonical forms and the signature, byte for byte."""
    headers = {"host": "example.amazonaws.com", "x-amz-date": "20150830T123600Z"}
    canonical = sigv4.canonical_request(
        "GET", "/", "", ["host", "x-amz-date"], headers, hashlib.sha256(b"").hexdigest()
    )
    to_sign = sigv4.string_to_sign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", canonical)
    key = sigv4.signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "service")
    assert sigv4.sign(key, to_sign) == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"


def test_aws4_testsuite_get_vanilla_signed_with_date_only():
    """aws4_testsuite (2011) get-vanilla carries `Date` and no X-Amz-Date: the Date signs, in ISO basic form."""
    headers = {"date": "Mon, 09 Sep 2011 23:36:00 GMT", "host": "host.foo.com"}
    timestamp = v4_timestamp(RequestView("GET", "/", "", headers))
    assert timestamp == "20110909T233600Z"
    canonical = sigv4.canonical_request("GET", "/", "", ["date", "host"], headers, hashlib.sha256(b"").hexdigest())
    to_sign = sigv4.string_to_sign(timestamp, "20110909/us-east-1/host/aws4_request", canonical)
    key = sigv4.signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20110909", "us-east-1", "host")
    assert sigv4.sign(key, to_sign) == "b27ccfbfa7df52a200ff74193ca6e32d4b48b8856fab7ebf1c595d0670a7e470"


@pytest.fixture
def bucket(s3):
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return BUCKET


@pytest.mark.parametrize("key", ODD_KEYS, ids=range(len(ODD_KEYS)))
def test_odd_keys_work_for_every_operation(moto, s3, bucket, key):
    body = b"value of " + key.encode()
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == body
    assert s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"] == len(body)
    assert [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=key)["Contents"]] == [key]
    s3.copy_object(Bucket=BUCKET, Key=key + ".copy", CopySource={"Bucket": BUCKET, "Key": key})
    assert s3.get_object(Bucket=BUCKET, Key=key + ".copy")["Body"].read() == body
    for version in ("s3v4", "s3"):
        signer = client(moto.url, signature_version=version)
        url = signer.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=300)
        assert requests.get(url, timeout=10).content == body, version
    listing = s3.generate_presigned_url("list_objects_v2", Params={"Bucket": BUCKET, "Prefix": key}, ExpiresIn=300)
    response = requests.get(listing, timeout=10)
    assert response.status_code == 200, response.text
    presigned_post = s3.generate_presigned_post(BUCKET, key + ".post")
    response = requests.post(
        presigned_post["url"], data=presigned_post["fields"], files={"file": ("f", body)}, timeout=10
    )
    assert response.status_code == 204, response.text
    assert s3.get_object(Bucket=BUCKET, Key=key + ".post")["Body"].read() == body
    s3.delete_object(Bucket=BUCKET, Key=key)
    assert [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])] == sorted(
        [key + ".copy", key + ".post"]
    )


def test_presigned_list_with_a_newline_prefix_is_accepted(moto, s3, bucket):
    s3.put_object(Bucket=BUCKET, Key="k\n", Body=b"x")
    url = s3.generate_presigned_url("list_objects_v2", Params={"Bucket": BUCKET, "Prefix": "k\n"})
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, response.text
    assert b"<KeyCount>1</KeyCount>" in response.content


@pytest.fixture(scope="module")
def verifying_server():
    server = MotoServer(env={"GATEWAY_VERIFY_HEADER_SIGNATURES": "true"})
    server.start()
    yield server
    server.stop()


def send(request: AWSRequest) -> requests.Response:
    prepared = request.prepare()
    return requests.request(prepared.method, prepared.url, headers=dict(prepared.headers), data=prepared.body, timeout=10)


def test_sigv4_header_signature_with_date_and_no_x_amz_date_is_accepted(verifying_server):
    s3 = client(verifying_server.url)
    s3.create_bucket(Bucket="dated", CreateBucketConfiguration={"LocationConstraint": REGION})
    request = AWSRequest(method="GET", url=f"{verifying_server.url}/dated", headers={"Date": formatdate(usegmt=True)})
    S3SigV4Auth(BOTO_CREDS, "s3", REGION).add_auth(request)
    assert "X-Amz-Date" not in request.headers and "Date" in request.headers
    response = send(request)
    assert response.status_code == 200, response.text
    request.headers["Date"] = formatdate(time.time() - 3600, usegmt=True)
    assert aws_error(send(request))["Code"] in ("SignatureDoesNotMatch", "RequestTimeTooSkewed")


def test_sigv2_header_signature_with_rfc1123_x_amz_date_is_accepted(verifying_server):
    s3 = client(verifying_server.url)
    s3.create_bucket(Bucket="dated2", CreateBucketConfiguration={"LocationConstraint": REGION})
    request = AWSRequest(method="GET", url=f"{verifying_server.url}/dated2/", headers={"X-Amz-Date": formatdate(usegmt=True)})
    HmacV1Auth(BOTO_CREDS).add_auth(request)
    response = send(request)
    assert response.status_code == 200, response.text
    request.headers.replace_header("X-Amz-Date", formatdate(time.time() - 7200, usegmt=True))
    HmacV1Auth(BOTO_CREDS).add_auth(request)
    assert aws_error(send(request))["Code"] == "RequestTimeTooSkewed"


@pytest.fixture(scope="module")
def wire_bucket(moto_server):
    s3 = client(moto_server.url)
    s3.create_bucket(Bucket="wire", CreateBucketConfiguration={"LocationConstraint": REGION})
    return s3


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=KEY_TEXT, tamper=st.booleans())
def test_over_the_wire_the_gateway_agrees_with_the_signer(moto_server, wire_bucket, key, tamper):
    """A botocore-signed PUT and presigned GET of a generated key: accepted and byte-exact; tampered: 403."""
    body = key.encode()
    wire_bucket.put_object(Bucket="wire", Key=key, Body=body)
    url = wire_bucket.generate_presigned_url("get_object", Params={"Bucket": "wire", "Key": key}, ExpiresIn=300)
    if tamper:
        url = url.replace("X-Amz-Signature=", "X-Amz-Signature=f")
    response = requests.get(url, timeout=10)
    if tamper:
        assert aws_error(response)["Code"] == "SignatureDoesNotMatch"
    else:
        assert (response.status_code, response.content) == (200, body)
    listed = wire_bucket.list_objects_v2(Bucket="wire", Prefix=key)
    assert key in [item["Key"] for item in listed.get("Contents", [])]
