"""Which S3 action (the policy action name, `s3:...`) a REST request is: the operation Moto will perform
(wsgi/operations.py, the one classifier), named as the "Actions, resources, and condition keys for Amazon
S3" table of the Service Authorization Reference names it; the resource is the bucket ARN or the object ARN.
"""

from __future__ import annotations

from dataclasses import dataclass

from moto_gateway.wsgi.operations import operation_of

# Operation -> action, where the names differ. DELETE of a configuration needs the PUT permission in S3
# (e.g. DeleteBucketCors needs s3:PutBucketCORS) unless a Delete* action exists.
ACTIONS = {
    "ListBuckets": "ListAllMyBuckets",
    "HeadBucket": "ListBucket",
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "ListMultipartUploads": "ListBucketMultipartUploads",
    "DeleteObjects": "DeleteObject",
    "PostObject": "PutObject",
    "GetBucketCors": "GetBucketCORS",
    "PutBucketCors": "PutBucketCORS",
    "DeleteBucketCors": "PutBucketCORS",
    "DeleteBucketTagging": "PutBucketTagging",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "PutLifecycleConfiguration",
    "GetBucketNotificationConfiguration": "GetBucketNotification",
    "PutBucketNotificationConfiguration": "PutBucketNotification",
    "GetBucketEncryption": "GetEncryptionConfiguration",
    "PutBucketEncryption": "PutEncryptionConfiguration",
    "DeleteBucketEncryption": "PutEncryptionConfiguration",
    "GetBucketReplication": "GetReplicationConfiguration",
    "PutBucketReplication": "PutReplicationConfiguration",
    "DeleteBucketReplication": "PutReplicationConfiguration",
    "GetObjectLockConfiguration": "GetBucketObjectLockConfiguration",
    "PutObjectLockConfiguration": "PutBucketObjectLockConfiguration",
    "GetBucketAccelerateConfiguration": "GetAccelerateConfiguration",
    "PutBucketAccelerateConfiguration": "PutAccelerateConfiguration",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeleteBucketOwnershipControls": "PutBucketOwnershipControls",
    "GetBucketInventoryConfiguration": "GetInventoryConfiguration",
    "ListBucketInventoryConfigurations": "GetInventoryConfiguration",
    "PutBucketInventoryConfiguration": "PutInventoryConfiguration",
    "HeadObject": "GetObject",
    "ListParts": "ListMultipartUploadParts",
    "CopyObject": "PutObject",  # whose source needs GetObject
    "UploadPart": "PutObject",
    "UploadPartCopy": "PutObject",
    "CreateMultipartUpload": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "SelectObjectContent": "GetObject",
}
# Actions with a version form, taken when the request names a versionId.
VERSIONED = {
    "GetObject": "GetObjectVersion",
    "GetObjectAcl": "GetObjectVersionAcl",
    "GetObjectTagging": "GetObjectVersionTagging",
    "GetObjectAttributes": "GetObjectVersionAttributes",
    "PutObjectAcl": "PutObjectVersionAcl",
    "PutObjectTagging": "PutObjectVersionTagging",
    "DeleteObjectTagging": "DeleteObjectVersionTagging",
    "DeleteObject": "DeleteObjectVersion",
}
# Actions only the bucket owner's account may take, whatever a policy or an ACL says (S3 answers
# AccessDenied / MethodNotAllowed to anyone else).
OWNER_ONLY = frozenset({"PutBucketPolicy", "GetBucketPolicy", "DeleteBucketPolicy", "DeleteBucket"})
# What the bucket owner's root may do even when its own bucket policy denies it (S3 User Guide:
# "the root principal of the bucket owner account can perform GetBucketPolicy, PutBucketPolicy, and
# DeleteBucketPolicy actions, even if the bucket policy explicitly denies the root principal").
OWNER_ROOT_ALWAYS = frozenset({"PutBucketPolicy", "GetBucketPolicy", "DeleteBucketPolicy"})


@dataclass(frozen=True)
class Action:
    name: str  # without the "s3:" prefix
    bucket: str | None
    key: str | None  # None: a bucket-level action

    @property
    def resource(self) -> str:
        if self.bucket is None:
            return "*"
        if self.key is None:
            return f"arn:aws:s3:::{self.bucket}"
        return f"arn:aws:s3:::{self.bucket}/{self.key}"


def action_name(
    operation: str | None, method: str, bucket: str | None, key: str, params: dict[str, str]
) -> str:
    """The action of an operation; a request S3 has no call for (an OPTIONS, a POST naming no operation)
    is read as the nearest there is."""
    if bucket is None:
        return "ListAllMyBuckets"
    if operation is None:
        return "ListBucket" if key == "" else ("PutObject" if method == "POST" else "GetObject")
    name = ACTIONS.get(operation, operation)
    if key != "" and operation not in ("SelectObjectContent", "CopyObject") and "versionId" in params:
        return VERSIONED.get(name, name)
    return name


def classify(
    method: str, bucket: str | None, key: str, params: dict[str, str], headers: dict[str, str]
) -> Action:
    operation = operation_of(method, bucket, key, params, "x-amz-copy-source" in headers)
    name = action_name(operation, method.upper(), bucket, key, params)
    if bucket is None:
        return Action(name, None, None)
    return Action(name, bucket, None if key == "" else key)
