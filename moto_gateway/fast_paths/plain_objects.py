"""GetObject, HeadObject, PutObject and DeleteObject in their plain, common form, answered from Moto's
backend state without Moto's Flask route, with exactly the status, headers and body Moto's route gives.

Why: after the listings (listing.py), Moto's own Flask route and S3Response were the largest single part of
a small GET's or PUT's CPU (a third of a GET, half of a PUT; py-spy: request setup, URL, query and header
parsing, response building); the S3 work itself is a dictionary lookup or one new FakeKey. This layer does
that work with Moto's own parts (`S3Backend.get_object` / `put_object` / `delete_object`, `FakeKey`'s
`response_dict`, `metadata`, `value`, `metadata_from_headers`, the ACL and tagging Moto derives from
headers, Moto's request id generator) and builds the answer Moto 5.2.5 builds, in Moto's order:

- GetObject (`S3Response.get_object` with the gateway's patches): `x-amz-version-id` unless "null", the
  key's `response_dict`, its checksum with `x-amz-checksum-mode: ENABLED` (boto3 asks for it on every
  GetObject), its metadata, `Accept-Ranges`, `x-amzn-requestid`, Moto's `application/xml`
  for a body without a content type; then what Flask and werkzeug add (`Content-Type: text/html;
  charset=utf-8` when still none, `Content-Length` of the body, flask-cors' `Access-Control-Allow-Origin`).
- HeadObject (`S3Response.head_object` and the gateway's checksum-header patch): metadata, `response_dict`,
  `Accept-Ranges`, the checksum when asked for, request id; no body, `Content-Length` the object's size,
  as Moto's HEAD fix-up sets it.
- PutObject with a body of at most the streaming threshold and no header beyond content headers, user
  metadata, checksums and the signature's own (`S3Response.put_object`): Moto's `_get_checksum` (with
  the gateway's patch), the same `put_object`, metadata (from the headers, and from the query or, without
  one, the headers again, as Moto's request setup makes it), ACL (the gateway's default-ACL patch
  included) and tags; 200 with the checksum header and the new key's `response_dict`.
- DeleteObject of an unversioned bucket (`S3Response.delete_object`): Moto's `delete_object`, which pops the
  key (disposing of its buffer); 204 with the request id.
The ChangeRecorder outside sees the same status for a put or a delete and records it once, as before, with
the version fields it reads from Moto's state.

Everything else goes to Moto unchanged (`plain_request` and `answerable` decide, from what Moto's route
reads, before any body is read): any query parameter beyond a presigned URL's own, an `Origin` (CORS),
`Range`, conditional headers, SSE-C headers, `x-moto-account-id`, an unsigned
(anonymous) request, virtual-hosted addressing, an access key IAM knows (Moto records its last use), a body on
a read or delete; for a put, any other `x-amz-*` header (ACL, grants, tagging, storage class, SSE, object
lock, website redirect, copy source), aws-chunked or form bodies, a body above the threshold (it
streams into a spool, streamed_bodies.py) or a presigned URL that names content headers; a missing bucket
or key (NoSuchBucket, NoSuchKey, delete markers, Moto's checks of presigned headers), a GetObject of an
archived storage class, a key larger than the streaming threshold (its body streams, streamed_reads.py), a
bucket with a policy that denies, logging, notifications, object lock, a table bucket, or another
partition than the request's; a delete or put in a versioned (or suspended) bucket for deletes; and all of
it while Moto's IAM emulation (INITIAL_NO_AUTH_ACTION_COUNT), its request recorder, its cross-account
switch or MOTO_ACCOUNT_ID would make Moto's route do more. The layer sits inside BucketLocks (it reads and
writes under the bucket's lock) and inside the access layer and the signature checks, so authentication
and authorisation are unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from urllib.parse import unquote

from moto import settings as moto_settings
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.request import EnvironHeaders
from moto.core.responses import BaseResponse
from moto.core.utils import extract_region_from_aws_authorization
from moto.iam.access_control import PermissionResult
from moto.iam.models import iam_backends
from moto.moto_api import recorder
from moto.s3.models import ARCHIVE_STORAGE_CLASSES, FakeKey, FakeTableStorageBucket
from moto.s3.responses import S3Response
from moto.s3.utils import metadata_from_headers, parse_region_from_url
from moto.utilities.aws_headers import gen_amzn_requestid_long
from moto.utilities.utils import PARTITION_NAMES, get_partition
from werkzeug.wsgi import get_input_stream

from moto_gateway.fast_paths.listing import SIGNING_PARAMETERS
from moto_gateway.moto_patches import checksum_headers
from moto_gateway.state.s3state import bucket_home
from moto_gateway.wsgi.request import RequestView
from moto_gateway.wsgi.services import is_s3_request

METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})
ACTIONS = {"GET": "s3:GetObject", "HEAD": "s3:HeadObject", "PUT": "s3:PutObject", "DELETE": "s3:DeleteObject"}
NO_ACCESS_KEY = "AKIAEXAMPLE"  # what Moto's `get_access_key` answers when it finds none
DEFAULT_REGION = "us-east-1"
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
        "x-amz-server-side-encryption-customer-algorithm",
        "x-amz-server-side-encryption-customer-key",
        "x-amz-server-side-encryption-customer-key-md5",
        "x-amz-bypass-governance-retention",
        "x-amz-mfa",
        "x-moto-account-id",
        "transfer-encoding",
    }
)
# the only x-amz-* headers a plain PutObject carries (besides x-amz-meta-*): the signature's own
PUT_AMZ_HEADERS = frozenset(
    {"x-amz-date", "x-amz-content-sha256", "x-amz-security-token", "x-amz-user-agent",
     "x-amz-sdk-checksum-algorithm", "x-amz-checksum-crc32", "x-amz-checksum-crc32c",
     "x-amz-checksum-crc64nvme", "x-amz-checksum-sha1", "x-amz-checksum-sha256"}
)
CHECKSUM_HEADER_PREFIXES = ("x-amz-checksum-", "x-amz-sdk-checksum-")
"""Without a header of these, `_get_checksum` (patched or not) reads six headers to find none (4% of a
plain PUT's CPU, py-spy): the layer skips the call."""
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# a presigned URL naming one of these is checked against the request's headers when the key is missing
PRESIGNED_HEADER_CHECKS = (
    "content-disposition=", "content-encoding=", "content-language=", "content-length=", "content-md5=",
    "content-type=",
)


# ----- the decision (pure) ------------------------------------------------------------------------------


def plain_request(view: RequestView) -> bool:
    """Whether this request, by what it says, is one the layer answers: a GET, HEAD, PUT or DELETE of a
    path-style object, signed (header or presigned URL), with no parameter, header or body that changes
    what Moto's route does (a PutObject's content headers and user metadata aside)."""
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
    if view.method == "PUT":
        if not plain_put_headers(headers) or presigned_header_checks(view):
            return False
    elif headers.get("content-length", "0") != "0" or "content-type" in headers:
        return False
    return "authorization" in headers or "Signature=" in view.raw_query


def plain_put_headers(headers: dict[str, str]) -> bool:
    """A PutObject's headers say nothing the layer does not store as Moto stores it."""
    for name in headers:
        if name.startswith("x-amz-") and name not in PUT_AMZ_HEADERS and not name.startswith("x-amz-meta-"):
            return False
    length = headers.get("content-length", "")
    form = headers.get("content-type", "").startswith(FORM_TYPES)
    return length.isdigit() and length.isascii() and not form


def moto_access_key(view: RequestView) -> str:
    """The access key Moto's request setup reads (`BaseResponse.get_access_key`)."""
    authorization = view.headers.get("authorization")
    if authorization:
        match = BaseResponse.access_key_regex.search(authorization)
        if match:
            return match.group(1)
    return view.params.get("AWSAccessKeyId") or NO_ACCESS_KEY


def moto_partition(view: RequestView) -> str:
    """The partition of the backend Moto's S3 route works on (`S3Response.setup_class`'s region)."""
    url = f"http://{view.host}{view.raw_path}"
    region = (
        parse_region_from_url(url, use_default_region=False)
        or extract_region_from_aws_authorization(view.headers.get("authorization", ""))
        or DEFAULT_REGION
    )
    return get_partition(region)


def answerable(view: RequestView, bucket, key, threshold: int) -> bool:
    """Whether Moto's state lets the layer answer as Moto would: the bucket and, for a read, the key's
    current version exist; nothing about them asks Moto's route for more."""
    if bucket is None or isinstance(bucket, FakeTableStorageBucket) or getattr(bucket, "logging", None):
        return False
    if view.method == "DELETE":
        return not bucket.versioning_status and bucket.notification_configuration is None and (
            key is not None or not presigned_header_checks(view)
        )
    if view.method == "PUT":
        return (
            bucket.notification_configuration is None
            and not bucket.object_lock_enabled
            and int(view.headers["content-length"]) <= threshold
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


class ChecksumContext:
    """What Moto's `_get_checksum` (and the gateway's checksum-header patch of it) reads of the response
    object: the request's headers and raw body."""

    def __init__(self, headers: EnvironHeaders, raw_body: bytes) -> None:
        self.headers = headers
        self.raw_body = raw_body


class _AclContext:
    """What Moto's `_acl_from_headers` (and the gateway's default-ACL patch of it) reads of the response
    object: a PutObject's query is never `?acl`."""

    querystring: dict = {}


ACL_CONTEXT = _AclContext()


def get_fields(key: FakeKey, checksum_mode: bool) -> dict[str, str]:
    """The headers `S3Response.get_object` builds for a plain GetObject of `key`."""
    fields: dict[str, str] = {}
    if key.version_id != "null":
        fields["x-amz-version-id"] = key.version_id
    fields.update(key.response_dict)
    if checksum_mode and key.checksum_algorithm:
        qualified = key.checksum_value
        if key.checksum_type == "COMPOSITE":
            qualified = f"{key.checksum_value}-{key.checksum_parts}"
        fields[f"x-amz-checksum-{key.checksum_algorithm.lower()}"] = qualified
        if key.checksum_type:
            fields["x-amz-checksum-type"] = key.checksum_type
    fields.update(key.metadata)
    fields["Accept-Ranges"] = "bytes"
    return fields


def head_fields(key: FakeKey, checksum_mode: bool) -> dict[str, str]:
    """The headers `S3Response.head_object` builds for a plain HeadObject of `key`, then the gateway's
    checksum-header patch of it (moto_patches/checksum_headers.py)."""
    fields: dict[str, str] = dict(key.metadata)
    fields.update(key.response_dict)
    fields["Accept-Ranges"] = "bytes"
    if checksum_mode and key.checksum_algorithm:
        fields[f"x-amz-checksum-{key.checksum_algorithm.lower()}"] = key.checksum_value
    if checksum_mode and key.checksum_algorithm and key.checksum_value:
        fields[f"x-amz-checksum-{key.checksum_algorithm.lower()}"] = checksum_headers.qualified(key)
        if key.checksum_type:
            fields["x-amz-checksum-type"] = key.checksum_type
    return fields


# ----- Moto's state (imperative shell) ------------------------------------------------------------------


def known_to_iam(access_key: str) -> bool:
    """Whether IAM holds this access key (`get_account_id_from`'s search): Moto's route then works in its
    account and records the key's use."""
    if access_key == NO_ACCESS_KEY:
        return False
    return any(
        access_key in account[partition].access_keys
        for _, account in list(iam_backends.items())
        for partition in PARTITION_NAMES
    )


class PlainObjects:
    """WSGI layer: answers plain GetObject, HeadObject, PutObject and unversioned DeleteObject from Moto's
    state; everything else goes to `app`."""

    def __init__(self, app: Callable, threshold: int) -> None:
        self.app = app
        self.threshold = threshold
        self.global_cors = not moto_settings.DISABLE_GLOBAL_CORS

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in METHODS or not is_s3_request(environ):
            return self.app(environ, start_response)
        view = RequestView.from_environ(environ)
        if not plain_request(view) or not moto_is_plain() or known_to_iam(moto_access_key(view)):
            return self.app(environ, start_response)
        bucket_name, key_name = view.addressing.bucket, view.addressing.key
        backend, partition, account_id = bucket_home(bucket_name)
        bucket = backend.buckets.get(bucket_name) if backend is not None else None
        key = backend.get_object(bucket_name, key_name) if bucket is not None else None  # as Moto's route
        if not answerable(view, bucket, key, self.threshold):
            return self.app(environ, start_response)
        if view.method == "PUT" and (account_id != DEFAULT_ACCOUNT_ID or partition != moto_partition(view)):
            return self.app(environ, start_response)  # Moto would store the key in another backend
        resource = f"arn:{bucket.partition}:s3:::{bucket_name}/{key_name}"
        if bucket.get_permission(ACTIONS[view.method], resource) == PermissionResult.DENIED:
            return self.app(environ, start_response)
        if view.method == "DELETE":
            backend.delete_object(bucket_name, key_name)
            return self.respond(start_response, 204, [], b"", head=True)
        if view.method == "PUT":
            fields = self.put(environ, view, backend, bucket_name, key_name)
            return self.respond(start_response, 200, list(fields.items()), b"", head=True)
        key.advance()  # Moto's route looks the key up twice (`_key_response`, then the handler)
        checksum_mode = view.headers.get("x-amz-checksum-mode") == "ENABLED"
        if view.method == "HEAD":
            if checksum_mode:
                key.advance()  # and the checksum-header patch a third time
            fields = head_fields(key, checksum_mode)
            return self.respond(start_response, 200, list(fields.items()), b"", head=True)
        fields = get_fields(key, checksum_mode)
        return self.respond(start_response, 200, list(fields.items()), key.value, head=False)

    def put(
        self, environ: dict, view: RequestView, backend, bucket_name: str, key_name: str
    ) -> dict[str, str]:
        """What `S3Response.put_object` stores for a plain PutObject (no lock, SSE, ACL or tagging header:
        those go to Moto), and the headers it answers."""
        headers = EnvironHeaders(environ)  # Moto's request headers: underscored metadata names as sent
        body = get_input_stream(environ).read()
        fields: dict[str, str] = {}
        algorithm, checksum = "", None  # what Moto's `_get_checksum` answers when no header names one
        if any(name.startswith(CHECKSUM_HEADER_PREFIXES) for name in view.headers):
            algorithm, checksum = S3Response._get_checksum(ChecksumContext(headers, body), fields)
        acl = S3Response._acl_from_headers(ACL_CONTEXT, headers)
        if acl is None:
            acl = backend.get_bucket(bucket_name).acl
        new_key = backend.put_object(
            bucket_name, key_name, body or b"", storage="STANDARD", checksum_value=checksum
        )
        metadata = metadata_from_headers(headers)
        # Moto's request setup: the query's parameters, or without a query the headers themselves
        querystring = {name: [value] for name, value in view.query} if view.raw_query else dict(headers)
        metadata.update(metadata_from_headers(querystring))
        new_key.set_metadata(metadata)
        new_key.set_acl(acl)
        new_key.website_redirect_location = headers.get("x-amz-website-redirect-location")
        if algorithm:
            new_key.checksum_algorithm = algorithm
        backend.put_object_tagging(new_key, {})
        fields.update(new_key.response_dict)
        fields.pop("content-length", None)  # the answer has no body
        return fields

    def respond(
        self, start_response: Callable, status: int, fields: list[tuple[str, str]], body: bytes, head: bool
    ) -> list[bytes]:
        """Moto's `_send_response`, then Flask's Response and flask-cors, on the headers Moto's handler
        built; werkzeug leaves out a 204's Content-Length."""
        headers = [*fields, ("x-amzn-requestid", gen_amzn_requestid_long())]
        if body and not has_header(headers, "content-type"):
            headers.append(("content-type", MOTO_CONTENT_TYPE))
        if not has_header(headers, "content-type"):
            headers.append(("Content-Type", FLASK_CONTENT_TYPE))
        length = dict(fields).get("content-length") if head else None
        set_header(headers, "Content-Length", length or str(len(body)))
        if status == 204:
            headers = [(n, v) for n, v in headers if n != "Content-Length"]
        if self.global_cors:
            headers.append(("Access-Control-Allow-Origin", "*"))
        start_response(STATUS_LINES[status], headers)
        return [] if head else [body]
