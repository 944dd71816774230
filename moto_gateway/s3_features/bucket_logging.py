"""PutBucketLogging's checks of the target bucket that Moto 5.2.5 lacks (it checks that the target exists in
the source's account, its log-delivery permissions, by ACL or policy, and its region).

What S3 documents (S3 User Guide, "Logging requests with server access logging",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerLogs.html: "Both the source and destination
buckets must be in the same AWS Region and owned by the same account"; "Permissions for log delivery":
a destination bucket with the Bucket owner enforced setting takes no target grants; S3 API Reference,
PutBucketLogging):
- a target bucket of another account is 400 InvalidTargetBucketForLogging, "The owner for the bucket to be
  logged and the target bucket must be the same." (Moto, whose accounts keep their own buckets, answered
  that it does not exist);
- TargetGrants for a target bucket whose Object Ownership is BucketOwnerEnforced is 400
  AccessControlListNotSupported, "Target grants not allowed for bucket owner enforced buckets".
The layer reads the target bucket without its lock: it only reads which account holds it and its
ownership setting, which a request changes in one assignment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from moto_gateway.s3_features.object_lock import read_small
from moto_gateway.state.s3state import find_bucket
from moto_gateway.wsgi.errors import S3Error
from moto_gateway.wsgi.refusals import refuse_drained
from moto_gateway.wsgi.request import RequestView
from moto_gateway.wsgi.services import MOTO_OWN_PATHS
from moto_gateway.wsgi.xml import child, child_text, local_name, parse_xml


def logging_target(body: bytes) -> tuple[str | None, bool]:
    """(TargetBucket, whether TargetGrants names a grant) of a BucketLoggingStatus; (None, False) when it
    enables no logging or does not parse (Moto and the body checks answer it)."""
    try:
        root = parse_xml(body)
    except S3Error:
        return None, False
    enabled = child(root, "LoggingEnabled")
    if enabled is None:
        return None, False
    grants = child(enabled, "TargetGrants")
    has_grants = grants is not None and any(local_name(node.tag) == "Grant" for node in grants)
    return child_text(enabled, "TargetBucket"), has_grants


def ownership_of(bucket) -> str | None:
    rule = getattr(bucket, "ownership_rule", None)  # Moto keeps the ObjectOwnership value here
    return rule.get("ObjectOwnership") if isinstance(rule, dict) else rule


def check_target(source_account: str | None, target_name: str, target, target_account: str | None,
                 has_grants: bool) -> None:
    if target is None:
        return  # Moto answers InvalidTargetBucketForLogging: it does not exist
    if target_account != source_account:
        raise S3Error(
            400,
            "InvalidTargetBucketForLogging",
            "The owner for the bucket to be logged and the target bucket must be the same.",
            [("TargetBucket", target_name)],
        )
    if has_grants and ownership_of(target) == "BucketOwnerEnforced":
        raise S3Error(
            400,
            "AccessControlListNotSupported",
            "Target grants not allowed for bucket owner enforced buckets",
        )


class BucketLogging:
    """WSGI layer: PutBucketLogging's target checks, before Moto's own."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "PUT" or "logging" not in environ.get("QUERY_STRING", ""):
            return self.app(environ, start_response)
        if environ.get("PATH_INFO", "").startswith(MOTO_OWN_PATHS):
            return self.app(environ, start_response)
        view = RequestView.from_environ(environ)
        if not view.addressing.bucket or view.addressing.key or "logging" not in view.params:
            return self.app(environ, start_response)
        source, source_account = find_bucket(view.addressing.bucket)
        if source is None:
            return self.app(environ, start_response)  # Moto answers NoSuchBucket
        try:
            target_name, has_grants = logging_target(read_small(environ))
            if target_name:
                target, target_account = find_bucket(target_name)
                check_target(source_account, target_name, target, target_account, has_grants)
        except S3Error as error:
            return refuse_drained(view, error, environ, start_response)
        return self.app(environ, start_response)
