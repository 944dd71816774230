"""Fault injection: S3's failures on demand, so that users can prove their retries and error handling.

A rule (POST /_faults, or the GATEWAY_FAULTS list at start) matches requests on method, S3 operation,
bucket and key prefix, fires with a probability or for the next `count` matches, and then answers with an
S3 error, adds latency, drops the connection or cuts the answer's body short. Rules never apply to the
gateway's own `/_` paths. The decisions (operation names, matching, validation) are pure functions; the
`FaultInjector` layer is the thin shell that sleeps, answers and closes sockets.
"""

from __future__ import annotations

import json
import logging
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from werkzeug.wsgi import get_input_stream

from moto_gateway.server.router import json_response
from moto_gateway.wsgi.errors import S3Error, error_xml, new_request_id
from moto_gateway.wsgi.request import RequestView

log = logging.getLogger("moto_gateway.faults")

FAULTS_PATH = "/_faults"
MAX_RULE_BYTES = 64 * 1024
MAX_RULES = 1000
DRAIN_CHUNK = 64 * 1024

# Sub-resources (query parameter names) that turn a request on a bucket or an object into another operation.
BUCKET_SUBRESOURCES = {
    "accelerate": "BucketAccelerateConfiguration",
    "acl": "BucketAcl",
    "analytics": "BucketAnalyticsConfiguration",
    "cors": "BucketCors",
    "encryption": "BucketEncryption",
    "intelligent-tiering": "BucketIntelligentTieringConfiguration",
    "inventory": "BucketInventoryConfiguration",
    "lifecycle": "BucketLifecycleConfiguration",
    "logging": "BucketLogging",
    "metrics": "BucketMetricsConfiguration",
    "notification": "BucketNotificationConfiguration",
    "object-lock": "ObjectLockConfiguration",
    "ownershipControls": "BucketOwnershipControls",
    "policy": "BucketPolicy",
    "publicAccessBlock": "PublicAccessBlock",
    "replication": "BucketReplication",
    "requestPayment": "BucketRequestPayment",
    "tagging": "BucketTagging",
    "versioning": "BucketVersioning",
    "website": "BucketWebsite",
}
OBJECT_SUBRESOURCES = {
    "acl": "ObjectAcl",
    "attributes": "ObjectAttributes",
    "legal-hold": "ObjectLegalHold",
    "retention": "ObjectRetention",
    "tagging": "ObjectTagging",
}
BUCKET_GET_ONLY = {"location": "GetBucketLocation", "policyStatus": "GetBucketPolicyStatus"}
DELETABLE_BUCKET_SUBRESOURCES = {
    "analytics", "cors", "encryption", "intelligent-tiering", "inventory", "lifecycle", "metrics",
    "ownershipControls", "policy", "publicAccessBlock", "replication", "tagging", "website",
}  # fmt: skip
VERBS = {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}
METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS")


def operation_of(
    method: str, bucket: str | None, key: str, query: Iterable[str], copy_source: bool
) -> str | None:
    """S3's name for a request (GetObject, PutObject, ListObjectsV2, ...), or None when S3 has no such call.

    `query` holds the query parameter names; `copy_source` says whether x-amz-copy-source was sent.
    """
    method = method.upper()
    names = set(query)
    if not bucket:
        return "ListBuckets" if method == "GET" else None
    if not key:
        if method == "HEAD":
            return "HeadBucket"
        if method == "POST":
            return "DeleteObjects" if "delete" in names else "PostObject"
        for name, operation in BUCKET_GET_ONLY.items():
            if name in names and method == "GET":
                return operation
        for name, suffix in BUCKET_SUBRESOURCES.items():
            if name in names and method in VERBS:
                if method == "DELETE" and name not in DELETABLE_BUCKET_SUBRESOURCES:
                    return None
                if suffix == "BucketLifecycleConfiguration" and method == "DELETE":
                    return "DeleteBucketLifecycle"
                return VERBS[method] + suffix
        if method == "GET":
            if "versions" in names:
                return "ListObjectVersions"
            if "uploads" in names:
                return "ListMultipartUploads"
            return "ListObjectsV2" if "list-type" in names else "ListObjects"
        return {"PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(method)
    if method == "HEAD":
        return "HeadObject"
    if method == "POST":
        if "uploads" in names:
            return "CreateMultipartUpload"
        if "uploadId" in names:
            return "CompleteMultipartUpload"
        if "restore" in names:
            return "RestoreObject"
        if "select" in names:
            return "SelectObjectContent"
        return None
    if "uploadId" in names:
        if method == "PUT" and "partNumber" in names:
            return "UploadPartCopy" if copy_source else "UploadPart"
        return {"GET": "ListParts", "DELETE": "AbortMultipartUpload"}.get(method)
    for name, suffix in OBJECT_SUBRESOURCES.items():
        if name in names and method in VERBS:
            if method == "DELETE" and name != "tagging":
                return None
            if name == "attributes" and method != "GET":
                return None
            return VERBS[method] + suffix
    if method == "PUT":
        return "CopyObject" if copy_source else "PutObject"
    return {"GET": "GetObject", "DELETE": "DeleteObject"}.get(method)


def known_operations() -> frozenset[str]:
    """Every name `operation_of` can give (found by asking it): a rule naming anything else is a typo."""
    queries = [[], ["uploadId", "partNumber"], *([name] for name in (
        *BUCKET_SUBRESOURCES, *OBJECT_SUBRESOURCES, *BUCKET_GET_ONLY,
        "delete", "versions", "uploads", "list-type", "uploadId", "restore", "select",
    ))]  # fmt: skip
    return frozenset(
        name
        for method in METHODS
        for bucket, key in ((None, ""), ("b", ""), ("b", "k"))
        for query in queries
        for copy_source in (False, True)
        if (name := operation_of(method, bucket, key, query, copy_source))
    )


KNOWN_OPERATIONS = known_operations()
DEFAULT_MESSAGES = {
    "SlowDown": "Please reduce your request rate.",
    "InternalError": "We encountered an internal error. Please try again.",
    "ServiceUnavailable": "Service is unable to handle request.",
    "RequestTimeout": "Your socket connection to the server was not read from or written to within the "
    "timeout period.",
    "AccessDenied": "Access Denied",
    "NoSuchKey": "The specified key does not exist.",
    "NoSuchBucket": "The specified bucket does not exist",
}


class FaultRule(BaseModel):
    """What a user posts: which requests (all given criteria must hold), how often, and the effect."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS"] | None = None
    operation: str | None = None
    bucket: str | None = Field(None, min_length=1, max_length=255)
    prefix: str | None = Field(None, max_length=1024)
    probability: float | None = Field(None, ge=0, le=1)
    count: int | None = Field(None, ge=1, le=1_000_000)
    status: int | None = Field(None, ge=400, le=599)
    code: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9.]+$")
    message: str | None = Field(None, max_length=1024)
    latency_ms: int | None = Field(None, ge=0, le=600_000)
    drop: bool = False
    cut_body_after: int | None = Field(None, ge=0)

    @field_validator("method", mode="before")
    @classmethod
    def _upper_method(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: int | None) -> int | None:
        if value is not None and value not in {status.value for status in HTTPStatus}:
            raise ValueError(f"{value} is not an HTTP status")
        return value

    @field_validator("operation")
    @classmethod
    def _known_operation(cls, value: str | None) -> str | None:
        if value is not None and value not in KNOWN_OPERATIONS:
            raise ValueError(f"unknown S3 operation {value!r} (S3's names, e.g. GetObject, PutObject)")
        return value

    @model_validator(mode="after")
    def _one_effect(self) -> FaultRule:
        if self.probability is not None and self.count is not None:
            raise FieldError("count", "give probability or count, not both")
        if (self.status is None) != (self.code is None):
            missing = "code" if self.code is None else "status"
            raise FieldError(missing, "an S3 error needs both status and code")
        if self.message is not None and self.status is None:
            raise FieldError("message", "a message goes with an S3 error (status and code)")
        effects = [self.status is not None, self.drop, self.cut_body_after is not None]
        if sum(effects) > 1:
            second = "drop" if self.drop else "cut_body_after"
            raise FieldError(second, "give one of status, drop, cut_body_after")
        if not any(effects) and self.latency_ms is None:
            raise FieldError(
                "status", "a rule needs an effect: status and code, latency_ms, drop or cut_body_after"
            )
        return self

    def matches(self, method: str, operation: str | None, bucket: str | None, key: str) -> bool:
        return (
            (self.method is None or self.method == method)
            and (self.operation is None or self.operation == operation)
            and (self.bucket is None or self.bucket == bucket)
            and (self.prefix is None or (bool(bucket) and key.startswith(self.prefix)))
        )

    def error(self) -> S3Error | None:
        if self.status is None or self.code is None:
            return None
        message = self.message or DEFAULT_MESSAGES.get(self.code, HTTPStatus(self.status).phrase)
        return S3Error(self.status, self.code, message)

    def describe(self) -> str:
        effects = []
        if self.status is not None:
            effects.append(f"{self.status} {self.code}")
        if self.latency_ms:
            effects.append(f"+{self.latency_ms} ms")
        if self.drop:
            effects.append("dropped connection")
        if self.cut_body_after is not None:
            effects.append(f"body cut after {self.cut_body_after} bytes")
        return ", ".join(effects) or "no effect"


class FieldError(ValueError):
    """A rule error that belongs to one field (pydantic's model validators report no field of their own)."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field_name = field_name
        self.message = message


def rule_problem(exc: ValidationError) -> tuple[str, str]:
    """(field, message) of the first thing wrong with a rule, for a 400 or a config error."""
    error = exc.errors()[0]
    context_error = (error.get("ctx") or {}).get("error")
    if isinstance(context_error, FieldError):
        return context_error.field_name, context_error.message
    location = ".".join(str(part) for part in error["loc"]) or "rule"
    return location, str(error["msg"]).removeprefix("Value error, ")


def parse_rule(data: object) -> FaultRule:
    """A rule from decoded JSON; a FieldError naming the field when it is malformed."""
    if not isinstance(data, dict):
        raise FieldError("rule", "expected a JSON object")
    try:
        return FaultRule.model_validate(data)
    except ValidationError as exc:
        raise FieldError(*rule_problem(exc)) from None


@dataclass
class ActiveRule:
    """A rule as the gateway holds it: its id, how many matches it may still take, how often it fired."""

    rule: FaultRule
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    remaining: int | None = None
    injected: int = 0

    def __post_init__(self) -> None:
        if self.remaining is None:
            self.remaining = self.rule.count

    def as_json(self) -> dict:
        shown = self.rule.model_dump(exclude_none=True, exclude_defaults=True)
        return {"id": self.id, **shown, "remaining": self.remaining, "injected": self.injected}


class FaultRules:
    """The installed rules, in order; thread-safe. `pick` decides which rule (if any) a request gets."""

    def __init__(self, rules: Iterable[FaultRule] = (), chance: Callable[[], float] = random.random):
        self._rules = [ActiveRule(rule) for rule in rules]
        self._lock = threading.Lock()
        self._chance = chance

    def add(self, rule: FaultRule) -> ActiveRule:
        active = ActiveRule(rule)
        with self._lock:
            self._rules.append(active)
        return active

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            kept = [active for active in self._rules if active.id != rule_id]
            found = len(kept) != len(self._rules)
            self._rules = kept
        return found

    def clear(self) -> None:
        with self._lock:
            self._rules = []

    def __len__(self) -> int:
        return len(self._rules)

    def listing(self) -> list[dict]:
        with self._lock:
            return [active.as_json() for active in self._rules]

    def pick(self, method: str, operation: str | None, bucket: str | None, key: str) -> ActiveRule | None:
        """The first rule that matches and fires; its count goes down by one."""
        with self._lock:
            for active in self._rules:
                if active.remaining == 0 or not active.rule.matches(method, operation, bucket, key):
                    continue
                if active.rule.probability is not None and self._chance() >= active.rule.probability:
                    continue
                if active.remaining is not None:
                    active.remaining -= 1
                active.injected += 1
                return active
        return None


def connection_socket(environ: dict) -> socket.socket | None:
    """The client's socket, where the WSGI server exposes it (werkzeug, gunicorn, waitress's channel)."""
    for name in ("werkzeug.socket", "gunicorn.socket"):
        if isinstance(environ.get(name), socket.socket):
            return environ[name]
    channel = getattr(environ.get("waitress.client_disconnected"), "__self__", None)
    sock = getattr(channel, "socket", None)
    return sock if isinstance(sock, socket.socket) else None


def closes_short_bodies(environ: dict) -> bool:
    """waitress sends what it was given, then closes a connection whose body fell short of its
    Content-Length; shutting its socket from the application's thread could lose bytes still queued."""
    return "waitress.client_disconnected" in environ


def close_connection(environ: dict) -> None:
    sock = connection_socket(environ)
    if sock is None:
        raise ConnectionAbortedError("fault injection: this server exposes no socket to drop")
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def drain(stream) -> None:
    """Reads the request body away, so that the client sees the injected answer, not a reset upload."""
    while stream.read(DRAIN_CHUNK):
        pass


class FaultInjector:
    """WSGI layer: serves `/_faults`, passes other `/_` paths on untouched, injects faults into S3 calls."""

    def __init__(self, app: Callable, rules: FaultRules, sleep: Callable[[float], None] = time.sleep):
        self.app = app
        self.rules = rules
        self.sleep = sleep

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == FAULTS_PATH or path.startswith(FAULTS_PATH + "/"):
            return self.serve_api(environ, start_response, path[len(FAULTS_PATH) :].strip("/"))
        if path.startswith("/_") or not self.rules:
            return self.app(environ, start_response)  # no rules: not even the request is parsed
        view = RequestView.from_environ(environ)
        bucket, key = view.addressing.bucket, view.addressing.key
        operation = operation_of(
            view.method, bucket, key, view.params.keys(), "x-amz-copy-source" in view.headers
        )
        active = self.rules.pick(view.method, operation, bucket, key)
        if active is None:
            return self.app(environ, start_response)
        rule = active.rule
        log.info(
            "fault %s injected into %s %s (%s): %s",
            active.id, view.method, view.raw_path, operation or "-", rule.describe(),
        )  # fmt: skip
        if rule.latency_ms:
            self.sleep(rule.latency_ms / 1000)
        if rule.drop:
            close_connection(environ)
            # Any answer now fails to reach the client; the server sees a dropped connection.
            start_response("503 Service Unavailable", [("Content-Length", "0")])
            return []
        error = rule.error()
        if error is not None:
            drain(get_input_stream(environ))
            return s3_error_response(view, error, start_response)
        if rule.cut_body_after is not None:
            return self.cut_short(environ, start_response, rule.cut_body_after)
        return self.app(environ, start_response)

    def cut_short(self, environ: dict, start_response: Callable, limit: int) -> Iterator[bytes]:
        """Moto's answer with its full Content-Length, but only `limit` bytes of it (at most all but the last
        byte), then the connection closes."""
        declared: list[int] = []

        def remember_length(status: str, headers: list, exc_info=None):
            declared.extend(int(v) for k, v in headers if k.lower() == "content-length" and v.isdigit())
            return start_response(status, headers, exc_info)

        body = self.app(environ, remember_length)
        try:
            total = declared[0] if declared else None
            allowed = limit if total is None else min(limit, max(total - 1, 0))
            yield b""  # werkzeug sends the status and headers now, even when no byte of the body follows
            for chunk in body:
                if allowed <= 0:
                    break
                yield chunk[:allowed]
                allowed -= min(len(chunk), allowed)
        finally:
            if hasattr(body, "close"):
                body.close()
        if total is None or not closes_short_bodies(environ):
            close_connection(environ)

    def serve_api(self, environ: dict, start_response: Callable, rule_id: str) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if rule_id:
            if method != "DELETE":
                return json_response(start_response, 405, {"error": "use DELETE"}, method)
            if not self.rules.remove(rule_id):
                return json_response(start_response, 404, {"error": f"no fault rule {rule_id}"})
            log.info("fault %s removed", rule_id)
            return no_content(start_response)
        if method in ("GET", "HEAD"):
            return json_response(start_response, 200, self.rules.listing(), method)
        if method == "DELETE":
            self.rules.clear()
            log.info("fault rules cleared")
            return no_content(start_response)
        if method != "POST":
            return json_response(start_response, 405, {"error": "use GET, POST or DELETE"}, method)
        stream = get_input_stream(environ)
        raw = stream.read(MAX_RULE_BYTES + 1)
        if len(raw) > MAX_RULE_BYTES:
            drain(stream)
            return json_response(start_response, 413, {"error": f"a rule is at most {MAX_RULE_BYTES} bytes"})
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            return json_response(start_response, 400, {"error": f"not JSON: {exc}", "field": "rule"})
        if len(self.rules) >= MAX_RULES:
            return json_response(
                start_response, 409, {"error": f"{MAX_RULES} rules are installed; DELETE /_faults first"}
            )
        try:
            active = self.rules.add(parse_rule(data))
        except FieldError as exc:
            return json_response(start_response, 400, {"error": exc.message, "field": exc.field_name})
        log.info("fault %s installed: %s", active.id, json.dumps(active.as_json()))
        return json_response(start_response, 201, active.as_json())


def no_content(start_response: Callable) -> list[bytes]:
    start_response("204 No Content", [("Cache-Control", "no-store")])
    return []


def s3_error_response(view: RequestView, error: S3Error, start_response: Callable) -> list[bytes]:
    """The error as S3 sends it: XML body, request ids, no body for HEAD."""
    request_id = new_request_id()
    body = error_xml(error, request_id)
    headers = [
        ("Content-Type", "application/xml"),
        ("x-amz-request-id", request_id),
        ("x-amz-id-2", new_request_id()),
        ("Server", "AmazonS3"),
    ]
    if origin := view.headers.get("origin"):
        headers += [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
    status = f"{error.status} {HTTPStatus(error.status).phrase}"
    if view.method == "HEAD":
        start_response(status, [*headers, ("Content-Length", "0")])
        return []
    start_response(status, [*headers, ("Content-Length", str(len(body)))])
    return [body]
