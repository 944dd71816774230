"""Signature Version 2 (HMAC-SHA1) pieces, built the way botocore's HmacV1 signers build them for S3."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence

# The sub-resources that belong to the signed resource (botocore's HmacV1Auth.QSAOfInterest).
SUB_RESOURCES = frozenset(
    """accelerate acl cors defaultObjectAcl location logging partNumber policy requestPayment torrent
    versioning versionId versions website uploads uploadId response-content-type response-content-language
    response-expires response-cache-control response-content-disposition response-content-encoding delete
    lifecycle tagging restore storageClass notification replication analytics metrics inventory select
    select-type object-lock""".split()
)


def canonical_resource(path: str, query: Sequence[tuple[str, str]]) -> str:
    """`/bucket/key` plus the sub-resources of the query, sorted, with decoded values."""
    sub = sorted((name, value) for name, value in query if name in SUB_RESOURCES)
    if not sub:
        return path
    return path + "?" + "&".join(f"{name}={value}" if value else name for name, value in sub)


def canonical_amz_headers(amz_headers: Mapping[str, str]) -> str:
    """`x-amz-name:value\n` lines, names lowercased and sorted."""
    lowered = {name.lower(): value.strip() for name, value in amz_headers.items()}
    return "".join(f"{name}:{lowered[name]}\n" for name in sorted(lowered))


def string_to_sign(
    method: str,
    content_md5: str,
    content_type: str,
    date_or_expires: str,
    amz_headers: Mapping[str, str],
    resource: str,
) -> str:
    return (
        f"{method.upper()}\n{content_md5.strip()}\n{content_type.strip()}\n{date_or_expires}\n"
        f"{canonical_amz_headers(amz_headers)}{resource}"
    )


def sign(secret_key: str, text: str) -> str:
    digest = hmac.new(secret_key.encode("utf-8"), text.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")
