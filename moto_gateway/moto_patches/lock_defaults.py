"""Moto 5.2.5 and Object Lock on new versions.

`S3Response._get_lock_details`: a PutObject with `x-amz-object-lock-legal-hold: ON` and no
retention headers skips the bucket's default retention. S3 applies the default retention to every new
version that names no retention of its own, whatever its legal hold (S3 User Guide, "Configuring Object
Lock", default retention: https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html).

`S3Backend.complete_multipart_upload` stores the object without any lock: neither the retention and legal
hold its CreateMultipartUpload named (the object-lock layer keeps them on Moto's FakeMultipart as
`lock_mode`, `lock_until`, `lock_legal_status`) nor the bucket's default retention. The patch gives the
completed version what S3 gives it.
"""

from __future__ import annotations

from moto_gateway.moto_patches import require_moto

MOTO_VERSION = "5.2.5"


def apply() -> None:
    require_moto(MOTO_VERSION, __name__)
    from moto.s3.responses import S3Response

    if getattr(S3Response._get_lock_details, "motostack_patched", False):
        return

    def get_lock_details(self, bucket, lock_enabled: bool):
        lock_mode = self.headers.get("x-amz-object-lock-mode")
        lock_until = self.headers.get("x-amz-object-lock-retain-until-date")
        legal_hold = self.headers.get("x-amz-object-lock-legal-hold")
        if not (lock_mode or lock_until) and lock_enabled and bucket.has_default_lock:
            lock_until = bucket.default_retention()
            lock_mode = bucket.default_lock_mode
        return legal_hold, lock_mode, lock_until

    get_lock_details.motostack_patched = True
    S3Response._get_lock_details = get_lock_details

    from moto.s3.models import S3Backend

    original_complete = S3Backend.complete_multipart_upload

    def complete_multipart_upload(self, bucket_name: str, multipart_id: str, body):
        bucket = self.get_bucket(bucket_name)
        multipart = bucket.multiparts.get(multipart_id)
        key = original_complete(self, bucket_name, multipart_id, body)
        if key is None or multipart is None or not bucket.object_lock_enabled:
            return key
        mode = getattr(multipart, "lock_mode", None)
        until = getattr(multipart, "lock_until", None)
        if not (mode or until) and bucket.has_default_lock:
            mode, until = bucket.default_lock_mode, bucket.default_retention()
        key.lock_mode, key.lock_until = mode, until
        key.lock_legal_status = getattr(multipart, "lock_legal_status", None)
        return key

    S3Backend.complete_multipart_upload = complete_multipart_upload
