"""GetObject, HeadObject and DeleteObject in their plain, common form, answered from Moto's backend state
without Moto's Flask route, with exactly the status, headers and body Moto's route gives.

Why: after the listings (listing.py), Moto's own Flask route and S3Response were the largest single part of
a small GET's CPU (about a third, py-spy: request setup, URL and query parsing, response building); the
S3 work itself is a dictionary lookup. This layer does that lookup and builds the answer Moto 5.2.5 builds
for the same request, from Moto's own parts (`S3Backend.get_object` / `delete_object`, `FakeKey.response_dict`,
`metadata`, `value`, Moto's request id generator), in Moto's order:

- GetObject (`S3Response.get_object` with the gateway's patches): `x-amz-version-id` unless "null", the
  key's `response_dict`, its metadata, `Accept-Ranges`, `x-amzn-requestid`, Moto's `application/xml`
  for a body without a content type; then what Flask and werkzeug add (`Content-Type: text/html;
  charset=utf-8` when still none, `Content-Length` of the body, flask-cors' `Access-Control-Allow-Origin`).
- HeadObject (`S3Response.head_object`): metadata, `response_dict`, `Accept-Ranges`, request id; no body,
  `Content-Length` the object's size, as Moto's HEAD fix-up sets it.
- DeleteObject of an unversioned bucket (`S3Response.delete_object`): Moto's `delete_object`, which pops the
  key (disposing of its buffer) and sends its notifications; 204 with the request id. The ChangeRecorder
  outside sees the same 204 and records the delete once, as before.

Everything else goes to Moto unchanged (`plain_request` and `answerable` decide, from what Moto's route
reads): any query parameter beyond a presigned URL's own, a request body, an `Origin` (CORS), `Range`,
conditional headers, `x-amz-checksum-mode`, SSE-C headers, `x-moto-account-id`, an unsigned (anonymous)
request, virtual-hosted addressing; a missing bucket or key (NoSuchBucket, NoSuchKey, delete markers, and
Moto's checks of presigned headers for a missing key), a GetObject of an archived storage class, a key larger
than the streaming threshold (its body streams, streamed_reads.py), a bucket with a policy that denies,
logging, a table bucket, a delete in a versioned (or versioning-suspended) bucket or one with notifications;
and all of it while Moto's IAM emulation (INITIAL_NO_AUTH_ACTION_COUNT), its request recorder, its
cross-account switch or MOTO_ACCOUNT_ID would make Moto's route do more. The layer sits inside BucketLocks
(it reads and deletes under the bucket's lock) and inside the access layer and the signature checks, so
authentication and authorisation are unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from urllib.parse import unquote

from moto import settings as moto_settings
from moto.iam.access_control import PermissionResult
from moto.moto_api import recorder
from moto.s3.models import ARCHIVE_STORAGE_CLASSES, FakeKey, FakeTableStorageBucket, s3_backends
from moto.utilities.aws_headers import gen_amzn_requestid_long

from moto_gateway.listing import SIGNING_PARAMETERS
from moto_gateway.request import RequestView
from moto_gateway.s3_dispatch import is_s3_request

METHODS = frozenset({"GET", "HEAD", "DELETE"})
ACTIONS = {"GET": "s3:GetObject", "HEAD": "s3:HeadObject", "DELETE": "s3:DeleteObject"}
STATUS_LINES = {200: "200 OK", 204: "204 NO CONTENT"}  # werkzeug's spelling, as Moto's route sends them
FLASK_CONTENT_TYPE = "text/html; charset=utf-8"  # werkzeug's default for an answer without one
MOTO_CONTENT_TYPE = "application/xml"  # S3Response._send_response's default for a body without one
LEFT_TO_MOTO_HEADERS = frozenset(
    {
        "origin",
        "range",
        "if-match",
        "if-none-match",
        "if-modified-since",
        "if-unmodified-since",
        "x-amz-checksum-mode",
        "x-amz-server-side-encryption-customer-algorithm",
        "x-amz-server-side-encryption-customer-key",
        "x-amz-server-side-encryption-customer-key-md5",
        "x-amz-bypass-governance-retention",
        "x-amz-mfa",
        "x-moto-account-id",
        "transfer-encoding",
    }
)
# a presigned URL naming one of these is checked against the request's headers when the key is missing
PRESIGNED_HEADER_CHECKS = (
    "content-disposition=", "content-encoding=", "content-language=", "content-length=", "content-md5=",
    "content-type=",
)


# ----- the decision (pure) ------------------------------------------------------------------------------


def plain_request(view: RequestView) -> bool:
    """Whether this request, by what it says, is one the layer answers: a GET, HEAD or DELETE of a
    path-style object, signed (header or presigned URL), with no parameter, header or body that changes
    what Moto's route does."""
    if view.method not in METHODS:
        return False
    addressing = view.addressing
    if addressing.virtual_host or not addressing.bucket or not addressing.key:
        return False
    if not set(view.params) <= SIGNING_PARAMETERS:
        return False
    headers = view.headers
    if not LEFT_TO_MOTO_HEADERS.isdisjoint(headers):
        return False
    if headers.get("x-amz-content-sha256", "").startswith("STREAMING"):
        return False  # Moto decodes an aws-chunked body, whatever the method
    if headers.get("content-length", "0") != "0" or "content-type" in headers:
        return False
    return "authorization" in headers or "Signature=" in view.raw_query


def answerable(view: RequestView, bucket, key, threshold: int) -> bool:
    """Whether Moto's state lets the layer answer as Moto would: the bucket and the key's current version
    exist (a delete needs only the bucket), nothing about them asks Moto's route for more."""
    if bucket is None or isinstance(bucket, FakeTableStorageBucket) or getattr(bucket, "logging", None):
        return False
    if view.method == "DELETE":
        return not bucket.versioning_status and bucket.notification_configuration is None and (
            key is not None or not presigned_header_checks(view)
        )
    if key is None or key.contentsize > threshold:
        return False
    return view.method == "HEAD" or key.storage_class not in ARCHIVE_STORAGE_CLASSES


def presigned_header_checks(view: RequestView) -> bool:
    """Whether Moto would compare the request's headers with a `content-*=` in its URL (missing keys)."""
    if "authorization" in view.headers:
        return False
    url = unquote(view.raw_path + "?" + view.raw_query)
    return any(name in url for name in PRESIGNED_HEADER_CHECKS)


def moto_is_plain() -> bool:
    """Moto's route does nothing more than the layer does: no IAM emulation, no recording, one account."""
    return (
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT == float("inf")
        and not recorder._user_enabled
        and "MOTO_ACCOUNT_ID" not in os.environ
        and moto_settings.s3_allow_crossdomain_access()
    )


# ----- the answer (pure, on Moto's models) --------------------------------------------------------------


def set_header(headers: list[tuple[str, str]], name: str, value: str) -> None:
    """werkzeug's `Headers.set`: replaces the first header of that name (any case) in place and drops the
    others, or appends."""
    lowered = name.lower()
    for index, (existing, _) in enumerate(headers):
        if existing.lower() == lowered:
            headers[index] = (name, value)
            headers[index + 1 :] = [h for h in headers[index + 1 :] if h[0].lower() != lowered]
            return
    headers.append((name, value))


def has_header(headers: list[tuple[str, str]], name: str) -> bool:
    lowered = name.lower()
    return any(existing.lower() == lowered for existing, _ in headers)


def finish(
    fields: dict[str, str], body: bytes, head: bool, request_id: str, global_cors: bool
) -> list[tuple[str, str]]:
    """Moto's `_send_response`, then Flask's Response and flask-cors, on the fields Moto's handler built."""
    fields["x-amzn-requestid"] = request_id
    headers = list(fields.items())
    if body and not has_header(headers, "content-type"):
        headers.append(("content-type", MOTO_CONTENT_TYPE))
    if not has_header(headers, "content-type"):
        headers.append(("Content-Type", FLASK_CONTENT_TYPE))
    set_header(headers, "Content-Length", str(len(body)))
    if head and "content-length" in fields:
        set_header(headers, "Content-Length", fields["content-length"])
    if global_cors:
        headers.append(("Access-Control-Allow-Origin", "*"))
    return headers


def get_fields(key: FakeKey) -> dict[str, str]:
    """The headers `S3Response.get_object` builds for a plain GetObject of `key`."""
    fields: dict[str, str] = {}
    if key.version_id != "null":
        fields["x-amz-version-id"] = key.version_id
    fields.update(key.response_dict)
    fields.update(key.metadata)
    fields["Accept-Ranges"] = "bytes"
    return fields


def head_fields(key: FakeKey) -> dict[str, str]:
    """The headers `S3Response.head_object` builds for a plain HeadObject of `key`."""
    fields: dict[str, str] = dict(key.metadata)
    fields.update(key.response_dict)
    fields["Accept-Ranges"] = "bytes"
    return fields


# ----- Moto's state (imperative shell) ------------------------------------------------------------------


def moto_backend(bucket_name: str):
    """The S3 backend that holds the bucket (as Moto's cross-account lookup finds it), or None."""
    where = s3_backends.bucket_accounts.get(bucket_name)
    if where is None:
        return None
    partition, account_id = where
    return s3_backends[account_id][partition]


class ObjectReads:
    """WSGI layer: answers plain GetObject, HeadObject and unversioned DeleteObject from Moto's state;
    everything else goes to `app`."""

    def __init__(self, app: Callable, threshold: int) -> None:
        self.app = app
        self.threshold = threshold
        self.global_cors = not moto_settings.DISABLE_GLOBAL_CORS

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in METHODS or not is_s3_request(environ):
            return self.app(environ, start_response)
        view = RequestView.from_environ(environ)
        if not plain_request(view) or not moto_is_plain():
            return self.app(environ, start_response)
        bucket_name, key_name = view.addressing.bucket, view.addressing.key
        backend = moto_backend(bucket_name)
        bucket = backend.buckets.get(bucket_name) if backend is not None else None
        key = backend.get_object(bucket_name, key_name) if bucket is not None else None  # as Moto's route
        if not answerable(view, bucket, key, self.threshold):
            return self.app(environ, start_response)
        resource = f"arn:{bucket.partition}:s3:::{bucket_name}/{key_name}"
        if bucket.get_permission(ACTIONS[view.method], resource) == PermissionResult.DENIED:
            return self.app(environ, start_response)
        if view.method == "DELETE":
            backend.delete_object(bucket_name, key_name)
            request_id = gen_amzn_requestid_long()
            headers = [("x-amzn-requestid", request_id), ("Content-Type", FLASK_CONTENT_TYPE)]
            if self.global_cors:
                headers.append(("Access-Control-Allow-Origin", "*"))
            start_response(STATUS_LINES[204], headers)
            return []
        key.advance()  # Moto's route looks the key up twice (`_key_response`, then the handler)
        head = view.method == "HEAD"
        if head:
            fields, body = head_fields(key), b""
        else:
            fields, body = get_fields(key), key.value
        headers = finish(fields, body, head, gen_amzn_requestid_long(), self.global_cors)
        start_response(STATUS_LINES[200], headers)
        return [] if head else [body]
