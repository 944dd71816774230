"""Conditional requests as S3 answers them, decided under the bucket's lock so a check and the write it guards
are one step (Moto 5.2.5 checks some of them, with other precedence rules, and ignores the rest).

What S3 documents (S3 User Guide, "Conditional requests",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-requests.html, and "How to prevent object
overwrites with conditional writes", .../userguide/conditional-writes.html; S3 API Reference, GetObject,
HeadObject, PutObject, CompleteMultipartUpload, CopyObject, UploadPartCopy; RFC 7232, which they follow):
- GetObject / HeadObject: If-Match false is 412 PreconditionFailed and, when If-Match holds, If-Unmodified-
  Since is not looked at ("If-Match evaluates to true and If-Unmodified-Since to false: 200 OK"); without
  If-Match, If-Unmodified-Since false is 412. If-None-Match false is 304 Not Modified and, when If-None-Match
  is sent, If-Modified-Since is not looked at; without it, If-Modified-Since false is 304. A 304 has no body
  and carries the ETag and Last-Modified. An ETag matches with or without its quotes; `*` matches any object;
  a date that is not an HTTP date is ignored.
- PutObject, CompleteMultipartUpload and CopyObject (its destination): `If-None-Match: *` is 412 when the
  key has a current object (a delete marker is none); `If-Match: <etag>` is 412 when the current object has
  another ETag and 404 NoSuchKey when there is none. A delete of the key that succeeds while a conditional
  multipart upload is in progress makes its completion 409 ConditionalRequestConflict ("initiate another
  CreateMultipartUpload request and re-upload each part"): the gateway marks the upload's FakeMultipart.
- CopyObject and UploadPartCopy: x-amz-copy-source-if-match / -if-none-match / -if-modified-since /
  -if-unmodified-since on the source, every failure 412; copy-source-if-match true overrides
  -if-unmodified-since false, and a copy-source-if-none-match that is sent overrides -if-modified-since.
Every condition the layer decided is taken off the request, so Moto, whose rules differ, does not judge it
again. The layer sits inside BucketLocks and outside the fast paths, the change recorder and Moto.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from email.utils import parsedate_to_datetime

from moto_gateway.s3_features.object_lock import MAX_DELETE_BODY, delete_entries, read_small
from moto_gateway.s3_features.sse_c import OBJECT_WRITE_PARAMS, copy_source, reads_object
from moto_gateway.state import durable
from moto_gateway.state.s3state import find_bucket, find_version
from moto_gateway.wsgi.bodies import answered_with_status
from moto_gateway.wsgi.errors import S3Error, new_request_id, precondition_failed
from moto_gateway.wsgi.refusals import refuse_drained
from moto_gateway.wsgi.request import VIEW_ENVIRON, RequestView
from moto_gateway.wsgi.services import MOTO_OWN_PATHS

READ_CONDITIONS = ("if-match", "if-none-match", "if-modified-since", "if-unmodified-since")
COPY_CONDITIONS = tuple(f"x-amz-copy-source-{name}" for name in READ_CONDITIONS)
WRITE_CONDITIONS = ("if-match", "if-none-match")
DELETED_DURING_UPLOAD = "conditional_conflict"
"""On Moto's FakeMultipart: a delete of its key succeeded after the upload began (a conditional completion
of it is 409 ConditionalRequestConflict)."""


class NotModified(Exception):
    """A read whose If-None-Match / If-Modified-Since says the client's copy is current: 304."""


def no_such_key() -> S3Error:
    return S3Error(404, "NoSuchKey", "The specified key does not exist.")


def conditional_conflict() -> S3Error:
    return S3Error(
        409,
        "ConditionalRequestConflict",
        "A conflicting operation occurred. If using PutObject you can retry the request. If using multipart "
        "upload you should initiate another CreateMultipartUpload request and re-upload each part.",
    )


# ----- the rules (pure) ---------------------------------------------------------------------------------


def etag_matches(header: str, etag: str) -> bool:
    """Whether an If-Match / If-None-Match list names this ETag (quotes, a weak prefix ignored) or is `*`."""
    bare = etag.strip().strip('"')
    for tag in header.split(","):
        tag = tag.strip()
        if tag == "*":
            return True
        if tag.removeprefix("W/").strip('"') == bare:
            return True
    return False


def http_date(text: str | None) -> datetime.datetime | None:
    """An HTTP date (RFC 7231, or the ISO form boto3 writes when given a string), in UTC; None if it is not
    one (RFC 7232: such a header is ignored)."""
    if not text:
        return None
    try:
        moment = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        try:
            moment = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def modified_at(version) -> datetime.datetime:
    """A version's Last-Modified to the second (HTTP dates have no fractions), in UTC."""
    moment = version.last_modified.replace(microsecond=0)
    return moment.replace(tzinfo=datetime.timezone.utc) if moment.tzinfo is None else moment


def check_read_conditions(
    conditions: Mapping[str, str], etag: str, last_modified: datetime.datetime, prefix: str = ""
) -> None:
    """RFC 7232 section 6's order, as S3 documents it for GetObject and HeadObject: raises 412, or
    NotModified. With the copy-source prefix every failure is 412 (CopyObject, UploadPartCopy)."""
    if_match = conditions.get(prefix + "if-match")
    if if_match is not None:
        if not etag_matches(if_match, etag):
            raise precondition_failed(f"{prefix}If-Match")
    else:
        unmodified_since = http_date(conditions.get(prefix + "if-unmodified-since"))
        if unmodified_since is not None and last_modified > unmodified_since:
            raise precondition_failed(f"{prefix}If-Unmodified-Since")
    if_none_match = conditions.get(prefix + "if-none-match")
    if if_none_match is not None:
        if etag_matches(if_none_match, etag):
            if prefix:
                raise precondition_failed(f"{prefix}If-None-Match")
            raise NotModified()
    else:
        modified_since = http_date(conditions.get(prefix + "if-modified-since"))
        if modified_since is not None and last_modified <= modified_since:
            if prefix:
                raise precondition_failed(f"{prefix}If-Modified-Since")
            raise NotModified()


def check_write_conditions(headers: Mapping[str, str], current_etag: str | None) -> None:
    """If-None-Match: * fails over an existing key; If-Match needs the key, with that ETag."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None and if_none_match.strip() == "*" and current_etag is not None:
        raise precondition_failed("If-None-Match")
    if_match = headers.get("if-match")
    if if_match is not None:
        if current_etag is None:
            raise no_such_key()
        if not etag_matches(if_match, current_etag):
            raise precondition_failed("If-Match")


# ----- Moto's state (imperative shell) ------------------------------------------------------------------


def object_version(bucket, key: str, version_id: str | None):
    """The object version a request names, None if absent or a delete marker."""
    version = find_version(bucket, key, version_id)
    if version is None or getattr(version, "is_delete_marker", False) or not hasattr(version, "etag"):
        return None
    return version


def without_headers(environ: dict, names: Iterable[str]) -> None:
    """The decided conditions taken off the request, and then its cached view (rebuilt by the next reader).
    Only then: a view rebuilt here would carry what the layers in between added to the environ (the access
    layer's x-moto-account-id), and the fast paths would take every plain PutObject for one they must leave
    to Moto (measured: the memory-only gateway's PUT rate halved)."""
    removed = [environ.pop("HTTP_" + name.upper().replace("-", "_"), None) for name in names]
    if any(value is not None for value in removed):
        environ.pop(VIEW_ENVIRON, None)


def sent(headers: Mapping[str, str], names: Iterable[str]) -> list[str]:
    return [name for name in names if name in headers]


class ConditionalRequests:
    """WSGI layer: GET/HEAD preconditions, conditional writes and copy-source conditions, as S3 has them."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(MOTO_OWN_PATHS):
            return self.app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET")
        if method in ("GET", "HEAD") and not any(
            "HTTP_" + name.upper().replace("-", "_") in environ for name in READ_CONDITIONS
        ):
            return self.app(environ, start_response)  # a plain read costs nothing here
        view = RequestView.from_environ(environ)
        bucket_name, key = view.addressing.bucket, view.addressing.key
        if not bucket_name:
            return self.app(environ, start_response)
        bucket, _account = find_bucket(bucket_name)
        if bucket is None:
            return self.app(environ, start_response)  # Moto answers NoSuchBucket
        if not key:
            if method == "POST" and "delete" in view.params:  # DeleteObjects
                return self.marking_uploads(environ, bucket, deleted_keys(environ), start_response)
            return self.app(environ, start_response)
        try:
            return self.decide(environ, view, bucket, key, start_response)
        except S3Error as error:
            return refuse_drained(view, error, environ, start_response)

    def decide(self, environ: dict, view: RequestView, bucket, key: str, start_response: Callable):
        headers, params, method = view.headers, view.params, view.method
        if method in ("GET", "HEAD") and reads_object(params):
            return self.read(environ, view, bucket, key, start_response)
        if method == "PUT" and "x-amz-copy-source" in headers:  # CopyObject, UploadPartCopy
            self.check_copy_source(headers)
            decided = sent(headers, COPY_CONDITIONS)
            if "uploadId" not in params:
                decided += self.check_write(bucket, key, headers)
            without_headers(environ, decided)
            return self.app(environ, start_response)
        if method == "PUT" and set(params) <= OBJECT_WRITE_PARAMS:
            without_headers(environ, self.check_write(bucket, key, headers))
            return self.app(environ, start_response)
        if method == "POST" and "uploadId" in params:
            return self.complete(environ, view, bucket, key, start_response)
        if method == "DELETE" and set(params) <= OBJECT_WRITE_PARAMS:
            return self.marking_uploads(environ, bucket, [key], start_response)
        return self.app(environ, start_response)

    def read(self, environ: dict, view: RequestView, bucket, key: str, start_response: Callable):
        version = object_version(bucket, key, view.params.get("versionId"))
        if version is None:
            return self.app(environ, start_response)  # Moto answers NoSuchKey, NoSuchVersion, a marker
        try:
            check_read_conditions(view.headers, version.etag, modified_at(version))
        except NotModified:
            return not_modified(version, start_response)
        without_headers(environ, READ_CONDITIONS)
        return self.app(environ, start_response)

    def check_write(self, bucket, key: str, headers: Mapping[str, str]) -> list[str]:
        """PutObject's, CopyObject's and CompleteMultipartUpload's own If-Match / If-None-Match; the names of
        the headers decided (an If-None-Match other than `*` is left to Moto)."""
        decided = sent(headers, ("if-match",))
        if headers.get("if-none-match", "").strip() == "*":
            decided.append("if-none-match")
        if decided:
            current = object_version(bucket, key, None)
            check_write_conditions(headers, current.etag if current is not None else None)
        return decided

    def check_copy_source(self, headers: Mapping[str, str]) -> None:
        if not sent(headers, COPY_CONDITIONS):
            return
        source = copy_source(headers)
        if source is None:
            return
        source_bucket, source_key, version_id = source
        bucket, _account = find_bucket(source_bucket)
        version = None
        if bucket is not None and source_key:
            version = object_version(bucket, source_key, version_id)
        if version is None:
            return  # Moto answers NoSuchKey
        check_read_conditions(headers, version.etag, modified_at(version), "x-amz-copy-source-")

    def complete(self, environ: dict, view: RequestView, bucket, key: str, start_response: Callable):
        upload = bucket.multiparts.get(view.params["uploadId"])
        if upload is None:
            return self.app(environ, start_response)  # NoSuchUpload, or a repeated completion (200)
        conditional = sent(view.headers, WRITE_CONDITIONS)
        if conditional and getattr(upload, DELETED_DURING_UPLOAD, False):
            raise conditional_conflict()
        without_headers(environ, self.check_write(bucket, key, view.headers))
        return self.app(environ, start_response)

    def marking_uploads(self, environ: dict, bucket, keys: list[str], start_response: Callable):
        """A delete that succeeds marks the uploads in progress to its keys (a conditional completion of one
        of them is then 409)."""
        status, body = answered_with_status(self.app, environ, start_response)
        if status is not None and 200 <= status < 300:
            mark_uploads(bucket, set(keys))
        return body


def mark_uploads(bucket, keys: set[str]) -> None:
    """Each upload to one of `keys` marked as crossed by a delete, and stored so with the request's change
    (this layer runs inside the durable capture): a restart keeps the 409 it promises."""
    for upload_id, upload in list(bucket.multiparts.items()):
        if upload.key_name in keys and not getattr(upload, DELETED_DURING_UPLOAD, False):
            setattr(upload, DELETED_DURING_UPLOAD, True)
            durable.upload_changed(bucket.name, upload_id)


def not_modified(version, start_response: Callable) -> list[bytes]:
    headers = [
        ("ETag", version.etag),
        ("Last-Modified", version.last_modified_RFC1123),
        ("x-amz-request-id", new_request_id()),
    ]
    if str(getattr(version, "version_id", "null")) != "null":
        headers.append(("x-amz-version-id", str(version.version_id)))
    start_response("304 Not Modified", headers)
    return []


def deleted_keys(environ: dict) -> list[str]:
    """The keys a DeleteObjects body names (read and put back; a body that does not parse names none: Moto
    and the body checks answer it)."""
    try:
        return [key for key, _version in delete_entries(read_small(environ, MAX_DELETE_BODY))]
    except S3Error:
        return []
