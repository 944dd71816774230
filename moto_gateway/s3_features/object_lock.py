"""Object Lock as S3 enforces it, where Moto 5.2.5 stores retention and legal hold but enforces them loosely.

What S3 documents (S3 User Guide, "Locking objects with Object Lock" and "How S3 Object Lock works",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html; S3 API Reference,
PutObjectLockConfiguration, PutObjectRetention, PutObjectLegalHold, DeleteObject, DeleteObjects):
- a lock protects an object *version*: DeleteObject with a versionId of a version under a legal hold, or
  under a retention period that has not passed, is 403 AccessDenied; without a versionId it only adds a
  delete marker, which a lock never prevents; an overwrite adds a version and leaves the locked one;
- GOVERNANCE retention gives way to `x-amz-bypass-governance-retention: true` from a principal allowed
  `s3:BypassGovernanceRetention` (the bucket owner's account, or a bucket policy's Allow); COMPLIANCE never;
- a retention period may be lengthened by anyone who may set it; shortening it, removing it or changing
  its mode needs the bypass under GOVERNANCE and is impossible under COMPLIANCE (403 AccessDenied);
- retention, legal hold and the x-amz-object-lock-* headers on a bucket without Object Lock: 400
  InvalidRequest "Bucket is missing Object Lock Configuration"; reading a retention or legal hold a version
  does not have: 404 NoSuchObjectLockConfiguration;
- PutObjectLockConfiguration: `ObjectLockEnabled` is `Enabled`; a default retention names a mode
  (GOVERNANCE or COMPLIANCE, as spelt) and exactly one of Days or Years, a positive number (400
  MalformedXML / InvalidRetentionPeriod); on a bucket whose versioning is not enabled, 409
  InvalidBucketState; on a versioned bucket that has objects it is allowed (Moto refuses it: the layer
  stores it in Moto's own bucket fields);
- versioning cannot be suspended on a bucket with Object Lock (409 InvalidBucketState).
The layer sits inside BucketLocks (a check and the change it guards happen under one lock) and outside the
change recorder, the fast paths and Moto, so the plain-object fast path never sees a request it refuses.
The bypass permission is decided by the access layer's own `decide`, from the context it leaves in the
environ (ACCESS_CONTEXT); with GATEWAY_ACCESS=moto or validation off every principal may bypass, as on Moto.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from tempfile import SpooledTemporaryFile
from xml.sax.saxutils import escape

from werkzeug.wsgi import get_input_stream

from moto_gateway.access.actions import Action
from moto_gateway.access.decide import decide as access_decide
from moto_gateway.state.s3state import find_bucket, find_version
from moto_gateway.wsgi.bodies import answered, has_body, put_back
from moto_gateway.wsgi.errors import S3Error, invalid_argument, new_request_id
from moto_gateway.wsgi.refusals import refuse_drained
from moto_gateway.wsgi.request import ACCESS_CONTEXT, RequestView
from moto_gateway.wsgi.services import MOTO_OWN_PATHS
from moto_gateway.wsgi.xml import child, child_text, local_name, malformed_xml, parse_xml

MODES = ("GOVERNANCE", "COMPLIANCE")
MAX_DELETE_BODY = 2 * 1024 * 1024  # 1,000 keys of 1,024 bytes and their versions; more is no DeleteObjects
LOCKED_MESSAGE = "Access Denied because object protected by object lock."
XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"


# ----- the rules (pure) ---------------------------------------------------------------------------------


def missing_lock_configuration() -> S3Error:
    return S3Error(400, "InvalidRequest", "Bucket is missing Object Lock Configuration")


def no_lock_configuration() -> S3Error:
    return S3Error(
        404, "NoSuchObjectLockConfiguration", "The specified object does not have a ObjectLock configuration"
    )


def locked() -> S3Error:
    return S3Error(403, "AccessDenied", LOCKED_MESSAGE)


def invalid_bucket_state(message: str) -> S3Error:
    return S3Error(409, "InvalidBucketState", message)


def parse_time(text: str | None) -> datetime.datetime | None:
    """An ISO 8601 time as S3 and Moto write it (`...Z`, with or without fractions), in UTC; None if not."""
    if not text:
        return None
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


@dataclass(frozen=True)
class Lock:
    """What protects one version: its retention (mode and until) and its legal hold."""

    mode: str | None
    until: datetime.datetime | None
    legal_hold: bool

    def retained(self, now: datetime.datetime) -> bool:
        return self.mode in MODES and self.until is not None and self.until > now


def lock_of(version) -> Lock:
    """The lock fields Moto keeps on a FakeKey (a delete marker has none)."""
    mode = getattr(version, "lock_mode", None) or None
    until = parse_time(getattr(version, "lock_until", None))
    return Lock(mode, until, getattr(version, "lock_legal_status", None) == "ON")


def deletion_refusal(lock: Lock, now: datetime.datetime, bypass: bool) -> S3Error | None:
    """Whether a version may be deleted for good: not under a legal hold, and not retained (GOVERNANCE gives
    way to an allowed bypass)."""
    if lock.legal_hold:
        return locked()
    if lock.retained(now) and not (lock.mode == "GOVERNANCE" and bypass):
        return locked()
    return None


def retention_change_refusal(
    lock: Lock, mode: str | None, until: datetime.datetime | None, now: datetime.datetime, bypass: bool
) -> S3Error | None:
    """PutObjectRetention over an existing retention: lengthening in the same mode is always allowed;
    anything else needs the bypass under GOVERNANCE and is refused under COMPLIANCE."""
    if not lock.retained(now):
        return None
    keeps = mode == lock.mode and until is not None and lock.until is not None and until >= lock.until
    if keeps:
        return None
    if lock.mode == "GOVERNANCE" and bypass:
        return None
    return locked()


def parse_retention(body: bytes, now: datetime.datetime) -> tuple[str | None, datetime.datetime | None]:
    """A Retention document: (mode, until); both absent removes the retention."""
    root = parse_xml(body)
    if local_name(root.tag) != "Retention":
        raise malformed_xml()
    mode = child_text(root, "Mode")
    until_text = child_text(root, "RetainUntilDate")
    if mode is None and until_text is None:
        return None, None
    if mode not in MODES or until_text is None:
        raise malformed_xml()
    until = parse_time(until_text)
    if until is None:
        raise malformed_xml()
    if until <= now:
        raise S3Error(400, "InvalidArgument", "The retain until date must be in the future!")
    return mode, until


def parse_legal_hold(body: bytes) -> str:
    root = parse_xml(body)
    status = child_text(root, "Status")
    if local_name(root.tag) != "LegalHold" or status not in ("ON", "OFF"):
        raise malformed_xml()
    return status


@dataclass(frozen=True)
class LockConfiguration:
    mode: str | None
    days: int | None
    years: int | None


def parse_lock_configuration(body: bytes) -> LockConfiguration:
    root = parse_xml(body)
    if local_name(root.tag) != "ObjectLockConfiguration" or child_text(root, "ObjectLockEnabled") != "Enabled":
        raise malformed_xml()
    rule = child(root, "Rule")
    if rule is None:
        return LockConfiguration(None, None, None)
    retention = child(rule, "DefaultRetention")
    if retention is None:
        raise malformed_xml()
    mode, days, years = (child_text(retention, name) for name in ("Mode", "Days", "Years"))
    if mode not in MODES or (days is None) == (years is None):
        raise malformed_xml()
    period = days if days is not None else years
    if not re.fullmatch(r"-?\d{1,9}", period or ""):
        raise malformed_xml()
    if int(period) <= 0:
        raise S3Error(
            400, "InvalidRetentionPeriod", "Default retention period must be a positive integer value."
        )
    return LockConfiguration(
        mode, int(days) if days is not None else None, int(years) if years is not None else None
    )


def check_lock_headers(headers: dict[str, str], now: datetime.datetime) -> None:
    """PutObject / CopyObject / CreateMultipartUpload's x-amz-object-lock-* headers (S3 API Reference,
    PutObject): a mode and a date together, a known mode, a future date, a legal hold ON or OFF."""
    mode = headers.get("x-amz-object-lock-mode")
    until = headers.get("x-amz-object-lock-retain-until-date")
    hold = headers.get("x-amz-object-lock-legal-hold")
    if (mode is None) != (until is None):
        raise S3Error(
            400,
            "InvalidArgument",
            "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied",
        )
    if mode is not None and mode not in MODES:
        raise invalid_argument("Unknown wormMode directive.", "x-amz-object-lock-mode", mode)
    if until is not None:
        moment = parse_time(until)
        if moment is None:
            raise invalid_argument(
                "The retain until date must be provided in ISO 8601 format",
                "x-amz-object-lock-retain-until-date",
                until,
            )
        if moment <= now:
            raise S3Error(400, "InvalidArgument", "The retain until date must be in the future!")
    if hold is not None and hold not in ("ON", "OFF"):
        raise invalid_argument(
            "Legal Hold must be either of 'ON' or 'OFF'", "x-amz-object-lock-legal-hold", hold
        )


def has_lock_headers(headers: dict[str, str]) -> bool:
    return any(name.startswith("x-amz-object-lock-") for name in headers)


def wants_bypass(headers: dict[str, str]) -> bool:
    return headers.get("x-amz-bypass-governance-retention", "").strip().lower() == "true"


def delete_entries(body: bytes) -> list[tuple[str, str | None]]:
    """(key, versionId) of each Object a DeleteObjects body names."""
    root = parse_xml(body)
    entries = []
    for node in root:
        if local_name(node.tag) == "Object":
            key = child_text(node, "Key")
            if key is not None:
                entries.append((key, child_text(node, "VersionId")))
    return entries


def without_entries(body: bytes, refused: set[tuple[str, str | None]]) -> bytes:
    """The DeleteObjects body without the objects the lock refused (Quiet kept)."""
    root = parse_xml(body)
    quiet = child_text(root, "Quiet")
    parts = [f'<Delete xmlns="{XMLNS}">']
    if quiet is not None:
        parts.append(f"<Quiet>{escape(quiet)}</Quiet>")
    for key, version in delete_entries(body):
        if (key, version) in refused:
            continue
        parts.append(f"<Object><Key>{escape(key)}</Key>")
        if version is not None:
            parts.append(f"<VersionId>{escape(version)}</VersionId>")
        parts.append("</Object>")
    parts.append("</Delete>")
    return "".join(parts).encode("utf-8")


def error_entries(refused: list[tuple[str, str | None]]) -> str:
    entries = []
    for key, version in refused:
        version_part = f"<VersionId>{escape(version)}</VersionId>" if version is not None else ""
        entries.append(
            f"<Error><Key>{escape(key)}</Key>{version_part}<Code>AccessDenied</Code>"
            f"<Message>{LOCKED_MESSAGE}</Message></Error>"
        )
    return "".join(entries)


def merged_delete_result(moto_body: bytes | None, refused: list[tuple[str, str | None]]) -> bytes:
    """Moto's DeleteResult with an Error for every version the lock kept (or only those, when Moto had
    nothing left to delete)."""
    errors = error_entries(refused)
    if moto_body is None:
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult xmlns="{XMLNS}">{errors}'
                "</DeleteResult>").encode()
    text = moto_body.decode("utf-8")
    at = text.rfind("</DeleteResult>")
    if at < 0:
        return moto_body
    return (text[:at] + errors + text[at:]).encode("utf-8")


# ----- Moto's state (imperative shell) ------------------------------------------------------------------


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class ObjectLock:
    """WSGI layer: refuses what Object Lock forbids, answers PutObjectLockConfiguration as S3 does."""

    def __init__(self, app: Callable, clock: Callable[[], datetime.datetime] = utc_now) -> None:
        self.app = app
        self.clock = clock

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(MOTO_OWN_PATHS):
            return self.app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET")
        query = environ.get("QUERY_STRING", "")
        if method == "GET" and not any(name in query for name in ("retention", "legal-hold", "object-lock")):
            return self.app(environ, start_response)  # reads are never refused by a lock
        view = RequestView.from_environ(environ)
        bucket_name, key = view.addressing.bucket, view.addressing.key
        if bucket_name is None:
            return self.app(environ, start_response)
        bucket, _account = find_bucket(bucket_name)
        if bucket is None:
            return self.app(environ, start_response)  # Moto answers NoSuchBucket
        try:
            return self.decide(environ, view, bucket, key or None, start_response)
        except S3Error as error:
            return refuse_drained(view, error, environ, start_response)

    def decide(self, environ: dict, view: RequestView, bucket, key: str | None, start_response: Callable):
        params, headers, method = view.params, view.headers, view.method
        enabled = bool(getattr(bucket, "object_lock_enabled", False))
        if key is None:
            if method == "PUT" and "object-lock" in params:
                return self.put_configuration(environ, view, bucket, start_response)
            if method == "GET" and "object-lock" in params and enabled:
                return configuration_answer(bucket, start_response)  # Moto names Days and Years, S3 one
            if method == "PUT" and "versioning" in params and enabled:
                body = read_small(environ)
                if b"Suspended" in body:
                    raise invalid_bucket_state(
                        "An Object Lock configuration is present on this bucket, so the versioning state "
                        "cannot be changed."
                    )
            if method == "POST" and "delete" in params and enabled:
                return self.delete_objects(environ, view, bucket, start_response)
            return self.app(environ, start_response)
        if "retention" in params or "legal-hold" in params:
            if not enabled:
                raise missing_lock_configuration()
            version = find_version(bucket, key, params.get("versionId"))
            if version is None or not hasattr(version, "lock_mode"):  # absent, or a delete marker
                return self.app(environ, start_response)  # Moto answers NoSuchKey / NoSuchVersion
            if method == "GET":
                lock = lock_of(version)
                if "retention" in params:
                    if lock.mode is None:
                        raise no_lock_configuration()
                    return retention_answer(version, start_response)  # Moto 5.2.5 has no GetObjectRetention
                if not getattr(version, "lock_legal_status", None):
                    raise no_lock_configuration()
                return self.app(environ, start_response)
            if method == "PUT" and "retention" in params:
                mode, until = parse_retention(read_small(environ), self.clock())
                refusal = retention_change_refusal(
                    lock_of(version), mode, until, self.clock(), self.bypass(environ, view, key)
                )
                if refusal:
                    raise refusal
                if mode is None:  # Moto cannot read a Retention without a mode: removed here, as it stores it
                    version.lock_mode = None
                    version.lock_until = None
                    start_response(
                        "200 OK", [("Content-Length", "0"), ("x-amz-request-id", new_request_id())]
                    )
                    return [b""]
            elif method == "PUT":
                parse_legal_hold(read_small(environ))
            return self.app(environ, start_response)
        if method in ("PUT", "POST") and has_lock_headers(headers) and "partNumber" not in params:
            if not enabled:
                raise missing_lock_configuration()
            check_lock_headers(headers, self.clock())
            if method == "POST" and "uploads" in params:
                return self.create_upload(environ, bucket, headers, start_response)
        if method == "DELETE" and enabled and "versionId" in params and "uploadId" not in params:
            if "tagging" not in params:
                version = find_version(bucket, key, params["versionId"])
                if version is not None:
                    lock = lock_of(version)
                    bypass = lock.mode == "GOVERNANCE" and self.bypass(environ, view, key)
                    refusal = deletion_refusal(lock, self.clock(), bypass)
                    if refusal:
                        raise refusal
        return self.app(environ, start_response)

    def create_upload(self, environ: dict, bucket, headers: dict[str, str], start_response: Callable):
        """CreateMultipartUpload with lock headers: Moto ignores them; they are kept on Moto's FakeMultipart
        for its completion (moto_patches/lock_defaults.py)."""
        body = answered(self.app, environ, start_response)
        found = re.search(rb"<UploadId>([^<]+)</UploadId>", b"".join(body))
        multipart = bucket.multiparts.get(found.group(1).decode()) if found else None
        if multipart is not None:
            multipart.lock_mode = headers.get("x-amz-object-lock-mode")
            multipart.lock_until = headers.get("x-amz-object-lock-retain-until-date")
            multipart.lock_legal_status = headers.get("x-amz-object-lock-legal-hold")
        return body

    def bypass(self, environ: dict, view: RequestView, key: str | None) -> bool:
        """Whether the request asks for the governance bypass and its principal may use it."""
        if not wants_bypass(view.headers):
            return False
        context = environ.get(ACCESS_CONTEXT)
        if context is None:
            return True  # nobody decides access (GATEWAY_ACCESS=moto, validation off): as on Moto
        principal, bucket_state, keys = context
        action = Action("BypassGovernanceRetention", view.addressing.bucket, key)
        return access_decide(principal, action, bucket_state, None, keys).allowed

    def put_configuration(self, environ: dict, view: RequestView, bucket, start_response: Callable):
        configuration = parse_lock_configuration(read_small(environ))
        if getattr(bucket, "versioning_status", None) != "Enabled":
            raise invalid_bucket_state(
                "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration"
            )
        # Moto's own call refuses a bucket that has objects (S3 allows it): its fields, set as it sets them
        bucket.object_lock_enabled = True
        bucket.default_lock_mode = configuration.mode or ""
        bucket.default_lock_days = configuration.days or 0
        bucket.default_lock_years = configuration.years or 0
        start_response("200 OK", [("Content-Length", "0"), ("x-amz-request-id", new_request_id())])
        return [b""]

    def delete_objects(self, environ: dict, view: RequestView, bucket, start_response: Callable):
        body = read_small(environ, MAX_DELETE_BODY)
        try:
            entries = delete_entries(body)
        except S3Error:
            return self.app(environ, start_response)  # Moto and the body checks answer a bad body
        now = self.clock()
        bypass_asked = wants_bypass(view.headers)
        refused = []
        for key, version_id in entries:
            if version_id is None:
                continue  # a delete marker: never refused by a lock
            version = find_version(bucket, key, version_id)
            if version is None:
                continue
            lock = lock_of(version)
            bypass = bypass_asked and lock.mode == "GOVERNANCE" and self.bypass(environ, view, key)
            if deletion_refusal(lock, now, bypass):
                refused.append((key, version_id))
        if not refused:
            return self.app(environ, start_response)
        remaining = without_entries(body, set(refused))
        if len(refused) == len(entries):
            document = merged_delete_result(None, refused)
            start_response(
                "200 OK", [("Content-Type", "application/xml"), ("Content-Length", str(len(document)))]
            )
            return [document]
        spool = SpooledTemporaryFile(max_size=MAX_DELETE_BODY)
        spool.write(remaining)
        put_back(environ, spool)
        checked = [name for name in environ if name.startswith("HTTP_X_AMZ_CHECKSUM_")]
        for name in [*checked, "HTTP_CONTENT_MD5"]:
            environ.pop(name, None)  # checked outside, on the body the client sent
        status_headers: list = []

        def keep(status: str, headers: list, exc_info=None):
            status_headers[:] = [status, headers]

        try:
            moto_body = b"".join(answered(self.app, environ, keep))
        finally:
            spool.close()
        status, headers = status_headers
        if not status.startswith("200"):
            start_response(status, headers)
            return [moto_body]
        document = merged_delete_result(moto_body, refused)
        headers = [(name, value) for name, value in headers if name.lower() != "content-length"]
        start_response(status, [*headers, ("Content-Length", str(len(document)))])
        return [document]


def configuration_answer(bucket, start_response: Callable) -> list[bytes]:
    rule = ""
    if bucket.default_lock_mode:
        period = (f"<Days>{bucket.default_lock_days}</Days>" if bucket.default_lock_days
                  else f"<Years>{bucket.default_lock_years}</Years>")
        mode = f"<Mode>{bucket.default_lock_mode}</Mode>"
        rule = f"<Rule><DefaultRetention>{mode}{period}</DefaultRetention></Rule>"
    document = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ObjectLockConfiguration xmlns="{XMLNS}">'
        f"<ObjectLockEnabled>Enabled</ObjectLockEnabled>{rule}</ObjectLockConfiguration>"
    ).encode()
    start_response("200 OK", [("Content-Type", "application/xml"), ("Content-Length", str(len(document))),
                              ("x-amz-request-id", new_request_id())])
    return [document]


def retention_answer(version, start_response: Callable) -> list[bytes]:
    until = lock_of(version).until
    text = until.strftime("%Y-%m-%dT%H:%M:%S.") + f"{until.microsecond // 1000:03d}Z" if until else ""
    document = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Retention xmlns="{XMLNS}">'
        f"<Mode>{escape(version.lock_mode)}</Mode><RetainUntilDate>{text}</RetainUntilDate></Retention>"
    ).encode()
    headers = [("Content-Type", "application/xml"), ("Content-Length", str(len(document))),
               ("x-amz-request-id", new_request_id())]
    if getattr(version, "version_id", "null") != "null":
        headers.append(("x-amz-version-id", str(version.version_id)))
    start_response("200 OK", headers)
    return [document]


def read_small(environ: dict, limit: int = 1024 * 1024) -> bytes:
    """A configuration body (S3's are small), read and put back for the layers inside."""
    if not has_body(environ):
        return b""
    body = get_input_stream(environ).read(limit + 1)
    if len(body) > limit:
        raise malformed_xml()
    spool = SpooledTemporaryFile(max_size=limit + 1)
    spool.write(body)
    put_back(environ, spool)
    return body
