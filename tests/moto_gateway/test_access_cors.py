"""CORS answers as S3 gives them: only a bucket's CORS rules allow a preflight, wildcard origins match as S3
matches them, and an actual request carries CORS headers only when a rule matches its origin and method;
GATEWAY_ACCESS=moto keeps Moto's allow-all."""

from __future__ import annotations

import pytest
import requests

from tests.moto_gateway.access_support import (
    accounts_server,  # noqa: F401 (fixture)
    gateway,  # noqa: F401 (fixture)
    new_bucket,
    owner,
    start,
)
from tests.moto_gateway.helpers import aws_error


def preflight(url: str, origin: str, method: str, headers: str = "") -> requests.Response:
    asked = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        asked["Access-Control-Request-Headers"] = headers
    return requests.options(url, headers=asked, timeout=10)


def test_a_bucket_without_cors_refuses_every_preflight(gateway):  # noqa: F811
    """S3 User Guide, "Troubleshooting CORS" (403 Forbidden: "CORS is not enabled for this bucket"): a
    bucket with no CORS configuration answers a preflight with 403 AccessForbidden, for objects and for
    the bucket itself; once a rule is put, the same preflight passes."""
    s3 = owner(gateway)
    new_bucket(s3, "plain")
    for path in ("plain/some/key", "plain"):
        refused = preflight(f"{gateway.url}/{path}", "http://app.example", "PUT")
        error = aws_error(refused)
        assert (error["status"], error["Code"]) == (403, "AccessForbidden")
        assert error["Message"] == "CORSResponse: CORS is not enabled for this bucket."
        assert error["Method"] == "PUT"
    assert aws_error(preflight(f"{gateway.url}/plain/k", "http://app.example", "GET"))["status"] == 403
    s3.put_bucket_cors(
        Bucket="plain",
        CORSConfiguration={
            "CORSRules": [{"AllowedMethods": ["PUT"], "AllowedOrigins": ["http://app.example"]}]
        },
    )
    allowed = preflight(f"{gateway.url}/plain/some/key", "http://app.example", "PUT")
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://app.example"
    s3.delete_bucket_cors(Bucket="plain")
    assert preflight(f"{gateway.url}/plain/some/key", "http://app.example", "PUT").status_code == 403


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://www.example.com", True),
        ("http://a.b.example.com", True),  # `*` spans dots
        ("http://.example.com", True),  # `*` matches an empty run too
        ("https://www.example.com", False),  # the scheme is part of the pattern
        ("http://www.example.com.evil.test", False),  # the whole origin must match
        ("http://www.example.org", False),
        ("http://exampleXcom", False),
    ],
)
def test_wildcard_origins_match_as_s3_matches_them(gateway, origin, allowed):  # noqa: F811
    """S3 User Guide, "CORS configuration" (AllowedOrigin): "The origin string can contain only one *
    wildcard character, such as http://*.example.com"; the rest of the pattern matches literally."""
    s3 = owner(gateway)
    new_bucket(s3, "wild")
    s3.put_bucket_cors(
        Bucket="wild",
        CORSConfiguration={"CORSRules": [
            {"AllowedMethods": ["GET"], "AllowedOrigins": ["http://*.example.com"]},
            {"AllowedMethods": ["GET"], "AllowedOrigins": ["http://example?com"]},  # `?` is no wildcard
        ]},
    )
    answer = preflight(f"{gateway.url}/wild/k", origin, "GET")
    assert answer.status_code == (200 if allowed else 403), answer.text
    if not allowed:
        assert aws_error(answer)["Code"] == "AccessForbidden"


def test_a_literal_question_mark_origin_matches_only_itself(gateway):  # noqa: F811
    """S3 User Guide, "CORS configuration": only `*` is a wildcard in AllowedOrigin."""
    s3 = owner(gateway)
    new_bucket(s3, "literal")
    s3.put_bucket_cors(
        Bucket="literal",
        CORSConfiguration={"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["http://a?.test"]}]},
    )
    assert preflight(f"{gateway.url}/literal/k", "http://a?.test", "GET").status_code == 200
    assert preflight(f"{gateway.url}/literal/k", "http://ab.test", "GET").status_code == 403


def test_access_moto_keeps_motos_allow_all_preflight():
    """GATEWAY_ACCESS=moto: who may call cross-origin is not decided, so a bucket without CORS rules still
    answers preflights with Moto's allow-all; a bucket with rules still follows them."""
    server = start({"GATEWAY_ACCESS": "moto"})
    try:
        s3 = owner(server)
        new_bucket(s3, "open")
        assert preflight(f"{server.url}/open/k", "http://app.example", "PUT").status_code == 200
        s3.put_bucket_cors(
            Bucket="open",
            CORSConfiguration={
                "CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["http://app.example"]}]
            },
        )
        assert preflight(f"{server.url}/open/k", "http://app.example", "PUT").status_code == 403
        s3.put_object(Bucket="open", Key="k", Body=b"x")
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "open", "Key": "k"})
        other = requests.get(url, headers={"Origin": "http://other.example"}, timeout=10)
        assert other.headers["Access-Control-Allow-Origin"] == "http://other.example"  # Moto's allow-all
    finally:
        server.stop()


CORS_NAMES = (
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Expose-Headers",
    "Access-Control-Max-Age",
    "Access-Control-Allow-Credentials",
)


def cors_of(answer: requests.Response) -> dict[str, str]:
    return {name: answer.headers[name] for name in (*CORS_NAMES, "Vary") if name in answer.headers}


def test_actual_requests_carry_cors_headers_only_where_a_rule_matches(gateway):  # noqa: F811
    """S3 API Reference, "Common Response Headers"
    (https://docs.aws.amazon.com/AmazonS3/latest/API/RESTCommonResponseHeaders.html):
    `Access-Control-Allow-Origin` is sent "only when the CORS evaluation is successful", `*` when the origin
    matched a `*` AllowedOrigin; `Access-Control-Allow-Credentials` is `true` unless the origin is `*`;
    `Access-Control-Allow-Methods`, `-Expose-Headers`, `-Max-Age` and `Vary` also only on success. S3 User
    Guide, "How does Amazon S3 evaluate the CORS configuration on a bucket?": the first rule whose origin and
    method match the request. No configuration, another origin or another method: no CORS header at all,
    and the request is still served (also an error answer, also a bucket-level request)."""
    s3 = owner(gateway)
    new_bucket(s3, "web")
    new_bucket(s3, "bare")
    s3.put_object(Bucket="web", Key="k", Body=b"data")
    s3.put_object(Bucket="bare", Key="k", Body=b"data")
    s3.put_bucket_cors(
        Bucket="web",
        CORSConfiguration={"CORSRules": [
            {"AllowedMethods": ["GET", "HEAD"], "AllowedOrigins": ["http://app.example"],
             "ExposeHeaders": ["ETag", "x-amz-request-id"], "MaxAgeSeconds": 300},
            {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]},
        ]},
    )

    def get(bucket: str, origin: str, key: str = "k") -> requests.Response:
        url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key})
        return requests.get(url, headers={"Origin": origin}, timeout=10)

    matched = get("web", "http://app.example")
    assert matched.status_code == 200 and matched.content == b"data"
    assert cors_of(matched) == {
        "Access-Control-Allow-Origin": "http://app.example",
        "Access-Control-Allow-Methods": "GET, HEAD",
        "Access-Control-Expose-Headers": "ETag, x-amz-request-id",
        "Access-Control-Max-Age": "300",
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
    }
    anyone = get("web", "http://elsewhere.example")
    assert anyone.status_code == 200
    assert cors_of(anyone) == {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "GET",
        "Vary": "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
    }
    missing = get("web", "http://app.example", key="nothing-here")
    assert missing.status_code == 404
    assert missing.headers["Access-Control-Allow-Origin"] == "http://app.example"
    unmatched_method = requests.put(
        s3.generate_presigned_url("put_object", Params={"Bucket": "web", "Key": "new"}),
        data=b"x", headers={"Origin": "http://app.example"}, timeout=10,
    )
    assert unmatched_method.status_code == 200
    assert cors_of(unmatched_method) == {}
    no_configuration = get("bare", "http://app.example")
    assert no_configuration.status_code == 200 and no_configuration.content == b"data"
    assert cors_of(no_configuration) == {}
    refused = get("bare", "http://app.example", key="nothing-here")
    assert refused.status_code in (403, 404)
    assert cors_of(refused) == {}
    listing = requests.get(
        s3.generate_presigned_url("list_objects_v2", Params={"Bucket": "bare"}),
        headers={"Origin": "http://app.example"}, timeout=10,
    )
    assert listing.status_code == 200 and cors_of(listing) == {}
