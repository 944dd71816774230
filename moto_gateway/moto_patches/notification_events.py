"""Moto 5.2.5's S3 event notifications, sent as AWS sends them (moto_gateway/s3_features/notifications.py
decides the names and builds the records):
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

import logging

from moto_gateway.moto_patches import require_moto

MOTO_VERSION = "5.2.5"
log = logging.getLogger("moto_gateway")


def apply() -> None:
    require_moto(MOTO_VERSION, __name__)
    from moto.s3 import notifications
    from moto.s3.models import S3Backend

    from moto_gateway.s3_features.notifications import CONTEXT, HUB, event_record, final_name

    if getattr(notifications.send_event, "motostack_patched", False):
        return

    def send_event(account_id: str, event_name, bucket, key) -> None:
        try:
            moto_name = str(getattr(event_name, "value", event_name))  # an S3NotificationEvent or a str
            name = final_name(moto_name, not hasattr(key, "etag"), CONTEXT)
            if name is None or key is None:
                return
            HUB.publish(bucket, key, name, CONTEXT)
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
