"""Presigned URLs used from a browser: the preflight of a presigned GET or PUT answered from the bucket's CORS
rules, the presigned request's answer with its CORS headers, and a presigned PUT with a canned ACL, against a
real gateway with boto3. Pages: S3 User Guide "Using cross-origin resource sharing (CORS)"
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html), S3 API Reference "OPTIONS object"
(https://docs.aws.amazon.com/AmazonS3/latest/API/RESTOPTIONSobject.html) and "Sharing objects with presigned
URLs" / "Uploading objects with presigned URLs"
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/PresignedUrlUploadObject.html)."""

from __future__ import annotations

import pytest
import requests

from tests.moto_gateway.access_support import (
    accounts_server,  # noqa: F401 (fixture)
    gateway,  # noqa: F401 (fixture)
    new_bucket,
    owner,
)
from tests.moto_gateway.helpers import aws_error

ORIGIN = "http://app.example"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


@pytest.mark.parametrize(("client_method", "http_method"), [("get_object", "GET"), ("put_object", "PUT")])
def test_the_preflight_of_a_presigned_url_follows_the_buckets_cors_rules(
    gateway, client_method, http_method  # noqa: F811
):
    """OPTIONS object: `Origin` and `Access-Control-Request-Method` are required (400 BadRequest without
    them); a rule that matches answers 200 with the origin and the rule's methods; an origin no rule allows is
    403 AccessForbidden with no Access-Control-Allow-Origin; the presigned request itself then carries the
    matching rule's CORS headers."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "web")
    s3.put_object(Bucket=bucket, Key="k", Body=b"stored")
    url = s3.generate_presigned_url(client_method, Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=300)
    for headers in ({}, {"Origin": ORIGIN}):
        error = aws_error(requests.options(url, headers=headers, timeout=10))
        assert (error["status"], error["Code"]) == (400, "BadRequest"), headers
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={"CORSRules": [{"AllowedOrigins": [ORIGIN], "AllowedMethods": [http_method]}]},
    )
    asked = {"Origin": ORIGIN, "Access-Control-Request-Method": http_method}
    allowed = requests.options(url, headers=asked, timeout=10)
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert allowed.headers["Access-Control-Allow-Methods"] == http_method
    refused = requests.options(url, headers={**asked, "Origin": "http://other.example"}, timeout=10)
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused.headers
    data = b"sent" if http_method == "PUT" else None
    actual = requests.request(http_method, url, data=data, headers={"Origin": ORIGIN}, timeout=10)
    assert actual.status_code == 200
    assert actual.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert actual.headers["Access-Control-Allow-Methods"] == http_method


def test_a_presigned_put_with_a_canned_acl(gateway):  # noqa: F811
    """"Uploading objects with presigned URLs": the ACL is part of the signature (x-amz-acl is a signed
    header): the browser's PUT sends it and the object gets it; a PUT without it does not match the signature
    (403 SignatureDoesNotMatch) and stores nothing."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "web")
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={"CORSRules": [
            {"AllowedOrigins": [ORIGIN], "AllowedMethods": ["PUT"], "AllowedHeaders": ["x-amz-acl"]},
        ]},
    )
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "shared", "ACL": "public-read"}, ExpiresIn=300
    )
    asked = {"Origin": ORIGIN, "Access-Control-Request-Method": "PUT"}
    asked["Access-Control-Request-Headers"] = "x-amz-acl"
    assert requests.options(url, headers=asked, timeout=10).status_code == 200
    unsigned = requests.put(url, data=b"x", headers={"Origin": ORIGIN}, timeout=10)
    assert aws_error(unsigned)["Code"] == "SignatureDoesNotMatch"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    stored = requests.put(url, data=b"x", headers={"Origin": ORIGIN, "x-amz-acl": "public-read"}, timeout=10)
    assert stored.status_code == 200
    assert stored.headers["Access-Control-Allow-Origin"] == ORIGIN
    grants = s3.get_object_acl(Bucket=bucket, Key="shared")["Grants"]
    readers = [grant["Grantee"] for grant in grants if grant["Permission"] == "READ"]
    assert {"Type": "Group", "URI": ALL_USERS} in readers
    assert requests.get(f"{gateway.url}/{bucket}/shared", timeout=10).content == b"x"
