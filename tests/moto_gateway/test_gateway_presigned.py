"""Presigned URLs through the running gateway: boto3's URLs, used with plain HTTP as users use them."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from tests.moto_gateway.helpers import aws_error, client, shift_botocore_clock

BUCKET = "shared"
AWKWARD_KEYS = [
    "plain.txt",
    "with space.txt",
    "plus+sign.txt",
    "tilde~name.txt",
    "ünïcødé/日本語.txt",
    "dir/(brackets) [1] & 'quotes' ! * @ $ = ; , ?.txt",
    "percent%20literal.txt",
    "trailing-slash/",
]


@pytest.fixture
def bucket(s3):
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    return BUCKET


@pytest.mark.parametrize("key", AWKWARD_KEYS)
def test_presigned_get_and_put_work_for_awkward_keys(s3, bucket, key):
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key})
    assert requests.put(put_url, data=b"content of " + key.encode(), timeout=10).status_code == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key})
    response = requests.get(get_url, timeout=10)
    assert response.status_code == 200, response.text
    assert response.content == b"content of " + key.encode()


@pytest.mark.parametrize("key", ["with space.txt", "plus+sign.txt", "ünïcødé/日本語.txt"])
def test_presigned_sigv2_get_and_put(moto, s3, bucket, key):
    v2 = client(moto.url, signature_version="s3")
    put_url = v2.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": key, "ContentType": "text/plain"}
    )
    assert "AWSAccessKeyId=" in put_url
    assert (
        requests.put(put_url, data=b"v2", headers={"Content-Type": "text/plain"}, timeout=10).status_code
        == 200
    )
    get_url = v2.generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket, "Key": key, "ResponseContentDisposition": 'attachment; filename="a b.txt"'},
    )
    response = requests.get(get_url, timeout=10)
    assert (response.status_code, response.content) == (200, b"v2")
    assert response.headers["Content-Disposition"] == 'attachment; filename="a b.txt"'
    tampered = requests.get(get_url.replace("filename%3D%22a", "filename%3D%22z"), timeout=10)
    assert aws_error(tampered)["Code"] == "SignatureDoesNotMatch"


def test_content_type_signed_put_needs_that_content_type(s3, bucket):
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "doc.txt", "ContentType": "text/plain"}
    )
    wrong = requests.put(url, data=b"<p>", headers={"Content-Type": "text/html"}, timeout=10)
    error = aws_error(wrong)
    assert (error["status"], error["Code"]) == (403, "SignatureDoesNotMatch")
    assert "content-type:text/html" in error["CanonicalRequest"]
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    right = requests.put(url, data=b"words", headers={"Content-Type": "text/plain"}, timeout=10)
    assert right.status_code == 200
    assert s3.head_object(Bucket=bucket, Key="doc.txt")["ContentType"] == "text/plain"


def test_expired_presigned_get_is_refused(s3, bucket, monkeypatch):
    s3.put_object(Bucket=bucket, Key="k", Body=b"secret")
    shift_botocore_clock(monkeypatch, -7200)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=3600)
    error = aws_error(requests.get(url, timeout=10))
    assert (error["status"], error["Code"], error["Message"], error["X-Amz-Expires"]) == (
        403,
        "AccessDenied",
        "Request has expired",
        "3600",
    )
    assert error["Expires"] < error["ServerTime"]


def test_expired_presigned_put_is_refused_and_stores_nothing(s3, bucket, monkeypatch):
    shift_botocore_clock(monkeypatch, -120)
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=60)
    error = aws_error(requests.put(url, data=b"x" * 100_000, timeout=10))
    assert (error["status"], error["Code"], error["Message"]) == (403, "AccessDenied", "Request has expired")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_expired_presigned_head_is_403_without_body(s3, bucket, monkeypatch):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    shift_botocore_clock(monkeypatch, -7200)
    url = s3.generate_presigned_url("head_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=60)
    response = requests.head(url, timeout=10)
    assert (response.status_code, response.content) == (403, b"")


def test_expired_sigv2_url_is_refused(moto, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = client(moto.url, signature_version="s3").generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=-5
    )
    error = aws_error(requests.get(url, timeout=10))
    assert (error["status"], error["Code"], error["Message"]) == (403, "AccessDenied", "Request has expired")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda url: url.replace("/k?", "/other?"), "SignatureDoesNotMatch"),
        (lambda url: url[: url.index("X-Amz-Signature=") + 16] + "0" * 64, "SignatureDoesNotMatch"),
        (lambda url: url.replace("X-Amz-Expires=60", "X-Amz-Expires=6000"), "SignatureDoesNotMatch"),
        (lambda url: url + "&versionId=1", "SignatureDoesNotMatch"),
    ],
)
def test_tampered_presigned_url_is_refused(s3, bucket, change, code):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.put_object(Bucket=bucket, Key="other", Body=b"y")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=60)
    error = aws_error(requests.get(change(url), timeout=10))
    assert (error["status"], error["Code"]) == (403, code)


def test_wrong_secret_and_unknown_access_key(moto, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    params = {"Bucket": bucket, "Key": "k"}
    wrong_secret = client(moto.url, secret="nope").generate_presigned_url("get_object", Params=params)
    assert aws_error(requests.get(wrong_secret, timeout=10))["Code"] == "SignatureDoesNotMatch"
    unknown = client(moto.url, key="AKIAUNKNOWN").generate_presigned_url("get_object", Params=params)
    error = aws_error(requests.get(unknown, timeout=10))
    assert (error["status"], error["Code"], error["AWSAccessKeyId"]) == (
        403,
        "InvalidAccessKeyId",
        "AKIAUNKNOWN",
    )


def test_expiry_longer_than_a_week_is_a_parameter_error(s3, bucket):
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=604801)
    error = aws_error(requests.get(url, timeout=10))
    assert (error["status"], error["Code"], error["Message"]) == (
        400,
        "AuthorizationQueryParametersError",
        "X-Amz-Expires must be less than a week (in seconds) that is; 604800",
    )


def test_unsigned_amz_header_on_presigned_put_is_refused(s3, bucket):
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "k"})
    error = aws_error(requests.put(url, data=b"x", headers={"x-amz-acl": "public-read"}, timeout=10))
    assert (error["status"], error["Code"], error["HeadersNotSigned"]) == (403, "AccessDenied", "x-amz-acl")


def test_presigned_bucket_listing_and_multipart_upload(s3, bucket):
    s3.put_object(Bucket=bucket, Key="a/1", Body=b"1")
    list_url = s3.generate_presigned_url("list_objects_v2", Params={"Bucket": bucket, "Prefix": "a/"})
    listing = requests.get(list_url, timeout=10)
    assert listing.status_code == 200 and b"<Key>a/1</Key>" in listing.content
    upload = s3.create_multipart_upload(Bucket=bucket, Key="parts.bin")
    parts = []
    for number, chunk in enumerate([b"a" * 5 * 1024 * 1024, b"tail"], start=1):
        url = s3.generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": bucket,
                "Key": "parts.bin",
                "UploadId": upload["UploadId"],
                "PartNumber": number,
            },
        )
        response = requests.put(url, data=chunk, timeout=30)
        assert response.status_code == 200, response.text
        parts.append({"PartNumber": number, "ETag": response.headers["ETag"]})
    s3.complete_multipart_upload(
        Bucket=bucket, Key="parts.bin", UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )
    assert s3.head_object(Bucket=bucket, Key="parts.bin")["ContentLength"] == 5 * 1024 * 1024 + 4


def test_virtual_hosted_presigned_get(moto, s3, bucket):
    s3.put_object(Bucket=bucket, Key="v key.txt", Body=b"vhost")
    virtual = client(f"http://localhost.test:{moto.port}", addressing="virtual")
    url = virtual.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "v key.txt"})
    parts = urlsplit(url)
    assert parts.netloc == f"{bucket}.localhost.test:{moto.port}"
    direct = urlunsplit(("http", f"127.0.0.1:{moto.port}", parts.path, parts.query, ""))
    response = requests.get(direct, headers={"Host": parts.netloc}, timeout=10)
    assert (response.status_code, response.content) == (200, b"vhost")
    response = requests.get(direct, headers={"Host": f"other.localhost.test:{moto.port}"}, timeout=10)
    assert aws_error(response)["Code"] == "SignatureDoesNotMatch"


def test_two_auth_mechanisms_at_once_are_refused(moto, s3, bucket):
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    response = requests.get(url, headers={"Authorization": "AWS4-HMAC-SHA256 Credential=x"}, timeout=10)
    assert aws_error(response)["Code"] == "InvalidArgument"


def test_presigned_sigv2_bucket_listing(moto, s3, bucket):
    """botocore signs bucket-level SigV2 requests for `/bucket/` while the URL path is `/bucket`."""
    s3.put_object(Bucket=bucket, Key="x", Body=b"1")
    url = client(moto.url, signature_version="s3").generate_presigned_url(
        "list_objects", Params={"Bucket": bucket}
    )
    response = requests.get(url, timeout=10)
    assert response.status_code == 200 and b"<Key>x</Key>" in response.content
