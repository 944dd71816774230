"""CORS preflights answer as S3 does: only a bucket's CORS rules allow one, wildcard origins match as S3
matches them; GATEWAY_ACCESS=moto keeps Moto's allow-all preflight."""

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
    finally:
        server.stop()
