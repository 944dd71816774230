"""The change feed: every successful mutation Moto performs, numbered, in a bounded in-memory log.

`ChangeRecorder` wraps Moto and appends an event after each successful PUT, POST upload, copy,
CompleteMultipartUpload, DELETE, DeleteObjects, bucket create and bucket delete. `changes_handler` serves
`GET /_changes?after=N&wait=S`: the events after N at once, or as soon as one arrives, or an empty list
when S seconds pass. Every answer carries the boot id (new at each start) and the oldest sequence number
still held, so that a client knows when it missed events ("gap") or Moto restarted.

A put event also carries what the exporter needs to decide without a HEAD: `etag`, `size`,
`content_type` and `last_modified` of the version just written, read from Moto's backend in-process
(when that lookup finds nothing, for instance because another put or a delete came first, the fields
are absent and the exporter asks S3). Other ops (`reset`, `snapshot-restore`, ...) may be appended by
other layers through `ChangeLog.append(op, bucket)`; a reader that does not know an op does a full pass.

Requests are recognised in path style (`/bucket/key`), the style every client of this stack uses; a
mutation sent in virtual-host style is not in the feed, and the exporter's periodic full pass finds it.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs

from moto_gateway.wsgi.answers import json_response
from moto_gateway.wsgi.bodies import answered
from moto_gateway.wsgi.operations import operation_of

MAX_WAIT_SECONDS = 30.0
MUTATING_METHODS = frozenset({"PUT", "POST", "DELETE"})
POST_KEY_ENVIRON = "motostack.post_key"
"""Where the validating middleware leaves the key of a browser POST upload, once it has parsed the form."""


@dataclass(frozen=True)
class Change:
    seq: int
    op: str
    """put, delete, bucket-put (objects may have changed, key unknown), bucket-cors, create-bucket,
    delete-bucket; and for all of S3 (bucket ""): snapshot-restore (key: the snapshot's name), reset."""
    bucket: str
    key: str | None
    time: float
    etag: str | None = None
    size: int | None = None
    content_type: str | None = None
    last_modified: str | None = None


def as_dict(change: Change) -> dict:
    """The event as the feed serves it: the version fields only when known."""
    event = {"seq": change.seq, "op": change.op, "bucket": change.bucket, "key": change.key, "time": change.time}
    if change.etag is not None:
        event.update(etag=change.etag, size=change.size, content_type=change.content_type,
                     last_modified=change.last_modified)
    return event


def describe_in_moto(bucket: str, key: str) -> dict | None:
    """ETag, size, content type and last-modified of the current version of bucket/key in this process's
    Moto, or None when it is not there."""
    from moto.s3.models import s3_backends

    for account_id in list(s3_backends.keys()):
        try:
            found = s3_backends[account_id]["aws"].buckets.get(bucket)
            version = found.keys.get(key) if found is not None else None
        except (KeyError, AttributeError):
            continue
        if version is None or not hasattr(version, "etag"):
            continue
        return {
            "etag": version.etag,
            "size": int(version.size),
            "content_type": version.metadata.get("content-type") if version.metadata else None,
            "last_modified": version.last_modified_ISO8601,
        }
    return None


class ChangeLog:
    """Bounded, thread-safe and waitable: writers append, long-polling readers wait on a condition."""

    def __init__(self, capacity: int = 10_000, boot_id: str | None = None) -> None:
        self.boot_id = boot_id or uuid.uuid4().hex
        self._events: deque[Change] = deque(maxlen=capacity)
        self._last_seq = 0
        self._changed = threading.Condition()

    def append(self, op: str, bucket: str, key: str | None = None, version: dict | None = None) -> None:
        """Record one change; `version` (etag, size, content_type, last_modified) for a put when known."""
        with self._changed:
            self._last_seq += 1
            self._events.append(Change(self._last_seq, op, bucket, key, time.time(), **(version or {})))
            self._changed.notify_all()

    def read(self, after: int, wait: float) -> dict:
        """Events with seq > after, waiting up to `wait` seconds for the first one."""
        deadline = time.monotonic() + wait
        with self._changed:
            while self._last_seq <= after and after >= 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or after > self._last_seq:
                    break
                self._changed.wait(remaining)
            first_held = self._events[0].seq if self._events else self._last_seq + 1
            gap = after > self._last_seq or after < first_held - 1
            events = [as_dict(event) for event in self._events if event.seq > after] if not gap else []
            return {
                "boot_id": self.boot_id,
                "last_seq": self._last_seq,
                "first_seq": first_held,
                "gap": gap,
                "events": events,
            }


# The change-feed op of each operation that changes what the exporter mirrors, as Moto performs it.
CHANGE_OPS = {
    "PutObject": "put",
    "CopyObject": "put",
    "CompleteMultipartUpload": "put",
    "DeleteObject": "delete",
    "CreateBucket": "create-bucket",
    "DeleteBucket": "delete-bucket",
    "DeleteObjects": "delete-objects",
    "PostObject": "post-upload",
    "PutBucketCors": "bucket-cors",
    "DeleteBucketCors": "bucket-cors",
}


def classify(
    method: str, path: str, query: dict[str, list[str]], copy_source: bool = False
) -> tuple[str, str, str | None] | None:
    """(op, bucket, key) for a path-style request that mutates when it succeeds, else None: the operation
    Moto performs (wsgi/operations.py), mapped to its op."""
    bucket, _, key = path.lstrip("/").partition("/")
    if not bucket or bucket.startswith("_") or bucket == "moto-api":
        return None
    params = {name: values[0] if values else "" for name, values in query.items()}
    op = CHANGE_OPS.get(operation_of(method, bucket, key, params, copy_source) or "")
    return None if op is None else (op, bucket, key or None)


def deleted_keys(xml_body: bytes) -> list[str]:
    """The keys a DeleteObjects response reports as deleted."""
    try:
        root = ET.fromstring(xml_body)
    except ET.ParseError:
        return []
    return [
        element.text or ""
        for element in root.iter()
        if element.tag.endswith("Key") and element.tag.rsplit("}", 1)[-1] == "Key"
    ]


class ChangeRecorder:
    """WSGI middleware: passes every request to Moto unchanged and records the successful mutations."""

    def __init__(
        self, app: Callable, log: ChangeLog, describe: Callable[[str, str], dict | None] = describe_in_moto
    ) -> None:
        self.app = app
        self.log = log
        self.describe = describe

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in MUTATING_METHODS:  # reads: nothing to parse or record
            return self.app(environ, start_response)
        raw_path = environ.get("PATH_INFO", "")
        path = raw_path.encode("latin-1", "replace").decode("utf-8", "replace")
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        found = classify(
            environ.get("REQUEST_METHOD", "GET"), path, query, "HTTP_X_AMZ_COPY_SOURCE" in environ
        )
        if found is None:
            return self.app(environ, start_response)
        op, bucket, key = found
        status_holder: list[int] = []

        def recording_start_response(status: str, headers: list, exc_info=None):
            status_holder.append(int(status.split(" ", 1)[0]))
            return start_response(status, headers, exc_info)

        if op == "delete-objects":
            chunks = answered(self.app, environ, recording_start_response)
            if status_holder and status_holder[0] < 300:
                for deleted in deleted_keys(b"".join(chunks)):
                    self.log.append("delete", bucket, deleted)
            return chunks
        body = self.app(environ, recording_start_response)
        status = status_holder[0] if status_holder else 500
        if status < 300 or (op == "post-upload" and status == 303):
            if op == "post-upload":
                post_key = environ.get(POST_KEY_ENVIRON)
                if post_key:
                    self.log.append("put", bucket, post_key, self._version(bucket, post_key))
                else:
                    self.log.append("bucket-put", bucket)
            elif op == "put":
                self.log.append(op, bucket, key, self._version(bucket, key))
            else:
                self.log.append(op, bucket, key)
        return body


    def _version(self, bucket: str, key: str) -> dict | None:
        try:
            return self.describe(bucket, key)
        except Exception:  # noqa: BLE001 (the event goes out without the fields; the exporter asks S3)
            return None


def changes_handler(log: ChangeLog, max_waiting: int | None = None) -> Callable:
    """GET /_changes?after=N&wait=S (S at most 30): the feed; 400 with a JSON message on bad parameters.

    A poll that waits holds one of the server's threads for up to S seconds. At most `max_waiting` polls wait
    at once (GATEWAY_MAX_WAITING_POLLS), so that polls can never take every thread from S3 requests; one more
    is answered at once with 503 and `Retry-After: 1` (a poll with wait=0 is always answered)."""
    waiting = threading.BoundedSemaphore(max_waiting) if max_waiting else None

    def handle(environ: dict, start_response: Callable) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method != "GET":
            return json_response(start_response, 405, {"error": "use GET"}, method)
        query = parse_qs(environ.get("QUERY_STRING", ""))
        try:
            after = int(query.get("after", ["0"])[0])
            wait = float(query.get("wait", ["0"])[0])
            if after < 0 or not 0 <= wait <= MAX_WAIT_SECONDS:
                raise ValueError
        except ValueError:
            return json_response(
                start_response,
                400,
                {"error": f"after must be a whole number >= 0 and wait seconds from 0 to {MAX_WAIT_SECONDS:g}"},
            )
        if wait == 0 or waiting is None:
            return json_response(start_response, 200, log.read(after, wait))
        if not waiting.acquire(blocking=False):
            return too_many_polls(start_response)
        try:
            return json_response(start_response, 200, log.read(after, wait))
        finally:
            waiting.release()

    return handle


def too_many_polls(start_response: Callable) -> list[bytes]:
    body = json.dumps({"error": "too many /_changes polls are waiting; retry in a second"}).encode()
    start_response(
        "503 Service Unavailable",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Retry-After", "1"),
         ("Cache-Control", "no-store")],
    )
    return [body]

