"""The bulk format: a POSIX (pax) tar stream of buckets and objects, read and written in bounded memory.

One archive holds, per bucket, a directory member `<bucket>/` and then one regular file `<bucket>/<key>`
per object. What S3 knows besides the bytes travels in pax extended-header records named
`SCHILY.xattr.user.s3.<field>`, the keyword GNU tar and bsdtar use for extended attributes, so that
`tar -xf` unpacks an archive quietly and `tar --xattrs -xf` keeps the fields as `user.s3.*` attributes:

    bucket member:  region, cors (the CORS rules as JSON, in boto3's get_bucket_cors shape)
    object member:  content-type, content-encoding, cache-control, content-disposition,
                    content-language, expires, etag (informational), meta.<name> (x-amz-meta-<name>)

Reading and writing are a small encoder and a linear parser of our own rather than `tarfile`: its pax
parser backtracks on hostile headers (seconds of CPU for 64 KiB) and its encoder costs ten times ours.
Headers are capped, object bytes are never held, and any archive written by GNU tar, bsdtar or tarfile
in ustar, GNU or pax format reads; what we write, `tar` and `tarfile` read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

BLOCK = 512
PAX_PREFIX = "SCHILY.xattr.user.s3."
META_PREFIX = "meta."
CONTENT_HEADERS = (
    "content-type",
    "content-encoding",
    "cache-control",
    "content-disposition",
    "content-language",
    "expires",
)
MAX_EXTENDED_HEADER = 1024 * 1024
"""Largest pax or GNU long-name header accepted: keys are at most 1 KiB, metadata 2 KiB, CORS 64 KiB."""
CONTENT_TYPE = "application/x-tar"


class ArchiveError(ValueError):
    """The stream is not a tar archive we can read (or ends in the middle of one)."""


@dataclass(frozen=True)
class BucketEntry:
    name: str
    region: str | None = None
    cors: list[dict] | None = None


@dataclass(frozen=True)
class ObjectEntry:
    bucket: str
    key: str
    size: int
    headers: dict[str, str] = field(default_factory=dict)
    """Content-Type and the other CONTENT_HEADERS present, by lowercase HTTP name."""
    metadata: dict[str, str] = field(default_factory=dict)
    """User metadata, by name without `x-amz-meta-`."""
    etag: str | None = None
    mtime: int = 0


@dataclass(frozen=True)
class SkippedEntry:
    """A member that is neither a bucket nor an object (a link, a device, a folder inside a bucket...)."""

    name: str
    reason: str


# -- writing -------------------------------------------------------------------------------------------


def _octal(value: int, width: int) -> bytes:
    return b"%0*o\0" % (width - 1, value)


def _pax_record(keyword: str, value: str) -> bytes:
    """`<length> <keyword>=<value>\\n`, where the length counts its own digits."""
    payload = b" " + keyword.encode("utf-8") + b"=" + value.encode("utf-8", "surrogateescape") + b"\n"
    size = len(payload)
    digits = len(str(size + 1))
    if len(str(size + digits)) != digits:
        digits += 1
    return b"%d" % (size + digits) + payload


_IDS = b"0000000\x00" * 2
_TAIL = b"ustar\x0000" + bytes(32 + 32 + 8 + 8 + 155 + 12)
_ZEROS = bytes(100)
_CONSTANT_SUM = sum(_IDS) + 8 * 0x20 + sum(_TAIL)
"""uid, gid, the checksum field counted as spaces, and everything from the link name on."""


def _ustar(name: bytes, size: int, mtime: int, mode: int, typeflag: bytes) -> bytes:
    """A ustar header, its checksum summed from its fields (an export writes two per object: profiled)."""
    name = name[:100]
    mode_field = b"%07o\0" % mode
    size_field = b"%011o\0" % size if size < 8**11 else b"\x80" + size.to_bytes(11, "big")
    mtime_field = b"%011o\0" % max(0, min(mtime, 8**11 - 1))
    checksum = _CONSTANT_SUM + sum(name) + sum(mode_field) + sum(size_field) + sum(mtime_field) + typeflag[0]
    return b"".join(
        (name, _ZEROS[len(name) :], mode_field, _IDS, size_field, mtime_field, b"%06o\0 " % checksum, typeflag,
         _ZEROS, _TAIL)
    )


def _member_header(name: str, size: int, mtime: int, mode: int, typeflag: bytes, fields: dict[str, str]) -> bytes:
    """A pax extended header (path, size when too large for ustar, our fields), then the ustar header."""
    records = _pax_record("path", name)
    if size >= 8**11:
        records += _pax_record("size", str(size))
    records += b"".join(_pax_record(keyword, value) for keyword, value in fields.items())
    ascii_name = name.encode("ascii", "replace")
    extended = _ustar(b"PaxHeader/" + ascii_name[-80:], len(records), mtime, 0o644, b"x")
    return extended + records + padding(len(records)) + _ustar(ascii_name, size, mtime, mode, typeflag)


def bucket_header(entry: BucketEntry) -> bytes:
    fields = {}
    if entry.region:
        fields[PAX_PREFIX + "region"] = entry.region
    if entry.cors:
        fields[PAX_PREFIX + "cors"] = json.dumps(entry.cors, separators=(",", ":"))
    return _member_header(entry.name + "/", 0, 0, 0o755, b"5", fields)


def object_header(entry: ObjectEntry) -> bytes:
    fields = {PAX_PREFIX + name: value for name, value in entry.headers.items() if name in CONTENT_HEADERS}
    fields.update({PAX_PREFIX + META_PREFIX + name: value for name, value in entry.metadata.items()})
    if entry.etag:
        fields[PAX_PREFIX + "etag"] = entry.etag
    return _member_header(f"{entry.bucket}/{entry.key}", entry.size, int(entry.mtime), 0o644, b"0", fields)


def padding(size: int) -> bytes:
    return bytes(-size % BLOCK)


END_OF_ARCHIVE = bytes(2 * BLOCK)


def write_archive(members: Iterable[BucketEntry | tuple[ObjectEntry, Iterable[bytes]]]) -> Iterator[bytes]:
    """The archive as chunks: each bucket, each object with its body's chunks, then the end marker.

    Raises ArchiveError when a body's chunks do not add up to the size its entry declared: the header
    has gone out already, so the stream must end there (its reader sees a truncated archive).
    """
    for member in members:
        if isinstance(member, BucketEntry):
            yield bucket_header(member)
            continue
        entry, chunks = member
        yield object_header(entry)
        written = 0
        for chunk in chunks:
            written += len(chunk)
            if written > entry.size:
                raise ArchiveError(f"{entry.bucket}/{entry.key} grew past {entry.size} bytes while being read")
            yield chunk
        if written != entry.size:
            raise ArchiveError(f"{entry.bucket}/{entry.key} gave {written} of {entry.size} bytes")
        yield padding(entry.size)
    yield END_OF_ARCHIVE


def coalesced(chunks: Iterable[bytes], size: int = 256 * 1024) -> Iterator[bytes]:
    """The same bytes in pieces of about `size`: a small object's header, body and padding would otherwise
    each be one chunk of HTTP chunked encoding (a write and a parse on each side). Holds at most `size`
    plus one chunk."""
    held: list[bytes] = []
    length = 0
    for chunk in chunks:
        if not held and len(chunk) >= size:
            yield chunk
            continue
        held.append(chunk)
        length += len(chunk)
        if length >= size:
            yield b"".join(held)
            held, length = [], 0
    if held:
        yield b"".join(held)


# -- reading -------------------------------------------------------------------------------------------


def read_exact(stream: BinaryIO, size: int) -> bytes:
    first = stream.read(size)
    if len(first) == size or not first:
        return first
    chunks = [first]
    size -= len(first)
    while size > 0:
        chunk = stream.read(size)
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def skip(stream: BinaryIO, size: int) -> None:
    while size > 0:
        chunk = stream.read(min(size, 1024 * 1024))
        if not chunk:
            raise ArchiveError("the archive ends in the middle of a member")
        size -= len(chunk)


def parse_number(field_bytes: bytes) -> int:
    """A numeric header field: octal text, or base-256 when the first byte has its high bit set."""
    if field_bytes and field_bytes[0] & 0x80:
        value = int.from_bytes(field_bytes[1:], "big")
        return value - (1 << (8 * len(field_bytes) - 1)) if field_bytes[0] & 0x40 else value
    text = field_bytes.split(b"\0", 1)[0].strip(b" \0")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise ArchiveError(f"bad number in a tar header: {text[:20]!r}") from None


def checksum_ok(block: bytes) -> bool:
    """The header's checksum, as tar computes it: unsigned bytes, or (old tars) signed ones."""
    stored = parse_number(block[148:156])
    unsigned = sum(block) - sum(block[148:156]) + 8 * 0x20
    if stored == unsigned:
        return True
    signed = unsigned - 256 * sum(1 for byte in block[:148] + block[156:] if byte > 127)
    return stored == signed


def text(field_bytes: bytes) -> str:
    return field_bytes.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def parse_pax(data: bytes) -> dict[str, str]:
    """pax records `<length> <keyword>=<value>\\n`, in one linear scan."""
    records: dict[str, str] = {}
    position = 0
    while position < len(data):
        if data[position] == 0:  # padding after the last record
            break
        space = data.find(b" ", position, position + 20)
        digits = data[position:space] if space > 0 else b""
        if not digits.isdigit():
            raise ArchiveError("malformed pax header record")
        length = int(digits)
        record = data[position : position + length]
        if length <= space - position + 1 or len(record) != length or not record.endswith(b"\n"):
            raise ArchiveError("malformed pax header record")
        keyword, equals, value = record[space - position + 1 : -1].partition(b"=")
        if not equals:
            raise ArchiveError("malformed pax header record")
        try:
            records[keyword.decode("utf-8")] = value.decode("utf-8")
        except UnicodeDecodeError:
            raise ArchiveError("a pax header record is not UTF-8") from None
        position += length
    return records


class MemberBody:
    """One member's bytes, read straight from the archive stream; valid until the next member is read."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self.stream = stream
        self.remaining = size

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        size = self.remaining if size is None or size < 0 else min(size, self.remaining)
        data = read_exact(self.stream, size)
        if len(data) < size:
            raise ArchiveError("the archive ends in the middle of a member")
        self.remaining -= len(data)
        return data

    def chunks(self, size: int = 1024 * 1024) -> Iterator[bytes]:
        while chunk := self.read(size):
            yield chunk


def split_name(name: str) -> tuple[str, str]:
    """(bucket, key) of a member name; a leading `./` (as `tar -C dir -cf - .` writes) is dropped."""
    while name.startswith("./"):
        name = name[2:]
    if name == ".":
        return "", ""
    bucket, _, key = name.partition("/")
    return bucket, key


def entry_for(name: str, typeflag: bytes, size: int, mtime: int, pax: dict[str, str]):
    fields = {k[len(PAX_PREFIX) :]: v for k, v in pax.items() if k.startswith(PAX_PREFIX)}
    if typeflag in (b"0", b"\0", b"7") and not (typeflag == b"\0" and name.endswith("/")):
        bucket, key = split_name(name)
        if not bucket or not key:
            return SkippedEntry(name, "a file outside any bucket folder")
        return ObjectEntry(
            bucket=bucket,
            key=key,
            size=size,
            headers={header: fields[header] for header in CONTENT_HEADERS if header in fields},
            metadata={k[len(META_PREFIX) :]: v for k, v in fields.items() if k.startswith(META_PREFIX) and len(k) > 5},
            etag=fields.get("etag"),
            mtime=mtime,
        )
    if typeflag == b"5" or typeflag == b"\0":
        bucket, key = split_name(name.rstrip("/"))
        if not bucket or key:
            return SkippedEntry(name, "a folder inside a bucket (folders are implied by keys)")
        cors = None
        if "cors" in fields:
            try:
                cors = json.loads(fields["cors"])
            except ValueError:
                raise ArchiveError(f"the CORS rules of {bucket} are not JSON") from None
            if not isinstance(cors, list) or not all(isinstance(rule, dict) for rule in cors):
                raise ArchiveError(f"the CORS rules of {bucket} are not a list of rules")
        return BucketEntry(bucket, fields.get("region") or None, cors)
    return SkippedEntry(name, f"tar member type {typeflag.decode('latin-1')!r} is neither a file nor a folder")


def read_archive(stream: BinaryIO) -> Iterator[tuple[BucketEntry | ObjectEntry | SkippedEntry, MemberBody | None]]:
    """Each member as (entry, body); body is set for objects only and must be read (or not) before the
    next iteration, which skips what is left of it. Raises ArchiveError on anything malformed."""
    global_pax: dict[str, str] = {}
    pending_pax: dict[str, str] = {}
    long_name: str | None = None
    while True:
        block = read_exact(stream, BLOCK)
        if not block:
            raise ArchiveError("the archive is empty or ends without its end marker")
        if len(block) < BLOCK:
            raise ArchiveError("the archive ends in the middle of a header")
        if block == bytes(BLOCK):
            return
        if not checksum_ok(block):
            raise ArchiveError("a tar header has a wrong checksum (not a tar archive?)")
        typeflag = block[156:157]
        size = parse_number(block[124:136])
        if typeflag in (b"x", b"g", b"L", b"K"):
            if not 0 <= size <= MAX_EXTENDED_HEADER:
                raise ArchiveError(f"an extended header of {size} bytes is larger than allowed")
            data = read_exact(stream, size)
            if len(data) < size:
                raise ArchiveError("the archive ends in the middle of a header")
            skip(stream, -size % BLOCK)
            if typeflag == b"x":
                pending_pax = parse_pax(data)
            elif typeflag == b"g":
                global_pax.update(parse_pax(data))
            elif typeflag == b"L":
                long_name = data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            continue
        pax = {**global_pax, **pending_pax}
        name = text(block[0:100])
        if block[257:262] == b"ustar" and block[345] != 0 and long_name is None:
            name = text(block[345:500]) + "/" + name
        name = pax.get("path") or long_name or name
        if "size" in pax:
            try:
                size = int(pax["size"])
            except ValueError:
                raise ArchiveError("a pax size is not a number") from None
        if size < 0:
            raise ArchiveError("a negative member size")
        try:
            mtime = int(float(pax.get("mtime", parse_number(block[136:148]))))
        except (ValueError, OverflowError):
            mtime = 0
        pending_pax, long_name = {}, None
        has_data = typeflag not in (b"1", b"2", b"3", b"4", b"5", b"6")
        data_size = size if has_data else 0
        entry = entry_for(name, typeflag, data_size, mtime, pax)
        body = MemberBody(stream, data_size) if isinstance(entry, ObjectEntry) else None
        yield entry, body
        skip(stream, (body.remaining if body else data_size) + (-data_size % BLOCK))
