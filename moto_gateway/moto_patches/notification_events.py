"""Moto 5.2.5's S3 event notifications, sent as AWS sends them (the names and records are decided here; the
request's context is set by s3_features/notifications.py's EventContext layer, which also registers the
webhooks' publisher in PUBLISHERS):
- `S3Backend.complete_multipart_upload` stores the object with `put_object`, which sends an
  `ObjectCreated:Put` before the `ObjectCreated:CompleteMultipartUpload`: the Put is not sent;
- a POST Object reaches Moto as the PutObject the gateway authorised it as: its event is `ObjectCreated:Post`;
- a delete marker (`_set_delete_marker`) sent nothing: `ObjectRemoved:DeleteMarkerCreated` (Moto's record
  builder needs an ETag a marker does not have, so the records are built here for every event);
- a DeleteObject with a versionId sent `ObjectRemoved:Delete` only when the key's last version went, naming
  the current version: every version deleted is announced, naming that version;
- every event also goes to the gateway's webhooks, whether or not the bucket has a notification
  configuration; the bucket's own destinations (SQS, SNS, Lambda, EventBridge) get it through Moto's
  senders, as before. Sending never fails the request (AWS sends events asynchronously).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from urllib.parse import quote_plus

from moto_gateway.moto_patches import require_moto

MOTO_VERSION = "5.2.5"
log = logging.getLogger("moto_gateway")
PUBLISHERS: list[Callable] = []
"""Called with (bucket, key, event name, context) for every event: the gateway's webhooks
(s3_features/notifications.py registers its hub)."""




class RequestContext(threading.local):
    """Per thread: what the request Moto is serving said about itself (a waitress thread serves one
    request at a time; the lifecycle scheduler sets `lifecycle` on its own thread)."""

    post: bool = False
    tagging: bool = False  # a ?tagging request: the only one whose tagging events AWS sends
    acl: bool = False  # a ?acl request, likewise
    completing: bool = False
    version_delete: bool = False  # inside a DeleteObject with a versionId: announced once it is done
    lifecycle: bool = False
    principal: str = ""
    source_ip: str = "127.0.0.1"
    request_id: str = ""


CONTEXT = RequestContext()


def final_name(event_name: str, is_marker: bool, context: RequestContext) -> str | None:
    """The event AWS sends where Moto would send `event_name` (with `s3:`); None: AWS sends none."""
    if event_name.startswith("s3:ObjectTagging:") and not context.tagging:
        return None  # Moto's PutObject stores the (empty) tag set and announced it
    if event_name.startswith("s3:ObjectAcl:") and not context.acl:
        return None
    if event_name == "s3:ObjectCreated:Put":
        if context.completing:
            return None  # the CompleteMultipartUpload event follows
        if context.post:
            return "s3:ObjectCreated:Post"
    if event_name == "s3:ObjectRemoved:Delete" and context.version_delete:
        return None  # Moto's own, naming the current version; the deleted version's follows
    if event_name == "s3:ObjectRemoved:Delete" and context.lifecycle:
        return "s3:LifecycleExpiration:DeleteMarkerCreated" if is_marker else "s3:LifecycleExpiration:Delete"
    if event_name == "s3:ObjectRemoved:DeleteMarkerCreated" and context.lifecycle:
        return "s3:LifecycleExpiration:DeleteMarkerCreated"
    return event_name


_sequence = itertools.count(1)


def event_record(
    event_name: str, bucket, key, configuration_id: str, context: RequestContext, now: float | None = None
) -> dict:
    """One record of the event message, as AWS writes it."""
    moment = time.gmtime(now if now is not None else time.time())
    millis = int(((now if now is not None else time.time()) % 1) * 1000)
    obj: dict = {"key": quote_plus(key.name)}
    if hasattr(key, "etag"):
        obj["size"] = int(key.size)
        obj["eTag"] = key.etag.replace('"', "")
    version_id = getattr(key, "version_id", None)
    if version_id and version_id != "null" and getattr(bucket, "versioning_status", None):
        obj["versionId"] = str(version_id)
    obj["sequencer"] = f"{time.time_ns():016X}{next(_sequence):08X}"
    principal = f"AWS:{context.principal}" if context.principal else "AWS:anonymous"
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": bucket.region_name,
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S", moment) + f".{millis:03d}Z",
        "eventName": event_name.removeprefix("s3:"),
        "userIdentity": {"principalId": principal},
        "requestParameters": {"sourceIPAddress": context.source_ip},
        "responseElements": {"x-amz-request-id": context.request_id or uuid.uuid4().hex[:16].upper(),
                             "x-amz-id-2": uuid.uuid4().hex},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {"name": bucket.name, "ownerIdentity": {"principalId": bucket.account_id},
                       "arn": f"arn:aws:s3:::{bucket.name}"},
            "object": obj,
        },
    }



def apply() -> None:
    require_moto(MOTO_VERSION, __name__)
    from moto.s3 import notifications
    from moto.s3.models import S3Backend

    if getattr(notifications.send_event, "motostack_patched", False):
        return

    def send_event(account_id: str, event_name, bucket, key) -> None:
        try:
            moto_name = str(getattr(event_name, "value", event_name))  # an S3NotificationEvent or a str
            name = final_name(moto_name, not hasattr(key, "etag"), CONTEXT)
            if name is None or key is None:
                return
            for publish in PUBLISHERS:
                publish(bucket, key, name, CONTEXT)
            configuration = bucket.notification_configuration
            if configuration is None:
                return
            for target, send in (
                (configuration.cloud_function, lambda body, arn, region: notifications._invoke_awslambda(
                    account_id, body, arn, region)),
                (configuration.queue, lambda body, arn, region: notifications._send_sqs_message(
                    account_id, body, arn.split(":")[-1], region)),
                (configuration.topic, lambda body, arn, region: notifications._send_sns_message(
                    account_id, body, arn, region)),
            ):
                for notification in target:
                    if notification.matches(name, key.name):
                        body = {"Records": [event_record(name, bucket, key, notification.id, CONTEXT)]}
                        send(body, notification.arn, notifications._get_region_from_arn(notification.arn))
            if configuration.event_bridge is not None and hasattr(key, "etag"):
                notifications._send_event_bridge_message(account_id, bucket, name, key)
        except Exception:  # noqa: BLE001 - an event that cannot be sent never fails the request
            log.exception("S3 event %s not sent", event_name)

    send_event.motostack_patched = True
    notifications.send_event = send_event

    original_complete = S3Backend.complete_multipart_upload

    def complete_multipart_upload(self, *args, **kwargs):
        CONTEXT.completing = True
        try:
            return original_complete(self, *args, **kwargs)
        finally:
            CONTEXT.completing = False

    S3Backend.complete_multipart_upload = complete_multipart_upload

    original_marker = S3Backend._set_delete_marker

    def set_delete_marker(self, bucket_name: str, key_name: str):
        marker = original_marker(self, bucket_name, key_name)
        bucket = self.get_bucket(bucket_name)
        send_event(self.account_id, "s3:ObjectRemoved:DeleteMarkerCreated", bucket, marker)
        return marker

    S3Backend._set_delete_marker = set_delete_marker

    original_delete = S3Backend.delete_object

    def delete_object(self, bucket_name: str, key_name: str, version_id: str | None = None, bypass=False):
        if version_id is None:
            return original_delete(self, bucket_name, key_name, version_id=version_id, bypass=bypass)
        bucket = self.get_bucket(bucket_name)
        versions = bucket.keys.getlist(key_name, default=[]) if key_name in bucket.keys else []
        deleted = next((v for v in versions if str(v.version_id) == str(version_id)), None)
        CONTEXT.version_delete = True
        try:
            answer = original_delete(self, bucket_name, key_name, version_id=version_id, bypass=bypass)
        finally:
            CONTEXT.version_delete = False
        if deleted is not None and answer[0]:
            send_event(self.account_id, "s3:ObjectRemoved:Delete", bucket, deleted)
        return answer

    S3Backend.delete_object = delete_object
