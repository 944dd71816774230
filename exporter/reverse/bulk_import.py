"""Mirror files streamed back into S3 in one POST of the gateway's bulk API (the restore's fast path).

`import_files` streams mirror files into S3 and returns their ETags (the MD5 of their bytes, what the
gateway gives an imported object and S3 a PUT). The format itself is common/bulk_tar.py's.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.bulk_tar import CONTENT_TYPE, BucketEntry, ObjectEntry, coalesced, write_archive
from exporter.bulk import CHUNK, TIMEOUT_SECONDS, BulkError, headers_for_archive

SMALL_FILE = 256 * 1024
"""Files up to this size are read in one call (and held once) while they are sent."""


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
