"""Bulk export and import: every bucket (or some) as one streamed tar, straight from Moto's backend.

    GET  /_bulk/export[?bucket=NAME...]  200 application/x-tar (404 JSON: a named bucket does not exist)
    POST /_bulk/export                   the same for chosen keys: body {"objects": {"<bucket>": [keys]}}
    POST /_bulk/import                   200 JSON summary; 400 JSON when the archive is malformed
    GET  /_bulk/list?bucket=NAME         200 application/x-ndjson: {"key", "etag", "size"} per object, in
                                         key order (a listing without S3's XML: 1000s of objects per second)

The format is common/bulk_tar.py's. An export holds the current version of every object with its
Content-* headers and user metadata, and each bucket's region and CORS rules. An import creates missing
buckets (in the archive's region), puts CORS rules it carries, and stores each object as a PUT would:
its ETag is the MD5 of its bytes. Object bytes stream through in 1 MiB chunks both ways: an export holds
a reference on the object it is sending (s3state.share_body), an import spools each object (memory up
to Moto's key buffer size, then a temp file, as Moto itself does) and hands the spool to Moto.

An import is not atomic: a malformed archive stops it at that member, after what came before it was
stored. It records one change-feed event per bucket it created or gave CORS rules, and one `bucket-put`
per bucket it stored objects in, so that a follower (the exporter) lists those buckets again.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import FakeBucket, FakeKey, s3_backends
from moto.core.utils import utcnow
from moto.settings import get_s3_default_key_buffer_size
from moto.utilities.utils import LowercaseDict
from werkzeug.exceptions import ClientDisconnected
from werkzeug.wsgi import get_input_stream

from common.bulk_tar import (
    CONTENT_HEADERS,
    CONTENT_TYPE,
    ArchiveError,
    BucketEntry,
    ObjectEntry,
    SkippedEntry,
    coalesced,
    read_archive,
    write_archive,
)
from moto_gateway.state.changes import ChangeLog
from moto_gateway.state.s3state import (
    KEY_CHUNK,
    BodyHandle,
    collector_paused,
    find_bucket,
    live_backends,
    share_body,
)
from moto_gateway.wsgi.answers import WsgiApp, json_response

log = logging.getLogger("moto_gateway.bulk")

PREFIX = "/_bulk"
FORMAT_VERSION = 1
MAX_REPORTED_ERRORS = 100
DEFAULT_REGION = "us-east-1"
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
META_NAME = re.compile(r"[A-Za-z0-9\-_.]+")
MAX_KEY_BYTES = 1024
MAX_SELECTION_BYTES = 32 * 1024 * 1024

CAPABILITY = {
    "version": FORMAT_VERSION,
    "export": f"{PREFIX}/export",
    "import": f"{PREFIX}/import",
    "list": f"{PREFIX}/list",
}
"""What /_health advertises under "bulk"."""


# -- export ----------------------------------------------------------------------------------------------


def cors_rules(bucket: FakeBucket) -> list[dict] | None:
    """The bucket's CORS rules in boto3's get_bucket_cors shape."""
    rules = []
    for rule in bucket.cors or []:
        shaped = {"AllowedMethods": list(rule.allowed_methods), "AllowedOrigins": list(rule.allowed_origins)}
        if rule.allowed_headers:
            shaped["AllowedHeaders"] = list(rule.allowed_headers)
        if rule.exposed_headers:
            shaped["ExposeHeaders"] = list(rule.exposed_headers)
        if rule.max_age_seconds not in (None, ""):
            shaped["MaxAgeSeconds"] = int(rule.max_age_seconds)
        if rule.id_:
            shaped["ID"] = rule.id_
        rules.append(shaped)
    return rules or None


def object_entry(bucket: str, key: FakeKey, size: int) -> ObjectEntry:
    metadata = key.metadata
    return ObjectEntry(
        bucket=bucket,
        key=key.name,
        size=size,
        headers={name: str(metadata[name]) for name in CONTENT_HEADERS if metadata.get(name)},
        metadata={
            name[len("x-amz-meta-") :]: str(value)
            for name, value in metadata.items()
            if name.lower().startswith("x-amz-meta-")
        },
        etag=key.etag,
        mtime=int(key.last_modified.timestamp()),
    )


def body_chunks(handle: BodyHandle) -> Iterator[bytes]:
    try:
        while chunk := handle.read(KEY_CHUNK):
            yield chunk
    finally:
        handle.close()


def all_buckets() -> dict[str, FakeBucket]:
    return {name: bucket for _, _, backend in live_backends() for name, bucket in list(backend.buckets.items())}


def export_members(
    buckets: list[FakeBucket], chosen: dict[str, list[str]] | None = None
) -> Iterator[BucketEntry | tuple[ObjectEntry, Iterator[bytes]]]:
    """Each bucket, then its objects (all, or the chosen keys that exist) in key order."""
    for bucket in buckets:
        yield BucketEntry(bucket.name, bucket.region_name, cors_rules(bucket))
        names = sorted(set(chosen[bucket.name])) if chosen is not None else sorted(dict.keys(bucket.keys))
        for name in names:
            versions = dict.get(bucket.keys, name)
            current = versions[-1] if versions else None
            if not isinstance(current, FakeKey):
                continue  # a delete marker: the object is deleted
            body = share_body(current)
            if body is None:
                continue  # overwritten or deleted since we listed it
            yield object_entry(bucket.name, current, body.size), body_chunks(BodyHandle(body))


def read_selection(environ: dict) -> dict[str, list[str]]:
    """The JSON body of POST /_bulk/export: {"objects": {bucket: [key, ...]}}; ValueError if it is not."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ValueError("Content-Length is not a number") from None
    if not 0 < length <= MAX_SELECTION_BYTES:
        raise ValueError(f"the body must be JSON of 1 to {MAX_SELECTION_BYTES} bytes with a Content-Length")
    try:
        objects = json.loads(get_input_stream(environ).read(length))["objects"]
    except (ValueError, KeyError, TypeError):
        raise ValueError('the body must be JSON: {"objects": {"<bucket>": ["<key>", ...]}}') from None
    if not isinstance(objects, dict) or not all(
        isinstance(keys, list) and all(isinstance(key, str) for key in keys) for keys in objects.values()
    ):
        raise ValueError('the body must be JSON: {"objects": {"<bucket>": ["<key>", ...]}}')
    return objects


def export_handler() -> WsgiApp:
    def handle(environ: dict, start_response: Callable):
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD", "POST"):
            return json_response(start_response, 405, {"error": "use GET or POST", "code": "MethodNotAllowed"}, method)
        chosen = None
        if method == "POST":
            try:
                chosen = read_selection(environ)
            except ValueError as exc:
                return json_response(start_response, 400, {"error": str(exc), "code": "MalformedSelection"})
            wanted = list(chosen)
        else:
            wanted = parse_qs(environ.get("QUERY_STRING", "")).get("bucket")
        existing = all_buckets()
        missing = [name for name in wanted or [] if name not in existing]
        if missing:
            return json_response(
                start_response,
                404,
                {"error": f"no such bucket: {', '.join(missing)}", "code": "NoSuchBucket"},
                method,
            )
        names = sorted(dict.fromkeys(wanted)) if wanted is not None else sorted(existing)
        start_response(
            "200 OK",
            [
                ("Content-Type", CONTENT_TYPE),
                ("Content-Disposition", 'attachment; filename="s3-export.tar"'),
                ("Cache-Control", "no-store"),
            ],
        )
        if method == "HEAD":
            return []
        return coalesced(write_archive(export_members([existing[name] for name in names], chosen)))

    return handle


def listing_lines(bucket: FakeBucket) -> Iterator[bytes]:
    """One JSON line per current object, in key order, a thousand lines per chunk."""
    lines = []
    for name in sorted(dict.keys(bucket.keys)):
        versions = dict.get(bucket.keys, name)
        current = versions[-1] if versions else None
        if isinstance(current, FakeKey) and not current.disposed:
            lines.append(json.dumps({"key": name, "etag": current.etag, "size": current.size}).encode() + b"\n")
            if len(lines) == 1000:
                yield b"".join(lines)
                lines = []
    if lines:
        yield b"".join(lines)


def list_handler() -> WsgiApp:
    """GET /_bulk/list?bucket=NAME: the bucket's objects as JSON lines (404 JSON for no such bucket)."""

    def handle(environ: dict, start_response: Callable):
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            return json_response(start_response, 405, {"error": "use GET", "code": "MethodNotAllowed"}, method)
        names = parse_qs(environ.get("QUERY_STRING", "")).get("bucket", [])
        bucket = find_bucket(names[0])[0] if len(names) == 1 else None
        if bucket is None:
            return json_response(
                start_response, 404, {"error": "name one existing bucket: ?bucket=NAME", "code": "NoSuchBucket"}, method
            )
        start_response("200 OK", [("Content-Type", "application/x-ndjson"), ("Cache-Control", "no-store")])
        return [] if method == "HEAD" else listing_lines(bucket)

    return handle


# -- import ----------------------------------------------------------------------------------------------


@dataclass
class ImportSummary:
    objects: int = 0
    bytes: int = 0
    buckets_created: list[str] = field(default_factory=list)
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    touched: set[str] = field(default_factory=set)

    def error(self, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(message)

    def as_dict(self) -> dict:
        return {
            "objects": self.objects,
            "bytes": self.bytes,
            "buckets_created": self.buckets_created,
            "skipped": self.skipped,
            "error_count": self.error_count,
            "errors": self.errors,
        }


def moto_cors(rules: list[dict]) -> list[dict]:
    """boto3-shaped CORS rules as Moto's set_cors takes them (its parsed XML); ValueError if malformed."""
    converted = []
    for rule in rules:
        methods, origins = rule.get("AllowedMethods"), rule.get("AllowedOrigins")
        if not (isinstance(methods, list) and isinstance(origins, list) and methods and origins):
            raise ValueError("a CORS rule needs AllowedMethods and AllowedOrigins lists")
        shaped: dict = {"AllowedMethod": [str(m) for m in methods], "AllowedOrigin": [str(o) for o in origins]}
        for ours, theirs in (("AllowedHeaders", "AllowedHeader"), ("ExposeHeaders", "ExposeHeader")):
            if isinstance(rule.get(ours), list):
                shaped[theirs] = [str(value) for value in rule[ours]]
        if rule.get("MaxAgeSeconds") is not None:
            shaped["MaxAgeSeconds"] = str(int(rule["MaxAgeSeconds"]))
        if rule.get("ID") is not None:
            shaped["ID"] = str(rule["ID"])
        converted.append(shaped)
    return converted


def backend_of(bucket: FakeBucket):
    return s3_backends[bucket.account_id][bucket.partition]


KEY_PER_OBJECT_ATTRS = frozenset(
    {"name", "_value_buffer", "lock", "_metadata", "multipart", "disposed", "contentsize", "_etag",
     "last_modified", "_version_id"}
)


def key_template(backend: Any, bucket: FakeBucket) -> dict[str, Any]:
    """The attributes S3Backend.put_object gives a new key of `bucket` (its default encryption included),
    except those new_key sets per object: built once by Moto's own FakeKey constructor, then copied into
    each new key, which costs a tenth of constructing one (profiled: FakeKey.__init__ was a quarter of an
    import). The ACL object is shared, as snapshots share it: Moto replaces a key's ACL, never edits it."""
    encryption = kms_key_id = bucket_key_enabled = None
    if bucket.encryption:
        rule = bucket.encryption["Rule"]
        bucket_key_enabled = rule.get("BucketKeyEnabled", False)
        kms_key_id = rule["ApplyServerSideEncryptionByDefault"].get("KMSMasterKeyID")
        encryption = rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
    model = FakeKey(
        name="",
        bucket_name=bucket.name,
        value=b"",
        account_id=backend.account_id,
        region_name=backend.region_name,
        is_versioned=bucket.is_versioned,
        version_id="null",
        encryption=encryption,
        kms_key_id=kms_key_id,
        bucket_key_enabled=bucket_key_enabled,
    )
    model._value_buffer.close()
    model.disposed = True
    return {name: value for name, value in model.__dict__.items() if name not in KEY_PER_OBJECT_ATTRS}


def new_key(
    template: dict[str, Any],
    name: str,
    body: Any,
    size: int,
    md5_hex: str,
    headers: dict[str, str],
    metadata: dict[str, str],
) -> FakeKey:
    """A FakeKey as a PUT of those bytes and headers makes it, holding `body` (a file) as its buffer."""
    key = object.__new__(FakeKey)  # as snapshots do: outside Moto's instance tracker, closed by the GC if lost
    attrs = key.__dict__
    attrs.update(template)
    attrs["name"] = name
    attrs["last_modified"] = utcnow()
    attrs["_version_id"] = "null"
    stored = {"content-type": "binary/octet-stream"}
    stored.update((header.lower(), value) for header, value in headers.items())
    stored.update((f"x-amz-meta-{meta.lower()}", value) for meta, value in metadata.items())
    key_metadata = object.__new__(LowercaseDict)
    key_metadata.store = stored
    attrs["_metadata"] = key_metadata
    attrs["_value_buffer"] = body
    attrs["contentsize"] = size
    attrs["_etag"] = md5_hex
    attrs["lock"] = threading.Lock()
    attrs["multipart"] = None
    attrs["disposed"] = False
    return key


class Importer:
    """Stores an archive's members in Moto, one at a time; records what it did in `summary`."""

    def __init__(self, change_log: ChangeLog | None) -> None:
        self.change_log = change_log
        self.summary = ImportSummary()
        self.spool_limit = get_s3_default_key_buffer_size()
        self.templates: dict[str, dict[str, Any]] = {}
        """Per bucket: the attributes every key put there starts with (see key_template)."""

    def bucket(self, name: str, region: str | None) -> FakeBucket | None:
        existing, _account_id = find_bucket(name)
        if existing is not None:
            return existing
        if not BUCKET_NAME.fullmatch(name) or ".." in name:
            self.summary.error(f"{name!r} is not a valid bucket name")
            return None
        try:
            created = s3_backends[DEFAULT_ACCOUNT_ID]["global"].create_bucket(name, region or DEFAULT_REGION)
        except Exception as exc:  # noqa: BLE001 (Moto refuses: say so, go on with the next member)
            self.summary.error(f"cannot create bucket {name}: {exc}")
            return None
        self.summary.buckets_created.append(name)
        self._record("create-bucket", name)
        return created

    def add_bucket(self, entry: BucketEntry) -> None:
        bucket = self.bucket(entry.name, entry.region)
        if bucket is None or entry.cors is None:
            return
        try:
            bucket.set_cors(moto_cors(entry.cors))
        except Exception as exc:  # noqa: BLE001 (malformed rules, or rules Moto refuses)
            self.summary.error(f"cannot put the CORS rules of {entry.name}: {exc}")
            return
        self._record("bucket-cors", entry.name)

    def add_object(self, entry: ObjectEntry, chunks: Iterator[bytes]) -> None:
        problem = self._refusal(entry)
        bucket = None if problem else self.bucket(entry.bucket, None)
        spool = tempfile.SpooledTemporaryFile(self.spool_limit, prefix="moto-bulk-")
        try:
            digest = hashlib.md5(usedforsecurity=False)
            for chunk in chunks:  # read even when refused, so the archive stays in step
                if bucket is not None:
                    digest.update(chunk)
                    spool.write(chunk)
            if problem:
                self.summary.error(f"{entry.bucket}/{entry.key}: {problem}")
            if bucket is None:
                spool.close()
                return
            self.store_key(bucket, entry, spool, digest.hexdigest())
        except BaseException:
            spool.close()
            raise
        self.summary.objects += 1
        self.summary.bytes += entry.size
        self.summary.touched.add(bucket.name)

    def store_key(self, bucket: FakeBucket, entry: ObjectEntry, body: Any, md5_hex: str) -> FakeKey:
        """Puts a key as S3Backend.put_object would (new version or replacement), owning `body`."""
        key = new_key(self._template(bucket), entry.key, body, entry.size, md5_hex, entry.headers, entry.metadata)
        if bucket.is_versioned:
            key._version_id = str(uuid.uuid4())
        versions = dict.get(bucket.keys, entry.key)
        if not versions:
            dict.__setitem__(bucket.keys, entry.key, [key])
        else:
            bucket.keys.setlist(entry.key, [*versions, key] if bucket.is_versioned else [key])  # disposes the old
        return key

    def _template(self, bucket: FakeBucket) -> dict[str, Any]:
        template = self.templates.get(bucket.name)
        if template is None:
            template = self.templates[bucket.name] = key_template(backend_of(bucket), bucket)
        return template

    @staticmethod
    def _refusal(entry: ObjectEntry) -> str | None:
        try:
            if len(entry.key.encode("utf-8")) > MAX_KEY_BYTES:
                return f"a key is at most {MAX_KEY_BYTES} bytes"
        except UnicodeEncodeError:
            return "the key is not UTF-8"
        bad = [name for name in entry.metadata if not META_NAME.fullmatch(name)]
        if bad:
            return f"metadata names may only have A-Z a-z 0-9 - _ . ({bad[0]!r})"
        return None

    def finish(self) -> None:
        for name in sorted(self.summary.touched):
            self._record("bucket-put", name)

    def _record(self, op: str, bucket: str) -> None:
        if self.change_log is not None:
            self.change_log.append(op, bucket)


def import_archive(stream, change_log: ChangeLog | None) -> tuple[ImportSummary, str | None]:
    """Stores every member of the archive; the summary, and what was wrong with the archive if anything."""
    importer = Importer(change_log)
    problem = None
    with collector_paused():
        try:
            for entry, body in read_archive(stream):
                if isinstance(entry, BucketEntry):
                    importer.add_bucket(entry)
                elif isinstance(entry, ObjectEntry):
                    importer.add_object(entry, body.chunks(KEY_CHUNK))
                elif isinstance(entry, SkippedEntry):
                    importer.summary.skipped += 1
        except ArchiveError as exc:
            problem = str(exc)
        except ClientDisconnected:
            problem = "the request body ended before the archive did"
        finally:
            importer.finish()
    return importer.summary, problem


def import_handler(change_log: ChangeLog | None) -> WsgiApp:
    def handle(environ: dict, start_response: Callable):
        method = environ.get("REQUEST_METHOD", "GET")
        if method != "POST":
            return json_response(start_response, 405, {"error": "use POST", "code": "MethodNotAllowed"}, method)
        stream = io.BufferedReader(get_input_stream(environ), KEY_CHUNK)  # tar headers come in 512-byte reads
        summary, problem = import_archive(stream, change_log)
        if problem:
            log.info("bulk import stopped: %s", problem)
            payload = {"error": f"not a readable archive: {problem}", "code": "MalformedArchive", **summary.as_dict()}
            return json_response(start_response, 400, payload)
        log.info(
            "bulk import: %d object(s), %d byte(s), %d bucket(s) created, %d error(s)",
            summary.objects,
            summary.bytes,
            len(summary.buckets_created),
            summary.error_count,
        )
        return json_response(start_response, 200, summary.as_dict())

    return handle
