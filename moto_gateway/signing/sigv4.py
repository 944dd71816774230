"""Signature Version 4 pieces, built the way botocore builds them for S3 (no path normalisation)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, unquote_to_bytes

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# Whole-value patterns: always used with fullmatch ('$' would also match before a trailing newline),
# and ASCII digits only (`\d` matches every Unicode digit, which int() would then accept).
AMZ_DATE_RE = re.compile(r"[0-9]{8}T[0-9]{6}Z")
CREDENTIAL_DATE_RE = re.compile(r"[0-9]{8}")
SHA256_HEX_RE = re.compile(r"[0-9a-fA-F]{64}")


def canonical_uri(raw_path: str) -> str:
    """The path as S3 signs it: decoded once, then every byte but unreserved ones and '/' percent-encoded."""
    return quote(unquote_to_bytes(raw_path), safe="/")


UNRESERVED_RE = re.compile(rb"[A-Za-z0-9_.~-]*")


def uri_encode(data: bytes) -> str:
    """S3's URI encoding of a query name or value: every byte but unreserved ones as %XX."""
    if UNRESERVED_RE.fullmatch(data):
        return data.decode("ascii")
    return quote(data, safe="-_.~")


def canonical_query_string(pairs: Sequence[tuple[bytes, bytes]], exclude: str | None = None) -> str:
    """Every parameter but `exclude`, URI-encoded, sorted by name then value, `name=value` joined by '&'."""
    skip = exclude.encode() if exclude else None
    encoded = sorted((uri_encode(name), uri_encode(value)) for name, value in pairs if name != skip)
    return "&".join(f"{name}={value}" for name, value in encoded)


def trim_header_value(value: str) -> str:
    return " ".join(value.split())


def canonical_headers(signed_headers: Sequence[str], headers: Mapping[str, str]) -> str:
    """`name:value` lines for the signed headers, in the order signed; absent headers sign as empty."""
    return "".join(f"{name}:{trim_header_value(headers.get(name, ''))}\n" for name in signed_headers)


def canonical_request(
    method: str,
    uri: str,
    query: str,
    signed_headers: Sequence[str],
    headers: Mapping[str, str],
    payload_hash: str,
) -> str:
    return "\n".join(
        [
            method.upper(),
            uri,
            query,
            canonical_headers(signed_headers, headers),
            ";".join(signed_headers),
            payload_hash,
        ]
    )


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    return "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()])


@lru_cache(maxsize=64)
def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    key = hmac.new(f"AWS4{secret_key}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def sign(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Credential:
    """`AKID/YYYYMMDD/region/service/aws4_request` taken apart."""

    access_key: str
    date: str
    region: str
    service: str
    terminal: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/{self.terminal}"


def split_credential(value: str) -> Credential | None:
    """The five parts, or None when there are not five (checked later by `credential_problem`)."""
    parts = value.split("/")
    if len(parts) != 5:
        return None
    return Credential(*parts)


def credential_problem(credential: Credential | None) -> str | None:
    """What is wrong with a credential, in AWS's words (without the prefix each context adds), or None."""
    if credential is None:
        return 'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
    if not credential.access_key:
        return "a non-empty Access Key (AKID) must be provided in the credential."
    if not CREDENTIAL_DATE_RE.fullmatch(credential.date):
        return (
            f'incorrect date format "{credential.date}". '
            'This date in the credential must be in the format "yyyyMMdd".'
        )
    if credential.service != "s3":
        return f'incorrect service "{credential.service}". This endpoint belongs to "s3".'
    if credential.terminal != "aws4_request":
        return f'incorrect terminal "{credential.terminal}". This endpoint uses "aws4_request".'
    return None
