"""The exporter's side of the gateway's bulk API: one streamed tar instead of a request per object.

`capability` (or `advertised_bulk`, given a /_health answer already read) tells whether the endpoint has
the bulk API (our gateway does; real S3, plain Moto and other emulators do not, and the exporter keeps to
the S3 API there). `export` streams a
bucket's objects with their headers; `import_files` streams mirror files into S3 and returns their ETags
(the MD5 of their bytes, what the gateway gives an imported object and S3 a PUT). The format itself is
common/bulk_tar.py's.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.bulk_tar import CONTENT_TYPE, BucketEntry, ObjectEntry, coalesced, read_archive, write_archive

SUPPORTED_VERSION = 1
CHUNK = 1024 * 1024
SMALL_FILE = 256 * 1024
"""Files up to this size are read in one call (and held once) while they are sent."""
TIMEOUT_SECONDS = 60
BOTO_HEADER_NAMES = {
    "content-type": "ContentType",
    "content-encoding": "ContentEncoding",
    "cache-control": "CacheControl",
    "content-disposition": "ContentDisposition",
    "content-language": "ContentLanguage",
}
"""The archive's header names and put_object's names for the headers the mirror keeps (manifest)."""
ARCHIVE_HEADER_NAMES = {boto: archive for archive, boto in BOTO_HEADER_NAMES.items()}


class BulkError(RuntimeError):
    """The bulk endpoint refused or broke off; the caller falls back to the S3 API or tries again later."""


def capability(endpoint_url: str | None) -> dict | None:
    """The bulk paths the endpoint advertises in GET /_health, or None (no gateway, or an older one)."""
    if not endpoint_url:
        return None
    try:
        with urllib.request.urlopen(f"{endpoint_url}/_health", timeout=3) as response:
            health = json.loads(response.read())
    except (OSError, ValueError):
        return None
    return advertised_bulk(health if isinstance(health, dict) else None)


def advertised_bulk(health: dict | None) -> dict | None:
    """The bulk paths a /_health answer advertises, or None (no gateway, or an older one)."""
    bulk = health.get("bulk") if health else None
    if not isinstance(bulk, dict) or bulk.get("version") != SUPPORTED_VERSION:
        return None
    if not all(isinstance(bulk.get(name), str) and bulk[name].startswith("/_") for name in ("export", "import")):
        return None
    return bulk


def headers_for_manifest(entry: ObjectEntry) -> dict[str, Any]:
    """An archive entry's headers as the manifest keeps them (put_object's argument names)."""
    headers: dict[str, Any] = {
        BOTO_HEADER_NAMES[name]: value for name, value in entry.headers.items() if name in BOTO_HEADER_NAMES
    }
    if entry.metadata:
        headers["Metadata"] = dict(entry.metadata)
    return headers


def headers_for_archive(headers: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The manifest's headers as (content headers, user metadata) of an archive entry."""
    content = {ARCHIVE_HEADER_NAMES[name]: str(value) for name, value in headers.items() if name in ARCHIVE_HEADER_NAMES}
    metadata = {str(name): str(value) for name, value in (headers.get("Metadata") or {}).items()}
    return content, metadata


@contextmanager
def export(
    endpoint_url: str, cap: dict, buckets: Iterable[str] = (), objects: dict[str, Iterable[str]] | None = None
) -> Iterator[Iterator]:
    """The archive of those buckets (or of those keys per bucket) as (entry, body) pairs, read as the
    response streams in. Keys that do not exist (any more) are simply not in it."""
    if objects is not None:
        body = json.dumps({"objects": {bucket: list(keys) for bucket, keys in objects.items()}}).encode()
        request = urllib.request.Request(
            f"{endpoint_url}{cap['export']}", data=body, method="POST", headers={"Content-Type": "application/json"}
        )
    else:
        query = urllib.parse.urlencode([("bucket", name) for name in buckets])
        request = urllib.request.Request(f"{endpoint_url}{cap['export']}?{query}")
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS)
    except urllib.error.HTTPError as exc:
        raise BulkError(f"bulk export answered {exc.code}: {exc.read()[:300].decode('utf-8', 'replace')}") from None
    except OSError as exc:
        raise BulkError(f"bulk export unreachable: {exc}") from None
    with response:
        yield read_archive(io.BufferedReader(response, CHUNK))  # tar headers come in 512-byte reads


def list_pages(endpoint_url: str, cap: dict, bucket: str, page_size: int = 1000) -> Iterator[list[tuple[str, str, int]]]:
    """The bucket's objects as (key, etag, size), in key order, in pages, from the gateway's bulk listing
    (JSON lines: no XML to build or parse). Raises BulkError when it fails."""
    url = f"{endpoint_url}{cap['list']}?{urllib.parse.urlencode({'bucket': bucket})}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            lines: list[bytes] = []
            for line in response:
                lines.append(line)
                if len(lines) == page_size:
                    yield parsed_lines(lines)
                    lines = []
            yield parsed_lines(lines)
    except urllib.error.HTTPError as exc:
        raise BulkError(f"bulk listing answered {exc.code}") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BulkError(f"bulk listing failed: {exc}") from None


def parsed_lines(lines: list[bytes]) -> list[tuple[str, str, int]]:
    """JSON lines of the bulk listing, parsed as one JSON array (a parse per line cost twice as much)."""
    items = json.loads(b"[" + b",".join(line.strip() for line in lines if line.strip()) + b"]")
    return [(item["key"], item["etag"], int(item["size"])) for item in items]


@dataclass(frozen=True)
class FileToImport:
    bucket: str
    key: str
    path: str | Path
    size: int
    headers: dict[str, Any] = field(default_factory=dict)
    """As the manifest keeps them: put_object's names (ContentType, ..., Metadata)."""


@dataclass
class ImportResult:
    summary: dict
    etags: dict[tuple[str, str], str]
    """(bucket, key) -> the ETag S3 now has for it, for every file whose bytes were sent whole."""
    unreadable: list[tuple[str, str, str]] = field(default_factory=list)
    """(bucket, key, why) of files that could not be read or changed size: not sent."""


def read_small_file(path: str | Path, size: int) -> bytes:
    """Up to size + 1 bytes of the file (one more than recorded shows that it grew), by plain system calls:
    a buffered file object per small file cost more than reading it (profiled)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        wanted = size + 1
        while wanted > 0:
            chunk = os.read(descriptor, wanted)
            if not chunk:
                break
            chunks.append(chunk)
            wanted -= len(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(descriptor)


def file_chunks(file: Any, size: int, digest: Any) -> Iterator[bytes]:
    remaining = size
    while remaining > 0:
        chunk = file.read(min(CHUNK, remaining))
        if not chunk:
            break
        digest.update(chunk)
        remaining -= len(chunk)
        yield chunk


def import_files(
    endpoint_url: str, cap: dict, files: Iterable[FileToImport], buckets: Iterable[BucketEntry] = ()
) -> ImportResult:
    """Streams the buckets, then the files, in one POST; each file is opened only when its turn comes.

    A file that is gone or shorter than its recorded size is left out (listed in `unreadable`): the
    archive must carry exactly the size its header announced.
    """
    etags: dict[tuple[str, str], str] = {}
    unreadable: list[tuple[str, str, str]] = []

    def members() -> Iterator:
        yield from buckets
        for item in files:
            content, metadata = headers_for_archive(item.headers) if item.headers else ({}, {})
            digest = hashlib.md5(usedforsecurity=False)
            if item.size <= SMALL_FILE:
                try:
                    data = read_small_file(item.path, item.size)
                except OSError as exc:
                    unreadable.append((item.bucket, item.key, exc.strerror or str(exc)))
                    continue
                if len(data) != item.size:
                    found = f"more than {item.size}" if len(data) > item.size else str(len(data))
                    unreadable.append((item.bucket, item.key, f"{found} bytes on disk, {item.size} recorded"))
                    continue
                digest.update(data)
                yield ObjectEntry(item.bucket, item.key, item.size, content, metadata), (data,)
                etags[(item.bucket, item.key)] = f'"{digest.hexdigest()}"'
                continue
            try:
                handle = open(item.path, "rb")  # noqa: SIM115 (closed below, after its chunks are sent)
            except OSError as exc:
                unreadable.append((item.bucket, item.key, exc.strerror or str(exc)))
                continue
            with handle:
                size = os.fstat(handle.fileno()).st_size
                if size != item.size:
                    unreadable.append((item.bucket, item.key, f"{size} bytes on disk, {item.size} recorded"))
                    continue
                yield ObjectEntry(item.bucket, item.key, size, content, metadata), file_chunks(handle, size, digest)
                etags[(item.bucket, item.key)] = f'"{digest.hexdigest()}"'

    request = urllib.request.Request(
        f"{endpoint_url}{cap['import']}",
        data=coalesced(write_archive(members())),
        method="POST",
        headers={"Content-Type": CONTENT_TYPE},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            summary = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise BulkError(f"bulk import answered {exc.code}: {exc.read()[:300].decode('utf-8', 'replace')}") from None
    except (OSError, ValueError) as exc:
        raise BulkError(f"bulk import failed: {exc}") from None
    return ImportResult(summary, etags, unreadable)
