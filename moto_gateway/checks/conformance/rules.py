"""S3's answers, decided from the request and a few facts about the bucket (pure functions).

References (S3 API Reference): ListObjects / ListObjectsV2 / ListObjectVersions / ListMultipartUploads /
ListParts (max-keys, max-uploads, max-parts, encoding-type), CompleteMultipartUpload (a body with at least
one Part; NoSuchUpload), GetObject / HeadObject (partNumber), PutObject and
UploadPart (x-amz-checksum-*), CreateMultipartUpload (x-amz-checksum-type), "Error responses"; S3 User
Guide, "Checking object integrity", "How does Amazon S3 evaluate the CORS configuration on a bucket?".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import anycrc
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from moto_gateway.state.to_moto import CompletionChecksums
from moto_gateway.wsgi.errors import S3Error, invalid_argument
from moto_gateway.wsgi.xml import local_name, malformed_xml

def check_listing(method: str, key: str, params: Mapping[str, str]) -> None:
    """encoding-type is `url` (max-keys & co are judged for every request by body_checks.integer_problem)."""
    if method not in ("GET", "HEAD"):
        return
    if "encoding-type" in params and params["encoding-type"].lower() != "url" and key == "":
        raise invalid_argument(
            "Invalid Encoding Method specified in Request", "encoding-type", params["encoding-type"]
        )


def no_such_upload(upload_id: str) -> S3Error:
    return S3Error(
        404,
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
        "aborted or completed.",
        [("UploadId", upload_id)],
    )


PART_RE = re.compile(rb"<(?:[A-Za-z0-9_]+:)?Part[\s>]")


def check_complete_body(body: bytes) -> None:
    """A CompleteMultipartUpload names at least one part (S3: MalformedXML otherwise)."""
    if not PART_RE.search(body):
        raise malformed_xml()


PART_CHECKSUM_ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")


def completion_checksums(body: bytes, headers: Mapping[str, str]) -> CompletionChecksums:
    """The checksums a CompleteMultipartUpload names (a body that does not parse names none: Moto and the
    body checks answer it)."""
    whole = {
        algorithm: headers[header].strip()
        for header, (algorithm, _size) in CHECKSUMS.items()
        if header in headers
    }
    parts: dict[int, dict[str, str]] = {}
    try:
        root = fromstring(body)
    except (ParseError, DefusedXmlException, ValueError):
        return CompletionChecksums(parts, whole)
    for part in root.iter():
        if local_name(part.tag) != "Part":
            continue
        fields = {local_name(child.tag): (child.text or "").strip() for child in part}
        if not fields.get("PartNumber", "").isdigit():
            continue
        named = {
            algorithm: fields[f"Checksum{algorithm}"]
            for algorithm in PART_CHECKSUM_ALGORITHMS
            if f"Checksum{algorithm}" in fields
        }
        if named:
            parts[int(fields["PartNumber"])] = named
    return CompletionChecksums(parts, whole)


def check_part_read(part_number: int, has_range: bool, part_count: int | None) -> None:
    """GetObject / HeadObject with partNumber: not with a Range, and only a part the object has (an object
    uploaded in one piece has one part)."""
    if has_range:
        raise S3Error(
            400, "InvalidRequest", "Cannot specify both Range header and partNumber query parameter"
        )
    if part_count is not None and part_number > part_count:
        raise S3Error(
            416,
            "InvalidPartNumber",
            "The requested partnumber is not satisfiable",
            [("PartNumberRequested", str(part_number)), ("ActualPartCount", str(part_count))],
        )


COPY_RANGE_RE = re.compile(r"bytes=(\d{1,19})-(\d{1,19})")


def check_copy_source_range(value: str, source_size: int | None) -> None:
    """UploadPartCopy's x-amz-copy-source-range is `bytes=first-last` (zero-based, first <= last): anything
    else is 400 InvalidArgument; a range past the source's end is InvalidRange (S3 API Reference,
    UploadPartCopy; s3-tests test_multipart_copy_improper_range / _invalid_range)."""
    found = COPY_RANGE_RE.fullmatch(value.strip())
    if found is None or int(found.group(1)) > int(found.group(2)):
        raise invalid_argument(
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are "
            "the zero-based offsets of the first and last bytes to copy",
            "x-amz-copy-source-range",
            value,
        )
    if source_size is not None and int(found.group(2)) >= source_size:
        raise S3Error(
            416,
            "InvalidRange",
            "The requested range is not satisfiable",
            [("RangeRequested", value), ("ActualObjectSize", str(source_size))],
        )


# ----- checksums ----------------------------------------------------------------------------------------


class Crc:
    """CRC32 (zlib), CRC32C and CRC64NVME (anycrc), fed chunk by chunk; an empty body's CRC is 0."""

    def __init__(self, algorithm: str):
        self.model = None if algorithm == "CRC32" else anycrc.Model(CRC_MODELS[algorithm])
        self.crc: int | None = None

    def update(self, chunk: bytes) -> None:
        if not chunk:
            return
        if self.model is None:
            self.crc = zlib.crc32(chunk, self.crc or 0)
        else:
            self.crc = self.model.calc(chunk) if self.crc is None else self.model.calc(chunk, self.crc)

    def digest(self) -> int:
        return self.crc or 0


CRC_MODELS = {"CRC32C": "CRC32C", "CRC64NVME": "CRC64-NVME"}


@dataclass
class Checksum:
    algorithm: str  # as S3 names it in messages: CRC32, CRC32C, CRC64NVME, SHA1, SHA256
    header: str
    expected: bytes
    digest: object

    def update(self, chunk: bytes) -> None:
        self.digest.update(chunk)

    def value(self) -> bytes:
        if isinstance(self.digest, Crc):
            return self.digest.digest().to_bytes(len(self.expected), "big")
        return self.digest.digest()


CHECKSUMS = {
    "x-amz-checksum-crc32": ("CRC32", 4),
    "x-amz-checksum-crc32c": ("CRC32C", 4),
    "x-amz-checksum-crc64nvme": ("CRC64NVME", 8),
    "x-amz-checksum-sha1": ("SHA1", 20),
    "x-amz-checksum-sha256": ("SHA256", 32),
}


def new_digest(algorithm: str):
    """A running digest of `algorithm` (as S3 names it) with update() and digest()."""
    return hashlib.new(algorithm.lower()) if algorithm.startswith("SHA") else Crc(algorithm)


def requested_checksums(headers: Mapping[str, str]) -> list[Checksum]:
    """The checksums a PUT body must match (every algorithm S3 offers)."""
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
        found.append(Checksum(algorithm, header, expected, new_digest(algorithm)))
    return found


FULL_OBJECT_ALGORITHMS = frozenset({"CRC32", "CRC32C", "CRC64NVME"})
COMPOSITE_ALGORITHMS = frozenset({"CRC32", "CRC32C", "SHA1", "SHA256"})


def check_checksum_type(headers: Mapping[str, str]) -> None:
    """CreateMultipartUpload: FULL_OBJECT needs a CRC, COMPOSITE is not offered for CRC64NVME (S3 User Guide,
    "Checking object integrity", the table of checksum types per algorithm)."""
    checksum_type = headers.get("x-amz-checksum-type", "").upper()
    algorithm = headers.get("x-amz-checksum-algorithm", "").upper()
    if not checksum_type:
        return
    if checksum_type not in ("FULL_OBJECT", "COMPOSITE"):
        raise invalid_argument(
            "Value for x-amz-checksum-type header is invalid.", "x-amz-checksum-type", checksum_type
        )
    allowed = FULL_OBJECT_ALGORITHMS if checksum_type == "FULL_OBJECT" else COMPOSITE_ALGORITHMS
    if not algorithm or algorithm not in allowed:
        raise S3Error(
            400,
            "InvalidRequest",
            f"The {checksum_type} checksum type cannot be used with the {algorithm.lower() or 'default'} "
            "checksum algorithm.",
        )


def check_checksum_headers(headers: Mapping[str, str], upload_algorithm: str | None = None) -> None:
    """PutObject / UploadPart's checksum headers (S3 User Guide, "Checking object integrity"; S3 API
    Reference, UploadPart): one x-amz-checksum-* header at most; an x-amz-sdk-checksum-algorithm needs the
    checksum it names, in a header or a trailer; a part's checksum is of its upload's algorithm (400
    InvalidRequest)."""
    named = [header for header in CHECKSUMS if header in headers]
    if len(named) > 1:
        raise S3Error(
            400,
            "InvalidRequest",
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        )
    trailer = headers.get("x-amz-trailer", "").strip().lower()
    if headers.get("x-amz-sdk-checksum-algorithm") and not named and not trailer:
        raise S3Error(
            400,
            "InvalidRequest",
            "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer "
            "headers were found.",
        )
    sent = CHECKSUMS[named[0]][0] if named else CHECKSUMS.get(trailer, (None, 0))[0]
    if upload_algorithm and sent and sent != upload_algorithm.upper():
        raise S3Error(
            400,
            "InvalidRequest",
            f"Checksum Type mismatch occurred, expected checksum Type: {upload_algorithm.lower()}, actual "
            f"checksum Type: {sent.lower()}",
        )


def upload_checksum_type(metadata: Mapping[str, str]) -> str | None:
    """The checksum type of a multipart upload: as CreateMultipartUpload named it, else COMPOSITE, or
    FULL_OBJECT for CRC64NVME, which has no composite form (None: the upload has no checksum algorithm)."""
    algorithm = (metadata.get("x-amz-checksum-algorithm") or "").upper()
    if not algorithm:
        return None
    return (metadata.get("x-amz-checksum-type") or "").upper() or (
        "FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE"
    )


def check_part_checksums_listed(body: bytes, metadata: Mapping[str, str]) -> None:
    """CompleteMultipartUpload of a COMPOSITE upload names each part's checksum (S3 User Guide, "Checking
    object integrity", Using part-level checksums for multipart uploads: the object's checksum is made of
    them): a part without one is 400 InvalidRequest."""
    if upload_checksum_type(metadata) != "COMPOSITE":
        return
    algorithm = metadata["x-amz-checksum-algorithm"].upper()
    try:
        root = fromstring(body)
    except (ParseError, DefusedXmlException, ValueError):
        return  # Moto and the body checks answer it
    for part in root.iter():
        if local_name(part.tag) != "Part":
            continue
        fields = {local_name(child.tag): (child.text or "").strip() for child in part}
        if fields.get(f"Checksum{algorithm}"):
            continue
        raise S3Error(
            400,
            "InvalidRequest",
            f"The upload was created using a {algorithm.lower()} checksum. The complete request must include "
            f"the checksum for each part. It was missing for part {fields.get('PartNumber', '')} in the "
            "request.",
        )


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
    """`*` matches any run of characters (also dots: `http://*.example.com` matches `http://a.b.example.com`);
    every other character, `?` and `[` too, only itself."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


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


def check_preflight_headers(origin: str | None, method: str | None) -> None:
    """A preflight (OPTIONS object) names its Origin and its Access-Control-Request-Method (S3 API Reference,
    OPTIONS object, "Request Headers": both required); without them S3 answers 400 BadRequest, as s3-tests'
    presigned-URL preflights expect, where Moto answered 200."""
    if not origin:
        raise S3Error(400, "BadRequest", "Insufficient information. Origin request header needed.")
    if not method:
        raise S3Error(400, "BadRequest", "Invalid Access-Control-Request-Method: null")


def cors_not_enabled(method: str, resource_type: str) -> S3Error:
    """A preflight to a bucket that has no CORS configuration (Moto answered it with allow-all)."""
    return S3Error(
        403,
        "AccessForbidden",
        "CORSResponse: CORS is not enabled for this bucket.",
        [("Method", method), ("ResourceType", resource_type)],
    )


def cors_forbidden(method: str) -> S3Error:
    return S3Error(
        403,
        "AccessForbidden",
        "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, "
        "request method / Access-Control-Request-Method or Access-Control-Request-Headers are not "
        "whitelisted by the resource's CORS spec.",
        [("Method", method), ("ResourceType", "OBJECT")],
    )
