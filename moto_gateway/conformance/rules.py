"""S3's answers, decided from the request and a few facts about the bucket (pure functions).

References (S3 API Reference): ListObjects / ListObjectsV2 / ListObjectVersions / ListMultipartUploads /
ListParts (max-keys, max-uploads, max-parts, encoding-type), CompleteMultipartUpload (a body with at least
one Part; NoSuchUpload; If-None-Match / If-Match), PutObject and UploadPart (x-amz-checksum-*), "Error
responses"; S3 User Guide, "How does Amazon S3 evaluate the CORS configuration on a bucket?".
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from moto_gateway.errors import S3Error, invalid_argument

def check_listing(method: str, key: str, params: Mapping[str, str]) -> None:
    """encoding-type is `url` (max-keys & co are judged for every request by body_checks.integer_problem)."""
    if method not in ("GET", "HEAD"):
        return
    if "encoding-type" in params and params["encoding-type"].lower() != "url" and key == "":
        raise invalid_argument(
            "Invalid Encoding Method specified in Request", "encoding-type", params["encoding-type"]
        )


def malformed_xml() -> S3Error:
    return S3Error(
        400,
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
    )


def no_such_upload(upload_id: str) -> S3Error:
    return S3Error(
        404,
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
        "aborted or completed.",
        [("UploadId", upload_id)],
    )


def precondition_failed(condition: str) -> S3Error:
    return S3Error(
        412,
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
        [("Condition", condition)],
    )


PART_RE = re.compile(rb"<(?:[A-Za-z0-9_]+:)?Part[\s>]")


def check_complete_body(body: bytes) -> None:
    """A CompleteMultipartUpload names at least one part (S3: MalformedXML otherwise)."""
    if not PART_RE.search(body):
        raise malformed_xml()


def check_write_conditions(headers: Mapping[str, str], current_etag: str | None) -> None:
    """If-None-Match: * fails over an existing key; If-Match needs the key, with that ETag."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None and if_none_match.strip() == "*" and current_etag is not None:
        raise precondition_failed("If-None-Match")
    if_match = headers.get("if-match")
    if if_match is not None:
        if current_etag is None:
            raise S3Error(404, "NoSuchKey", "The specified key does not exist.")
        wanted = {tag.strip().strip('"') for tag in if_match.split(",")}
        if "*" not in wanted and current_etag.strip('"') not in wanted:
            raise precondition_failed("If-Match")


# ----- checksums ----------------------------------------------------------------------------------------


@dataclass
class Checksum:
    algorithm: str  # as S3 names it in messages: CRC32, SHA1, SHA256
    header: str
    expected: bytes
    digest: object

    def update(self, chunk: bytes) -> None:
        if self.algorithm == "CRC32":
            self.digest = zlib.crc32(chunk, self.digest)
        else:
            self.digest.update(chunk)

    def value(self) -> bytes:
        if self.algorithm == "CRC32":
            return self.digest.to_bytes(4, "big")
        return self.digest.digest()


CHECKSUMS = {"x-amz-checksum-crc32": ("CRC32", 4), "x-amz-checksum-sha1": ("SHA1", 20),
             "x-amz-checksum-sha256": ("SHA256", 32)}


def requested_checksums(headers: Mapping[str, str]) -> list[Checksum]:
    """The checksums a PUT body must match (CRC32, SHA1, SHA256; CRC32C and CRC64NVME are left to Moto)."""
    found = []
    for header, (algorithm, size) in CHECKSUMS.items():
        if header not in headers:
            continue
        try:
            expected = base64.b64decode(headers[header], validate=True)
        except (binascii.Error, ValueError):
            expected = b""
        if len(expected) != size:
            raise S3Error(400, "InvalidRequest", f"Value for {header} header is invalid.")
        digest = 0 if algorithm == "CRC32" else hashlib.new(algorithm.lower())
        found.append(Checksum(algorithm, header, expected, digest))
    return found


def checksum_mismatch(checksum: Checksum) -> S3Error:
    return S3Error(
        400, "BadDigest", f"The {checksum.algorithm} you specified did not match the calculated checksum."
    )


# ----- CORS ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CorsRule:
    methods: Sequence[str]
    origins: Sequence[str]
    headers: Sequence[str]


def wildcard_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def preflight_allowed(rules: Sequence[CorsRule], origin: str, method: str, request_headers: str) -> bool:
    """The first rule whose origin, method and every requested header match allows the preflight."""
    wanted = [h.strip() for h in request_headers.split(",") if h.strip()]
    for rule in rules:
        if not any(wildcard_match(o, origin) for o in rule.origins):
            continue
        if method not in rule.methods:
            continue
        if all(any(wildcard_match(a, h, ignore_case=True) for a in rule.headers) for h in wanted):
            return True
    return False


def cors_forbidden(method: str) -> S3Error:
    return S3Error(
        403,
        "AccessForbidden",
        "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, "
        "request method / Access-Control-Request-Method or Access-Control-Request-Headers are not "
        "whitelisted by the resource's CORS spec.",
        [("Method", method), ("ResourceType", "OBJECT")],
    )
