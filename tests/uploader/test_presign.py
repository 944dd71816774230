"""The uploader's presigner signs exactly what boto3's client would sign (same URLs, fields, signatures)."""

import pytest

from common.s3 import make_s3_client
from common.settings import AwsSettings
from uploader.presign import Presigner

ENDPOINT = "http://localhost:9876"
KEY = "uploads/0123456789abcdef0123456789abcdef/a~b.png"


@pytest.fixture
def both():
    settings = AwsSettings(
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="wJalrXUtnFEMI/K7MDENG", aws_region="eu-west-3"
    )
    client = make_s3_client(settings, endpoint_url=ENDPOINT)
    return Presigner(ENDPOINT + "/", "bkt", "eu-west-3", "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG"), client


def same_second(make_ours, make_boto3):
    """Signatures include the time to the second: retry the rare pair that straddles a second boundary."""
    for _ in range(5):
        ours, theirs = make_ours(), make_boto3()
        if ours == theirs:
            return ours, theirs
    return ours, theirs


def test_post_matches_boto3(both):
    presigner, client = both
    fields = {"Content-Type": "image/png", "acl": "public-read"}
    conditions = [{"Content-Type": "image/png"}, ["content-length-range", 1, 10], {"acl": "public-read"}]
    ours, theirs = same_second(
        lambda: presigner.post(KEY, dict(fields), list(conditions), 300),
        lambda: client.generate_presigned_post(
            "bkt", KEY, Fields=dict(fields), Conditions=list(conditions), ExpiresIn=300
        ),
    )
    assert ours == theirs
    assert ours["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"


def test_get_and_put_urls_match_boto3(both):
    presigner, client = both
    ours, theirs = same_second(
        lambda: presigner.url("GET", KEY, 3600),
        lambda: client.generate_presigned_url(
            "get_object", Params={"Bucket": "bkt", "Key": KEY}, ExpiresIn=3600
        ),
    )
    assert ours == theirs
    headers = {"Content-Type": "image/png", "x-amz-acl": "public-read", "Content-Length": "12"}
    params = {
        "Bucket": "bkt",
        "Key": KEY,
        "ContentType": "image/png",
        "ACL": "public-read",
        "ContentLength": 12,
    }
    ours, theirs = same_second(
        lambda: presigner.url("PUT", KEY, 300, headers),
        lambda: client.generate_presigned_url("put_object", Params=params, ExpiresIn=300),
    )
    assert ours == theirs
    assert "X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost%3Bx-amz-acl" in ours


@pytest.mark.parametrize(
    "endpoint",
    ["http://127.0.0.1:80", "https://s3.example.com", "https://s3.example.com:8443", "http://[::1]:9000"],
)
@pytest.mark.parametrize("key", [KEY, "uploads/0123456789abcdef0123456789abcdef/space name+plus.png"])
def test_urls_match_boto3_for_any_endpoint_and_key(endpoint, key):
    settings = AwsSettings(aws_access_key_id="AKID", aws_secret_access_key="secret", aws_region="us-east-1")
    client = make_s3_client(settings, endpoint_url=endpoint)
    presigner = Presigner(endpoint, "bkt", "us-east-1", "AKID", "secret")
    ours, theirs = same_second(
        lambda: presigner.url("GET", key, 60),
        lambda: client.generate_presigned_url(
            "get_object", Params={"Bucket": "bkt", "Key": key}, ExpiresIn=60
        ),
    )
    assert ours == theirs
    params = {"Bucket": "bkt", "Key": key, "ContentType": "image/png", "ContentLength": 7}
    ours, theirs = same_second(
        lambda: presigner.url("PUT", key, 60, {"Content-Type": "image/png", "Content-Length": "7"}),
        lambda: client.generate_presigned_url("put_object", Params=params, ExpiresIn=60),
    )
    assert ours == theirs
