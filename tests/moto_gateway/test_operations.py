"""The one S3 operation classifier (moto_gateway/wsgi/operations.py) names what Moto's router does.

For requests naming two subresources (the three classifiers it replaced disagreed on them) and for a
subresource Moto does not route, each request is sent, SigV4-signed, to a real gateway: the answer's
document (reads) or the state afterwards (writes) shows the operation Moto performed, and it is the one
`operation_of` names; the change feed records what that operation changed, and nothing else.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import requests
from botocore.exceptions import ClientError

from moto_gateway.access.actions import classify
from moto_gateway.wsgi.operations import operation_of
from testkit.clients import REGION, make_test_client
from testkit.servers import MotoServer
from tests.moto_gateway.helpers import signed_request

BUCKET = "odd-requests"
CORS = {"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["http://a.test"]}]}
# A policy granting nothing (a Deny): with it, GetBucketPolicy would answer JSON, GetBucketPolicyStatus XML.
POLICY = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",'
    ' "Resource": "arn:aws:s3:::odd-requests/nothing/*"}]}'
)
# The document each read answers with: the operation's own.
ROOTS = {
    "GetBucketAcl": "AccessControlPolicy",
    "GetBucketCors": "CORSConfiguration",
    "GetBucketVersioning": "GetBucketVersioningResponse",  # Moto's, for a bucket never versioned
    "GetBucketTagging": "Tagging",
    "GetBucketPolicyStatus": "PolicyStatus",
    "ListMultipartUploads": "ListMultipartUploadsResult",
    "ListObjectVersions": "ListVersionsResult",
    "GetObjectTagging": "Tagging",
    "GetObjectAttributes": "GetObjectAttributesResponse",
    "ListObjects": "ListBucketResult",
}
READS = [
    ("/odd-requests?acl&cors", {}, "GetBucketAcl"),
    ("/odd-requests?tagging&versioning", {}, "GetBucketVersioning"),
    ("/odd-requests?policy&policyStatus", {}, "GetBucketPolicyStatus"),
    ("/odd-requests?versions&uploads", {}, "ListMultipartUploads"),
    ("/odd-requests/k?attributes&tagging", {"x-amz-object-attributes": "ETag"}, "GetObjectTagging"),
    ("/odd-requests?analytics", {}, "ListObjects"),
]


@pytest.fixture(scope="module")
def moto():
    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3(moto):
    moto.reset()
    client = make_test_client(moto.url)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    client.put_object(Bucket=BUCKET, Key="k", Body=b"x")
    client.put_bucket_cors(Bucket=BUCKET, CORSConfiguration=CORS)
    client.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "t", "Value": "v"}]})
    client.put_bucket_policy(Bucket=BUCKET, Policy=POLICY)
    return client


def named(method: str, path_and_query: str, headers: dict | None = None) -> str | None:
    path, _, query = path_and_query.partition("?")
    bucket, _, key = path.lstrip("/").partition("/")
    names = {name.split("=", 1)[0]: "" for name in query.split("&") if name}
    return operation_of(method, bucket, key, names, "x-amz-copy-source" in (headers or {}))


def last_seq(moto) -> int:
    return requests.get(f"{moto.url}/_changes?after=0", timeout=10).json()["last_seq"]


def ops_after(moto, seq: int) -> list[tuple[str, str]]:
    events = requests.get(f"{moto.url}/_changes?after={seq}", timeout=10).json()["events"]
    return [(event["op"], event["bucket"]) for event in events]


@pytest.mark.parametrize(("path", "headers", "operation"), READS, ids=[read[0] for read in READS])
def test_a_read_naming_two_subresources_is_the_one_moto_answers(moto, s3, path, headers, operation):
    assert named("GET", path, headers) == operation
    response = signed_request(moto.url, "GET", path, headers=headers)
    assert ET.fromstring(response.content).tag.rsplit("}", 1)[-1] == ROOTS[operation], response.text


def test_put_acl_and_cors_sets_the_acl_as_moto_does(moto, s3):
    path = f"/{BUCKET}?acl&cors"
    assert named("PUT", path) == "PutBucketAcl"
    seq = last_seq(moto)
    response = signed_request(moto.url, "PUT", path, b"", {"x-amz-acl": "log-delivery-write"})
    assert response.status_code == 200, response.text
    grantees = [grant["Grantee"].get("URI", "") for grant in s3.get_bucket_acl(Bucket=BUCKET)["Grants"]]
    assert any(uri.endswith("/LogDelivery") for uri in grantees)
    assert s3.get_bucket_cors(Bucket=BUCKET)["CORSRules"][0]["AllowedOrigins"] == ["http://a.test"]
    assert ops_after(moto, seq) == []  # the CORS rules did not change: no bucket-cors event
    assert classify("PUT", BUCKET, "", {"acl": "", "cors": ""}, {}).name == "PutBucketAcl"


def test_delete_cors_and_tagging_deletes_the_tagging_as_moto_does(moto, s3):
    path = f"/{BUCKET}?cors&tagging"
    assert named("DELETE", path) == "DeleteBucketTagging"
    seq = last_seq(moto)
    response = signed_request(moto.url, "DELETE", path)
    assert response.status_code == 204, response.text
    with pytest.raises(ClientError, match="NoSuchTagSet"):
        s3.get_bucket_tagging(Bucket=BUCKET)
    assert s3.get_bucket_cors(Bucket=BUCKET)["CORSRules"][0]["AllowedOrigins"] == ["http://a.test"]
    assert ops_after(moto, seq) == []
    assert classify("DELETE", BUCKET, "", {"cors": "", "tagging": ""}, {}).name == "PutBucketTagging"


def test_delete_acl_deletes_the_bucket_as_moto_does(moto, s3):
    """Moto routes no DELETE ?acl: it deletes the bucket, so access authorises DeleteBucket (owner only)
    and the change feed records the bucket's deletion."""
    s3.create_bucket(Bucket="emptied", CreateBucketConfiguration={"LocationConstraint": REGION})
    assert named("DELETE", "/emptied?acl") == "DeleteBucket"
    seq = last_seq(moto)
    response = signed_request(moto.url, "DELETE", "/emptied?acl")
    assert response.status_code == 204, response.text
    assert "emptied" not in [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]
    assert ops_after(moto, seq) == [("delete-bucket", "emptied")]
    assert classify("DELETE", "emptied", "", {"acl": ""}, {}).name == "DeleteBucket"
