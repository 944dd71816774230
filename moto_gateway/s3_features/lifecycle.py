"""S3 Lifecycle: rules validated as S3 validates them, and carried out by a scheduler; Moto only stores them.

What S3 documents (S3 User Guide, "Managing the lifecycle of objects", "Lifecycle configuration elements"
https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html, "Setting lifecycle
configuration on a bucket"; S3 API Reference, PutBucketLifecycleConfiguration, LifecycleRule,
LifecycleExpiration, NoncurrentVersionExpiration, AbortIncompleteMultipartUpload):
- validation: at most 1,000 rules; an ID of at most 255 characters, unique; Status `Enabled` or `Disabled`;
  a Filter or a (legacy) Prefix, not both; at least one action; Expiration names one of Days, Date,
  ExpiredObjectDeleteMarker; Days, NoncurrentDays and DaysAfterInitiation are positive integers; a Date
  is midnight UTC in ISO 8601; AbortIncompleteMultipartUpload and ExpiredObjectDeleteMarker take no tag
  filter; legacy Prefix rules of one action type may not overlap;
- day arithmetic: "Amazon S3 calculates the time by adding the number of days specified in the rule to
  the object creation time and rounding up the resulting time to the next day midnight UTC"; a noncurrent
  version counts from the time it became noncurrent (its successor's creation), an upload from its
  initiation;
- actions: Expiration of the current version (an unversioned bucket deletes it, a versioned one adds a
  delete marker), NoncurrentVersionExpiration (after NoncurrentDays, keeping the NewerNoncurrentVersions
  newest), ExpiredObjectDeleteMarker (a delete marker with no other version left is removed),
  AbortIncompleteMultipartUpload; a filter selects by prefix, tags and object size;
- Object Lock: "Lifecycle ... does not delete a locked object version": a version under retention or legal
  hold stays (a delete marker over it is still added).
GATEWAY_LIFECYCLE_DAY_SECONDS makes a day that many seconds (as Ceph RGW's rgw_lc_debug_interval does), so a
test sees a rule act in seconds; "midnight" is then the next multiple of that many seconds since the epoch.

The accepted document is kept on Moto's FakeBucket (`lifecycle_document`), beside Moto's own rules, so it is
snapshotted and persisted with the bucket. The scheduler takes the bucket's lock stripes (BucketLocks) for
each pass over a bucket, deletes with Moto's own calls, appends every removal of a current object to the
change feed, so the exporter's mirror follows, and hands the keys it changed to the state folder
(state/durable's persist_keys, waited for after the lock is released), as a request's changes are.
"""

from __future__ import annotations

import datetime
import logging
import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from moto_gateway.moto_patches.notification_events import CONTEXT
from moto_gateway.s3_features.object_lock import deletion_refusal, lock_of, parse_time, read_small
from moto_gateway.state import durable
from moto_gateway.state.s3state import find_bucket, live_backends
from moto_gateway.wsgi.bodies import answered_with_status
from moto_gateway.wsgi.errors import S3Error
from moto_gateway.wsgi.refusals import refuse_drained
from moto_gateway.wsgi.request import RequestView
from moto_gateway.wsgi.services import MOTO_OWN_PATHS
from moto_gateway.wsgi.xml import child, child_text, local_name, malformed_xml, parse_xml

log = logging.getLogger("moto_gateway")
DOCUMENT_ATTRIBUTE = "lifecycle_document"
MAX_RULES = 1000
MAX_ID = 255
DAY = 86400.0


# ----- the rules (pure) ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selector:
    prefix: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    size_greater: int | None = None
    size_less: int | None = None

    def matches(self, key: str, size: int, tags: Callable[[], Mapping[str, str]]) -> bool:
        if not key.startswith(self.prefix):
            return False
        if self.size_greater is not None and not size > self.size_greater:
            return False
        if self.size_less is not None and not size < self.size_less:
            return False
        if self.tags:
            have = tags()
            return all(have.get(name) == value for name, value in self.tags.items())
        return True


@dataclass(frozen=True)
class Rule:
    rule_id: str
    enabled: bool
    selector: Selector
    legacy_prefix: bool = False
    expiration_days: int | None = None
    expiration_date: datetime.datetime | None = None
    expired_marker: bool = False
    noncurrent_days: int | None = None
    newer_noncurrent: int = 0
    abort_days: int | None = None


def invalid_argument(message: str) -> S3Error:
    return S3Error(400, "InvalidArgument", message)


def positive(text: str | None, message: str) -> int | None:
    if text is None:
        return None
    if not re.fullmatch(r"-?\d{1,10}", text):
        raise malformed_xml()
    if int(text) <= 0:
        raise invalid_argument(message)
    return int(text)


def parse_date(text: str) -> datetime.datetime:
    moment = parse_time(text)
    if moment is None:
        raise invalid_argument("Invalid date: 'Date' must be in ISO 8601 format")
    if (moment.hour, moment.minute, moment.second, moment.microsecond) != (0, 0, 0, 0):
        raise invalid_argument("'Date' must be at midnight GMT")
    return moment


def parse_selector(rule_node) -> tuple[Selector, bool]:
    """The rule's filter, and whether it is a legacy top-level Prefix."""
    legacy = child_text(rule_node, "Prefix")
    filter_node = child(rule_node, "Filter")
    if legacy is not None and filter_node is not None:
        raise malformed_xml()
    if filter_node is None:
        if legacy is None:
            raise malformed_xml()
        return Selector(prefix=legacy), True
    parts = [node for node in filter_node]
    if len(parts) > 1:
        raise malformed_xml()  # several conditions go in an And
    if not parts:
        return Selector(), False
    node = parts[0]
    name = local_name(node.tag)
    if name == "Prefix":
        return Selector(prefix=(node.text or "")), False
    if name == "Tag":
        return Selector(tags=dict([tag_of(node)])), False
    if name in ("ObjectSizeGreaterThan", "ObjectSizeLessThan"):
        return size_selector(Selector(), name, node.text), False
    if name == "And":
        selector = Selector(prefix=child_text(node, "Prefix") or "")
        tags = dict(tag_of(tag) for tag in node if local_name(tag.tag) == "Tag")
        selector = Selector(selector.prefix, tags)
        for size_name in ("ObjectSizeGreaterThan", "ObjectSizeLessThan"):
            size_text = child_text(node, size_name)
            if size_text is not None:
                selector = size_selector(selector, size_name, size_text)
        return selector, False
    raise malformed_xml()


def tag_of(node) -> tuple[str, str]:
    key, value = child_text(node, "Key"), child_text(node, "Value")
    if key is None or value is None:
        raise malformed_xml()
    return key, value


def size_selector(selector: Selector, name: str, text: str | None) -> Selector:
    if not re.fullmatch(r"\d{1,19}", (text or "").strip()):
        raise malformed_xml()
    size = int(text.strip())
    if name == "ObjectSizeGreaterThan":
        return Selector(selector.prefix, selector.tags, size, selector.size_less)
    return Selector(selector.prefix, selector.tags, selector.size_greater, size)


def parse_rule(node) -> Rule:
    rule_id = child_text(node, "ID") or ""
    if len(rule_id) > MAX_ID:
        raise invalid_argument("ID length should not exceed allowed limit of 255")
    status = child_text(node, "Status")
    if status not in ("Enabled", "Disabled"):
        raise malformed_xml()
    selector, legacy = parse_selector(node)
    rule = {"rule_id": rule_id, "enabled": status == "Enabled", "selector": selector, "legacy_prefix": legacy}
    expiration = child(node, "Expiration")
    if expiration is not None:
        days, date = child_text(expiration, "Days"), child_text(expiration, "Date")
        marker = child_text(expiration, "ExpiredObjectDeleteMarker")
        if sum(value is not None for value in (days, date, marker)) != 1:
            raise malformed_xml()
        rule["expiration_days"] = positive(days, "'Days' for Expiration action must be a positive integer")
        rule["expiration_date"] = parse_date(date) if date is not None else None
        if marker is not None:
            if marker not in ("true", "false"):
                raise malformed_xml()
            if selector.tags:
                raise invalid_argument(
                    "ExpiredObjectDeleteMarker cannot be specified with a tag-based filter."
                )
            rule["expired_marker"] = marker == "true"
    noncurrent = child(node, "NoncurrentVersionExpiration")
    if noncurrent is not None:
        days = child_text(noncurrent, "NoncurrentDays")
        if days is None:
            raise malformed_xml()
        rule["noncurrent_days"] = positive(
            days, "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer"
        )
        newer = child_text(noncurrent, "NewerNoncurrentVersions")
        if newer is not None:
            rule["newer_noncurrent"] = positive(newer, "'NewerNoncurrentVersions' must be a positive integer")
    abort = child(node, "AbortIncompleteMultipartUpload")
    if abort is not None:
        if selector.tags:
            raise invalid_argument("AbortIncompleteMultipartUpload cannot be specified with Tags.")
        days = child_text(abort, "DaysAfterInitiation")
        if days is None:
            raise malformed_xml()
        rule["abort_days"] = positive(
            days, "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer"
        )
    has_transition = any(local_name(n.tag) in ("Transition", "NoncurrentVersionTransition") for n in node)
    actions = (expiration, noncurrent, abort)
    if all(action is None for action in actions) and not has_transition:
        raise S3Error(400, "InvalidRequest", "At least one action needs to be specified in a rule")
    return Rule(**rule)


def action_types(rule: Rule) -> set[str]:
    kinds = set()
    if rule.expiration_days or rule.expiration_date or rule.expired_marker:
        kinds.add("Expiration")
    if rule.noncurrent_days:
        kinds.add("NoncurrentVersionExpiration")
    if rule.abort_days:
        kinds.add("AbortIncompleteMultipartUpload")
    return kinds


def parse_configuration(body: bytes) -> list[Rule]:
    """The rules of a LifecycleConfiguration, refused with S3's error where S3 refuses them."""
    root = parse_xml(body)
    if local_name(root.tag) != "LifecycleConfiguration":
        raise malformed_xml()
    nodes = [node for node in root if local_name(node.tag) == "Rule"]
    if not nodes:
        raise malformed_xml()
    if len(nodes) > MAX_RULES:
        raise invalid_argument("Lifecycle configuration can contain at most 1000 rules")
    rules = [parse_rule(node) for node in nodes]
    ids = [rule.rule_id for rule in rules if rule.rule_id]
    if len(ids) != len(set(ids)):
        raise invalid_argument("Rule ID must be unique. Found same ID for more than one rule")
    legacy = [rule for rule in rules if rule.legacy_prefix]
    for index, first in enumerate(legacy):
        for second in legacy[index + 1 :]:
            shared = action_types(first) & action_types(second)
            a, b = first.selector.prefix, second.selector.prefix
            if shared and (a.startswith(b) or b.startswith(a)):
                raise S3Error(
                    400,
                    "InvalidRequest",
                    f"Found overlapping prefixes '{a}' and '{b}' for same action type '{sorted(shared)[0]}'",
                )
    return rules


def due(start: float, days: int, day_seconds: float) -> float:
    """When an action of `days` days counted from `start` (epoch seconds) is due: start + days, rounded up
    to the next "midnight" (a multiple of the day since the epoch)."""
    return math.ceil((start + days * day_seconds) / day_seconds) * day_seconds


@dataclass(frozen=True)
class Version:
    """What the planner needs of one version of a key (oldest first in a key's list)."""

    version_id: str
    created: float  # epoch seconds
    is_marker: bool
    size: int = 0
    locked: bool = False


@dataclass(frozen=True)
class Action:
    kind: str  # expire-current (unversioned: delete; versioned: delete marker), delete-version, abort
    key: str
    version_id: str | None = None


def plan_key(
    rules: Sequence[Rule],
    key: str,
    versions: Sequence[Version],
    versioned: bool,
    tags: Callable[[], Mapping[str, str]],
    now: float,
    day_seconds: float,
) -> list[Action]:
    """What the enabled rules do now to one key, given its versions (oldest first)."""
    if not versions:
        return []
    current = versions[-1]
    actions: list[Action] = []
    removed: set[str] = set()
    for rule in rules:
        if not rule.enabled or not rule.selector.matches(key, current.size, tags):
            continue
        if not current.is_marker and not any(a.kind == "expire-current" for a in actions):
            by_days = rule.expiration_days and now >= due(current.created, rule.expiration_days, day_seconds)
            by_date = rule.expiration_date and now >= rule.expiration_date.timestamp()
            expired = by_days or by_date
            if expired:
                actions.append(Action("expire-current", key, current.version_id))
        if versioned and rule.noncurrent_days:
            noncurrent = list(zip(versions[:-1], versions[1:]))  # (version, its successor)
            newest = noncurrent[-rule.newer_noncurrent :] if rule.newer_noncurrent else []
            keep = {version.version_id for version, _ in newest}
            for version, successor in noncurrent:
                if version.version_id in keep or version.version_id in removed or version.locked:
                    continue
                if now >= due(successor.created, rule.noncurrent_days, day_seconds):
                    actions.append(Action("delete-version", key, version.version_id))
                    removed.add(version.version_id)
    if versioned and current.is_marker:
        others = [v for v in versions[:-1] if v.version_id not in removed]
        marker_rules = [
            r for r in rules if r.enabled and r.expired_marker and key.startswith(r.selector.prefix)
        ]
        if not others and marker_rules:
            actions.append(Action("delete-version", key, current.version_id))
    return actions


def plan_uploads(
    rules: Sequence[Rule], uploads: Iterable[tuple[str, str, float]], now: float, day_seconds: float
) -> list[Action]:
    """AbortIncompleteMultipartUpload over (upload id, key, initiated) of every upload in progress."""
    actions = []
    for upload_id, key, initiated in uploads:
        for rule in rules:
            if rule.enabled and rule.abort_days and key.startswith(rule.selector.prefix):
                if now >= due(initiated, rule.abort_days, day_seconds):
                    actions.append(Action("abort", key, upload_id))
                    break
    return actions


# ----- the layer: validation and keeping the document ---------------------------------------------------


class LifecycleRules:
    """WSGI layer: PutBucketLifecycleConfiguration validated as S3 validates it; the accepted document kept on
    Moto's FakeBucket for the scheduler (DeleteBucketLifecycle removes it)."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if "lifecycle" not in environ.get("QUERY_STRING", "") or environ.get("PATH_INFO", "").startswith(
            MOTO_OWN_PATHS
        ):
            return self.app(environ, start_response)
        view = RequestView.from_environ(environ)
        if view.addressing.key or "lifecycle" not in view.params or view.method not in ("PUT", "DELETE"):
            return self.app(environ, start_response)
        bucket, _account = find_bucket(view.addressing.bucket)
        if bucket is None:
            return self.app(environ, start_response)
        document = None
        if view.method == "PUT":
            try:
                body = read_small(environ)
                parse_configuration(body)
            except S3Error as error:
                return refuse_drained(view, error, environ, start_response)
            document = body.decode("utf-8")
        status, body = answered_with_status(self.app, environ, start_response)
        if status is not None and 200 <= status < 300:
            setattr(bucket, DOCUMENT_ATTRIBUTE, document)
        return body


# ----- the scheduler (imperative shell) -----------------------------------------------------------------


def epoch(moment) -> float:
    if isinstance(moment, datetime.datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        return moment.timestamp()
    return float(moment or 0)


def versions_of(bucket, key: str, now: datetime.datetime) -> list[Version]:
    found = []
    for version in bucket.keys.getlist(key, default=[]):
        marker = not hasattr(version, "etag")
        locked = False if marker else deletion_refusal(lock_of(version), now, False) is not None
        found.append(
            Version(
                str(version.version_id),
                epoch(version.last_modified),
                marker,
                0 if marker else int(version.size),
                locked,
            )
        )
    return found


class LifecycleScheduler:
    """A daemon thread: every `interval` seconds, applies every bucket's lifecycle rules under its lock."""

    def __init__(
        self,
        hold_bucket: Callable[[str], object],
        change_log=None,
        day_seconds: float = DAY,
        clock: Callable[[], float] | None = None,
    ) -> None:
        import time

        self.hold_bucket = hold_bucket  # a context manager holding the bucket's lock stripes
        self.change_log = change_log
        self.day_seconds = day_seconds
        self.clock = clock or time.time
        self.interval = max(0.2, min(day_seconds / 10, 60.0))
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self.loop, name="lifecycle", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()

    def loop(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - one failed pass must not end the scheduler
                log.exception("lifecycle pass failed")

    def run_once(self) -> int:
        """One pass over every bucket with rules; the number of keys it changed."""
        taken = 0
        for _account, _partition, backend in live_backends():
            for name, bucket in list(backend.buckets.items()):
                document = getattr(bucket, DOCUMENT_ATTRIBUTE, None)
                if not document:
                    continue
                with self.hold_bucket(name):
                    if backend.buckets.get(name) is not bucket:
                        continue  # deleted (or re-created) meanwhile
                    touched = self.apply(backend, bucket, parse_configuration(document.encode("utf-8")))
                    # stored as a request's changes are (state/durable's contract), queued under the lock
                    ticket = durable.persist_keys(name, touched) if touched else None
                if ticket is not None:
                    try:
                        ticket.wait()
                    except durable.DurabilityError as error:  # undone by the store: the next pass retries
                        log.error("lifecycle changes of %s not stored: %s", name, error)
                taken += len(touched)
        return taken

    def apply(self, backend, bucket, rules: list[Rule]) -> set[str]:
        """Carries out what the rules say now; the keys it changed (versions or uploads)."""
        now = self.clock()
        now_dt = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
        versioned = bool(bucket.versioning_status)
        actions: list[Action] = []
        for key in list(bucket.keys.keys()):
            def tags(key=key):
                current = bucket.keys.get(key)
                try:
                    listed = backend.tagger.list_tags_for_resource(current.arn)["Tags"]
                except Exception:  # noqa: BLE001 - no tags
                    return {}
                return {tag["Key"]: tag["Value"] for tag in listed}

            versions = versions_of(bucket, key, now_dt)
            actions += plan_key(rules, key, versions, versioned, tags, now, self.day_seconds)
        uploads = [
            (upload_id, upload.key_name, epoch(getattr(upload, "initiated", None)))
            for upload_id, upload in list(bucket.multiparts.items())
            if getattr(upload, "initiated", None) is not None
        ]
        actions += plan_uploads(rules, uploads, now, self.day_seconds)
        CONTEXT.lifecycle = True  # its deletions are LifecycleExpiration events
        try:
            for action in actions:
                self.act(backend, bucket, action)
        finally:
            CONTEXT.lifecycle = False
        return {action.key for action in actions}

    def act(self, backend, bucket, action: Action) -> None:
        name = bucket.name
        if action.kind == "abort":
            backend.abort_multipart_upload(name, action.version_id)
            log.info("lifecycle: aborted upload %s of %s/%s", action.version_id, name, action.key)
            return
        if action.kind == "expire-current":
            backend.delete_object(name, action.key)
            log.info("lifecycle: expired %s/%s", name, action.key)
            if self.change_log is not None:
                self.change_log.append("delete", name, action.key)
            return
        was_current = bucket.keys.get(action.key)
        backend.delete_object(name, action.key, version_id=action.version_id)
        log.info("lifecycle: deleted version %s of %s/%s", action.version_id, name, action.key)
        now_current = bucket.keys.get(action.key)
        if self.change_log is not None and now_current is not was_current:
            # the visible object changed (a removed delete marker may uncover nothing: "delete" is right)
            self.change_log.append("delete", name, action.key)
