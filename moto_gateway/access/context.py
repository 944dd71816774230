"""The condition keys of a request (IAM "request context"): global aws:* keys and S3's s3:* keys.

Only keys the request actually carries are present, so that a condition on a missing key is false (or
true for a negated operator, or for ...IfExists), as IAM evaluates it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from urllib.parse import parse_qsl

from moto_gateway.signing.keyring import Account

S3_HEADER_KEYS = (
    "x-amz-acl",
    "x-amz-copy-source",
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-storage-class",
    "x-amz-metadata-directive",
    "x-amz-grant-read",
    "x-amz-grant-write",
    "x-amz-grant-read-acp",
    "x-amz-grant-write-acp",
    "x-amz-grant-full-control",
    "x-amz-content-sha256",
    "x-amz-object-lock-mode",
    "x-amz-object-lock-retain-until-date",
    "x-amz-object-lock-legal-hold",
)
S3_QUERY_KEYS = {"prefix": "s3:prefix", "delimiter": "s3:delimiter", "max-keys": "s3:max-keys",
                 "versionId": "s3:versionid"}


def condition_keys(
    *,
    principal: Account | None,
    headers: Mapping[str, str],
    params: Mapping[str, str],
    auth: str | None,
    signature_version: str | None,
    source_ip: str,
    now: float,
    existing_tags: Mapping[str, str] | None,
) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {
        "aws:sourceip": [source_ip],
        "aws:securetransport": ["false"],
        "aws:currenttime": [datetime.fromtimestamp(now, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")],
        "aws:epochtime": [str(int(now))],
    }
    if principal is not None:
        keys["aws:principalaccount"] = [principal.account_id]
        keys["aws:principalarn"] = [principal.root_arn]
        keys["aws:userid"] = [principal.account_id]
        keys["aws:principaltype"] = ["Account"]
    for header, key in (("user-agent", "aws:useragent"), ("referer", "aws:referer")):
        if header in headers:
            keys[key] = [headers[header]]
    for header in S3_HEADER_KEYS:
        if header in headers:
            keys[f"s3:{header}"] = [headers[header]]
    for param, key in S3_QUERY_KEYS.items():
        if param in params:
            keys[key] = [params[param]]
    if auth is not None:
        keys["s3:authtype"] = [auth]
    if signature_version is not None:
        keys["s3:signatureversion"] = [signature_version]
    if "x-amz-tagging" in headers:
        tags = parse_qsl(headers["x-amz-tagging"], keep_blank_values=True)
        for name, value in tags:
            keys[f"s3:requestobjecttag/{name.lower()}"] = [value]
        keys["s3:requestobjecttagkeys"] = [name for name, _ in tags]
    for name, value in (existing_tags or {}).items():
        keys[f"s3:existingobjecttag/{name.lower()}"] = [value]
    return keys
