"""The exporter's side of the gateway's bulk API: one streamed tar instead of a request per object.

`capability` (or `advertised_bulk`, given a /_health answer already read) tells whether the endpoint has
the bulk API (our gateway does; real S3, plain Moto and other emulators do not, and the exporter keeps to
the S3 API there). `export` streams a bucket's objects with their headers, `list_pages` its listing; the
import (mirror files back into S3) is the reverse pipeline's (reverse/bulk_import.py). The format itself
is common/bulk_tar.py's.
"""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from common.bulk_tar import ObjectEntry, read_archive

SUPPORTED_VERSION = 1
CHUNK = 1024 * 1024
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
