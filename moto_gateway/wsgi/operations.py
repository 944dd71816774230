"""The one classifier of S3 operations: S3's name for a request (GetObject, PutObject, ListObjectsV2, ...).

Used by every layer that asks which operation a request is (fault rules match on it, ...). Pure: method,
bucket, key, the query's parameter names and whether x-amz-copy-source was sent.
"""

from __future__ import annotations

from collections.abc import Iterable


# Sub-resources (query parameter names) that turn a request on a bucket or an object into another operation.
BUCKET_SUBRESOURCES = {
    "accelerate": "BucketAccelerateConfiguration",
    "acl": "BucketAcl",
    "analytics": "BucketAnalyticsConfiguration",
    "cors": "BucketCors",
    "encryption": "BucketEncryption",
    "intelligent-tiering": "BucketIntelligentTieringConfiguration",
    "inventory": "BucketInventoryConfiguration",
    "lifecycle": "BucketLifecycleConfiguration",
    "logging": "BucketLogging",
    "metrics": "BucketMetricsConfiguration",
    "notification": "BucketNotificationConfiguration",
    "object-lock": "ObjectLockConfiguration",
    "ownershipControls": "BucketOwnershipControls",
    "policy": "BucketPolicy",
    "publicAccessBlock": "PublicAccessBlock",
    "replication": "BucketReplication",
    "requestPayment": "BucketRequestPayment",
    "tagging": "BucketTagging",
    "versioning": "BucketVersioning",
    "website": "BucketWebsite",
}
OBJECT_SUBRESOURCES = {
    "acl": "ObjectAcl",
    "attributes": "ObjectAttributes",
    "legal-hold": "ObjectLegalHold",
    "retention": "ObjectRetention",
    "tagging": "ObjectTagging",
}
BUCKET_GET_ONLY = {"location": "GetBucketLocation", "policyStatus": "GetBucketPolicyStatus"}
DELETABLE_BUCKET_SUBRESOURCES = {
    "analytics", "cors", "encryption", "intelligent-tiering", "inventory", "lifecycle", "metrics",
    "ownershipControls", "policy", "publicAccessBlock", "replication", "tagging", "website",
}  # fmt: skip
VERBS = {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}
METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS")


def operation_of(
    method: str, bucket: str | None, key: str, query: Iterable[str], copy_source: bool
) -> str | None:
    """S3's name for a request (GetObject, PutObject, ListObjectsV2, ...), or None when S3 has no such call.

    `query` holds the query parameter names; `copy_source` says whether x-amz-copy-source was sent.
    """
    method = method.upper()
    names = set(query)
    if not bucket:
        return "ListBuckets" if method == "GET" else None
    if not key:
        if method == "HEAD":
            return "HeadBucket"
        if method == "POST":
            return "DeleteObjects" if "delete" in names else "PostObject"
        for name, operation in BUCKET_GET_ONLY.items():
            if name in names and method == "GET":
                return operation
        for name, suffix in BUCKET_SUBRESOURCES.items():
            if name in names and method in VERBS:
                if method == "DELETE" and name not in DELETABLE_BUCKET_SUBRESOURCES:
                    return None
                if suffix == "BucketLifecycleConfiguration" and method == "DELETE":
                    return "DeleteBucketLifecycle"
                return VERBS[method] + suffix
        if method == "GET":
            if "versions" in names:
                return "ListObjectVersions"
            if "uploads" in names:
                return "ListMultipartUploads"
            return "ListObjectsV2" if "list-type" in names else "ListObjects"
        return {"PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(method)
    if method == "HEAD":
        return "HeadObject"
    if method == "POST":
        if "uploads" in names:
            return "CreateMultipartUpload"
        if "uploadId" in names:
            return "CompleteMultipartUpload"
        if "restore" in names:
            return "RestoreObject"
        if "select" in names:
            return "SelectObjectContent"
        return None
    if "uploadId" in names:
        if method == "PUT" and "partNumber" in names:
            return "UploadPartCopy" if copy_source else "UploadPart"
        return {"GET": "ListParts", "DELETE": "AbortMultipartUpload"}.get(method)
    for name, suffix in OBJECT_SUBRESOURCES.items():
        if name in names and method in VERBS:
            if method == "DELETE" and name != "tagging":
                return None
            if name == "attributes" and method != "GET":
                return None
            return VERBS[method] + suffix
    if method == "PUT":
        return "CopyObject" if copy_source else "PutObject"
    return {"GET": "GetObject", "DELETE": "DeleteObject"}.get(method)


def known_operations() -> frozenset[str]:
    """Every name `operation_of` can give (found by asking it): a rule naming anything else is a typo."""
    queries = [[], ["uploadId", "partNumber"], *([name] for name in (
        *BUCKET_SUBRESOURCES, *OBJECT_SUBRESOURCES, *BUCKET_GET_ONLY,
        "delete", "versions", "uploads", "list-type", "uploadId", "restore", "select",
    ))]  # fmt: skip
    return frozenset(
        name
        for method in METHODS
        for bucket, key in ((None, ""), ("b", ""), ("b", "k"))
        for query in queries
        for copy_source in (False, True)
        if (name := operation_of(method, bucket, key, query, copy_source))
    )


KNOWN_OPERATIONS = known_operations()
