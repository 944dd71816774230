"""Which S3 action (the policy action name, `s3:...`) a REST request is, from its method, path and query.

Follows the "Actions, resources, and condition keys for Amazon S3" table of the Service Authorization
Reference and the REST API's subresources; the resource is the bucket ARN or the object ARN.
"""

from __future__ import annotations

from dataclasses import dataclass

# Bucket subresource -> (GET action, PUT action, DELETE action). DELETE of a configuration needs the PUT
# permission in S3 (e.g. DeleteBucketCors needs s3:PutBucketCORS) unless a Delete* action exists.
BUCKET_SUBRESOURCES: dict[str, tuple[str, str, str]] = {
    "acl": ("GetBucketAcl", "PutBucketAcl", "PutBucketAcl"),
    "policy": ("GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"),
    "policyStatus": ("GetBucketPolicyStatus", "GetBucketPolicyStatus", "GetBucketPolicyStatus"),
    "cors": ("GetBucketCORS", "PutBucketCORS", "PutBucketCORS"),
    "versioning": ("GetBucketVersioning", "PutBucketVersioning", "PutBucketVersioning"),
    "tagging": ("GetBucketTagging", "PutBucketTagging", "PutBucketTagging"),
    "location": ("GetBucketLocation", "GetBucketLocation", "GetBucketLocation"),
    "lifecycle": ("GetLifecycleConfiguration", "PutLifecycleConfiguration", "PutLifecycleConfiguration"),
    "website": ("GetBucketWebsite", "PutBucketWebsite", "DeleteBucketWebsite"),
    "logging": ("GetBucketLogging", "PutBucketLogging", "PutBucketLogging"),
    "notification": ("GetBucketNotification", "PutBucketNotification", "PutBucketNotification"),
    "encryption": ("GetEncryptionConfiguration", "PutEncryptionConfiguration", "PutEncryptionConfiguration"),
    "replication": (
        "GetReplicationConfiguration",
        "PutReplicationConfiguration",
        "PutReplicationConfiguration",
    ),
    "object-lock": ("GetBucketObjectLockConfiguration", "PutBucketObjectLockConfiguration",
                    "PutBucketObjectLockConfiguration"),
    "accelerate": ("GetAccelerateConfiguration", "PutAccelerateConfiguration", "PutAccelerateConfiguration"),
    "requestPayment": ("GetBucketRequestPayment", "PutBucketRequestPayment", "PutBucketRequestPayment"),
    "publicAccessBlock": ("GetBucketPublicAccessBlock", "PutBucketPublicAccessBlock",
                          "PutBucketPublicAccessBlock"),
    "ownershipControls": ("GetBucketOwnershipControls", "PutBucketOwnershipControls",
                          "PutBucketOwnershipControls"),
    "inventory": ("GetInventoryConfiguration", "PutInventoryConfiguration", "PutInventoryConfiguration"),
    "metrics": ("GetMetricsConfiguration", "PutMetricsConfiguration", "PutMetricsConfiguration"),
    "analytics": ("GetAnalyticsConfiguration", "PutAnalyticsConfiguration", "PutAnalyticsConfiguration"),
    "intelligent-tiering": ("GetIntelligentTieringConfiguration", "PutIntelligentTieringConfiguration",
                            "PutIntelligentTieringConfiguration"),
    "uploads": ("ListBucketMultipartUploads", "ListBucketMultipartUploads", "ListBucketMultipartUploads"),
    "versions": ("ListBucketVersions", "ListBucketVersions", "ListBucketVersions"),
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


def bucket_action(method: str, params: dict[str, str]) -> str:
    for name, (get, put, delete) in BUCKET_SUBRESOURCES.items():
        if name in params:
            return {"GET": get, "HEAD": get, "PUT": put, "DELETE": delete}.get(method, put)
    if method in ("GET", "HEAD"):
        return "ListBucket"
    if method == "PUT":
        return "CreateBucket"
    if method == "DELETE":
        return "DeleteBucket"
    if method == "POST":
        return "DeleteObject" if "delete" in params else "PutObject"  # DeleteObjects / POST Object
    return "ListBucket"


def object_action(method: str, params: dict[str, str], headers: dict[str, str]) -> str:
    versioned = "versionId" in params
    if method in ("GET", "HEAD"):
        if "acl" in params:
            return "GetObjectVersionAcl" if versioned else "GetObjectAcl"
        if "tagging" in params:
            return "GetObjectVersionTagging" if versioned else "GetObjectTagging"
        if "uploadId" in params:
            return "ListMultipartUploadParts"
        if "attributes" in params:
            return "GetObjectVersionAttributes" if versioned else "GetObjectAttributes"
        if "retention" in params:
            return "GetObjectRetention"
        if "legal-hold" in params:
            return "GetObjectLegalHold"
        return "GetObjectVersion" if versioned else "GetObject"
    if method == "PUT":
        if "acl" in params:
            return "PutObjectVersionAcl" if versioned else "PutObjectAcl"
        if "tagging" in params:
            return "PutObjectVersionTagging" if versioned else "PutObjectTagging"
        if "retention" in params:
            return "PutObjectRetention"
        if "legal-hold" in params:
            return "PutObjectLegalHold"
        return "PutObject"  # also UploadPart, UploadPartCopy and CopyObject (whose source needs GetObject)
    if method == "DELETE":
        if "uploadId" in params:
            return "AbortMultipartUpload"
        if "tagging" in params:
            return "DeleteObjectVersionTagging" if versioned else "DeleteObjectTagging"
        return "DeleteObjectVersion" if versioned else "DeleteObject"
    if method == "POST":
        if "restore" in params:
            return "RestoreObject"
        if "select" in params:
            return "GetObject"
        return "PutObject"  # CreateMultipartUpload, CompleteMultipartUpload
    return "GetObject"


def classify(
    method: str, bucket: str | None, key: str, params: dict[str, str], headers: dict[str, str]
) -> Action:
    if bucket is None:
        return Action("ListAllMyBuckets", None, None)
    if key == "":
        return Action(bucket_action(method, params), bucket, None)
    return Action(object_action(method, params, headers), bucket, key)
