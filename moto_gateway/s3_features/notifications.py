"""S3 event notifications as AWS sends them, and delivered to webhooks as well as to SQS, SNS and Lambda.

What AWS documents (S3 User Guide, "Amazon S3 Event Notifications", "Supported event types" and "Event
message structure":
https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-event-types-and-destinations.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html):
- a POST Object upload is `ObjectCreated:Post`; a completed multipart upload is one
  `ObjectCreated:CompleteMultipartUpload` (Moto 5.2.5 also sent a `Put`, and a POST Object arrived as a
  `Put`); a DeleteObject in a versioned bucket that adds a delete marker is
  `ObjectRemoved:DeleteMarkerCreated` (Moto sent nothing); lifecycle's removals are
  `LifecycleExpiration:Delete` and `LifecycleExpiration:DeleteMarkerCreated`;
- a record names eventVersion, eventSource, awsRegion, eventTime, eventName, userIdentity,
  requestParameters (sourceIPAddress), responseElements, and s3: configurationId, bucket (name,
  ownerIdentity, arn), object (key URL-encoded, size and eTag for a created object, versionId in a
  versioned bucket, sequencer).
Moto's own destinations (the bucket's notification configuration: SQS queues, SNS topics, Lambda functions,
EventBridge) get these records, through Moto's own senders (moto_patches/notification_events.py installs
`send_event`). Webhooks, as MinIO and Ceph RGW offer them, are registered at run time on the gateway's own
path `/_events/webhooks` (POST {"url": ..., "buckets": [...], "events": ["s3:ObjectCreated:*", ...]}, GET,
DELETE /_events/webhooks/<id>); every event of the buckets a webhook names (all, when it names none) is
POSTed to it as `{"Records": [record]}`, in order, from one delivery thread, with a timeout and a few
retries (tenacity), never from inside the request that caused it. With a state folder
(GATEWAY_STATE_DIR) the registered webhooks are kept in it before a registration or removal is answered,
and registered again when the gateway starts; without one, a restart forgets them. The testkit's
`s3_events` fixture registers one for the length of a test.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from tenacity import retry, stop_after_attempt, wait_exponential

from moto_gateway.moto_patches.notification_events import CONTEXT, PUBLISHERS, RequestContext, event_record
from moto_gateway.signing.post_object import POSTED_ENVIRON
from moto_gateway.state import durable
from moto_gateway.state.durable import DurabilityError, Ticket
from moto_gateway.wsgi.answers import json_response

log = logging.getLogger("moto_gateway")
PREFIX = "/_events/webhooks"
SETTING = "webhooks"  # the state folder's setting that keeps them (state/durable, GATEWAY_STATE_DIR)
QUEUE_SIZE = 10_000
DELIVERY_TIMEOUT = 5.0


def pattern_matches(patterns: Sequence[str], event_name: str) -> bool:
    """`s3:ObjectCreated:*` matches every ObjectCreated event; an exact name itself; no patterns: all."""
    if not patterns:
        return True
    family = ":".join(event_name.split(":")[:2]) + ":*"
    return event_name in patterns or family in patterns


# ----- webhooks -----------------------------------------------------------------------------------------


@dataclass
class Webhook:
    id: str
    url: str
    buckets: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    def wants(self, bucket: str, event_name: str) -> bool:
        return (not self.buckets or bucket in self.buckets) and pattern_matches(self.events, event_name)

    def as_dict(self) -> dict:
        return {"id": self.id, "url": self.url, "buckets": self.buckets, "events": self.events}


@retry(stop=stop_after_attempt(3), wait=wait_exponential(multiplier=0.2, max=2), reraise=True)
def post_event(url: str, body: bytes) -> None:
    headers = {"Content-Type": "application/json"}
    answer = requests.post(url, data=body, headers=headers, timeout=DELIVERY_TIMEOUT)
    if answer.status_code >= 500:
        answer.raise_for_status()


class WebhookHub:
    """The registered webhooks and the thread that delivers to them, in order, outside any request."""

    def __init__(self, deliver: Callable[[str, bytes], None] = post_event) -> None:
        self.deliver = deliver
        self.webhooks: dict[str, Webhook] = {}
        self.lock = threading.Lock()
        self.pending: queue.Queue[tuple[str, bytes]] = queue.Queue(QUEUE_SIZE)
        self.thread: threading.Thread | None = None

    def register(self, url: str, buckets: list[str], events: list[str]) -> Webhook:
        """Adds a webhook; with a state folder, returns once the folder keeps it (DurabilityError: it could
        not, and the webhook is not registered)."""
        webhook = Webhook(uuid.uuid4().hex[:12], url, buckets, events)
        self.kept(
            lambda: self.webhooks.setdefault(webhook.id, webhook), lambda: self.webhooks.pop(webhook.id, None)
        )
        self.start_delivering()
        return webhook

    def unregister(self, webhook_id: str) -> bool:
        removed: list[Webhook] = []

        def remove() -> Webhook | None:
            found = self.webhooks.pop(webhook_id, None)
            if found is not None:
                removed.append(found)
            return found

        self.kept(remove, lambda: self.webhooks.setdefault(webhook_id, removed[0]))
        return bool(removed)

    def kept(self, change: Callable[[], object], undo: Callable[[], object]) -> None:
        """`change` made under the lock and, if it changed anything (a true result), kept in the state folder
        before this returns; undone, and the folder told, when it could not be (DurabilityError)."""
        with self.lock:
            if not change():
                return
            ticket = self.persist()
        try:
            ticket.wait()
        except DurabilityError:
            with self.lock:
                undo()
                self.persist()
            raise

    def persist(self) -> Ticket:
        """The webhooks as they are now, to the state folder (GATEWAY_STATE_DIR); called under the lock, so
        the folder's writer stores the lists in the order they were made."""
        listed = [webhook.as_dict() for webhook in self.webhooks.values()]
        return durable.persist_setting(SETTING, json.dumps(listed))

    def restore(self) -> int:
        """Start-up: the webhooks the state folder kept (none without one)."""
        kept = durable.stored_setting(SETTING)
        with self.lock:
            for entry in json.loads(kept) if kept else []:
                webhook = Webhook(entry["id"], entry["url"], entry["buckets"], entry["events"])
                self.webhooks[webhook.id] = webhook
            count = len(self.webhooks)
        if count:
            self.start_delivering()
        return count

    def start_delivering(self) -> None:
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self.loop, name="webhooks", daemon=True)
                self.thread.start()

    def listed(self) -> list[dict]:
        with self.lock:
            return [webhook.as_dict() for webhook in self.webhooks.values()]

    def publish(self, bucket, key, event_name: str, context: RequestContext) -> None:
        with self.lock:
            wanted = [w for w in self.webhooks.values() if w.wants(bucket.name, event_name)]
        for webhook in wanted:
            record = event_record(event_name, bucket, key, webhook.id, context)
            body = json.dumps({"Records": [record]}).encode()
            try:
                self.pending.put_nowait((webhook.url, body))
            except queue.Full:
                log.warning("webhook queue full: an event for %s was dropped", webhook.url)

    def loop(self) -> None:
        while True:
            url, body = self.pending.get()
            try:
                self.deliver(url, body)
            except Exception as error:  # noqa: BLE001 - a failing endpoint loses its event, not the thread
                log.warning("webhook %s: event not delivered: %s", url, error)


HUB = WebhookHub()
PUBLISHERS.append(HUB.publish)  # every event Moto sends reaches the webhooks too


# ----- the layer and the endpoint -----------------------------------------------------------------------


class EventContext:
    """WSGI layer: tells the event senders which request Moto is serving (POST Object, who, from where)."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") in ("GET", "HEAD", "OPTIONS"):
            return self.app(environ, start_response)  # a read sends no event
        query = environ.get("QUERY_STRING", "")
        CONTEXT.post = bool(environ.get(POSTED_ENVIRON))
        CONTEXT.tagging = "tagging" in query
        CONTEXT.acl = "acl" in query
        CONTEXT.principal = environ.get("HTTP_X_MOTO_ACCOUNT_ID", "")
        CONTEXT.source_ip = environ.get("REMOTE_ADDR", "127.0.0.1")
        CONTEXT.request_id = ""
        try:
            return self.app(environ, start_response)
        finally:
            CONTEXT.post = CONTEXT.tagging = CONTEXT.acl = False


def valid_url(url: object) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def webhooks_handler(hub: WebhookHub = HUB) -> Callable:
    """/_events/webhooks: GET lists, POST registers ({"url", "buckets"?, "events"?}), DELETE /<id> removes."""

    def handle(environ: dict, start_response: Callable) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        rest = environ.get("PATH_INFO", "")[len(PREFIX):].strip("/")
        if method == "GET" and not rest:
            return json_response(start_response, 200, {"webhooks": hub.listed()})
        if method == "DELETE" and rest:
            try:
                removed = hub.unregister(rest)
            except DurabilityError as failure:
                return json_response(start_response, 503, {"error": f"not kept in the state folder: {failure}"})
            if removed:
                start_response("204 No Content", [("Content-Length", "0")])
                return [b""]
            return json_response(start_response, 404, {"error": f"no webhook {rest}"})
        if method == "POST" and not rest:
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                if not 0 < length <= 65536:
                    raise ValueError
                request = json.loads(environ["wsgi.input"].read(length))
                url, buckets, events = request["url"], request.get("buckets", []), request.get("events", [])
                if not valid_url(url) or not all(isinstance(x, str) for x in [*buckets, *events]):
                    raise ValueError
            except (ValueError, KeyError, TypeError):
                usage = 'send {"url": "http://...", "buckets": [names], "events": ["s3:ObjectCreated:*"]}'
                return json_response(start_response, 400, {"error": usage})
            try:
                webhook = hub.register(url, list(buckets), list(events))
            except DurabilityError as failure:
                return json_response(start_response, 503, {"error": f"not kept in the state folder: {failure}"})
            return json_response(start_response, 201, webhook.as_dict())
        return json_response(start_response, 405, {"error": "GET, POST, or DELETE /_events/webhooks/<id>"})

    return handle
