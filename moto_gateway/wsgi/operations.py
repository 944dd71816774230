"""The one classifier of S3 operations: S3's name for what Moto's router does with a request (GetObject,
PutObject, ListObjectsV2, ...).

Faults match their rules on it, the access layer authorises it, the change log records it: each keeps only
a mapping from the operation to what it needs (an IAM action, a change-feed op). The answer is the call
Moto 5.2.5's S3 router (`moto/s3/responses.py`: `_bucket_response_*`, `_key_response_*`) makes, in its
order, so a request naming two subresources (`PUT ?acl&cors`) is the one Moto performs (PutBucketAcl), and
a subresource Moto does not route falls through as it does (`GET ?analytics` lists the objects, `DELETE
?acl` deletes the bucket): access authorises, and the change log records, what Moto does. None where S3
has no such call (the gateway refuses those before Moto: RequestChecks). Pure: method, bucket, key, the
query, and whether x-amz-copy-source was sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

LIST_OBJECTS_V2 = "list-type=2"  # the one entry of a dispatch order that asks for a value
# (query parameter, operation) in the order Moto's handler tests them; the first present wins.
BUCKET_GET = (
    ("object-lock", "GetObjectLockConfiguration"),
    ("uploads", "ListMultipartUploads"),
    ("location", "GetBucketLocation"),
    ("lifecycle", "GetBucketLifecycleConfiguration"),
    ("versioning", "GetBucketVersioning"),
    ("policyStatus", "GetBucketPolicyStatus"),
    ("policy", "GetBucketPolicy"),
    ("website", "GetBucketWebsite"),
    ("acl", "GetBucketAcl"),
    ("tagging", "GetBucketTagging"),
    ("logging", "GetBucketLogging"),
    ("cors", "GetBucketCors"),
    ("notification", "GetBucketNotificationConfiguration"),
    ("accelerate", "GetBucketAccelerateConfiguration"),
    ("publicAccessBlock", "GetPublicAccessBlock"),
    ("inventory", "GetBucketInventoryConfiguration"),  # without `id`: ListBucketInventoryConfigurations
    ("versions", "ListObjectVersions"),
    ("encryption", "GetBucketEncryption"),
    (LIST_OBJECTS_V2, "ListObjectsV2"),
    ("replication", "GetBucketReplication"),
    ("ownershipControls", "GetBucketOwnershipControls"),
)
BUCKET_PUT = (
    ("object-lock", "PutObjectLockConfiguration"),
    ("versioning", "PutBucketVersioning"),
    ("lifecycle", "PutBucketLifecycleConfiguration"),
    ("policy", "PutBucketPolicy"),
    ("acl", "PutBucketAcl"),
    ("tagging", "PutBucketTagging"),
    ("website", "PutBucketWebsite"),
    ("cors", "PutBucketCors"),
    ("logging", "PutBucketLogging"),
    ("notification", "PutBucketNotificationConfiguration"),
    ("accelerate", "PutBucketAccelerateConfiguration"),
    ("publicAccessBlock", "PutPublicAccessBlock"),
    ("encryption", "PutBucketEncryption"),
    ("replication", "PutBucketReplication"),
    ("ownershipControls", "PutBucketOwnershipControls"),
    ("inventory", "PutBucketInventoryConfiguration"),
)
BUCKET_DELETE = (
    ("policy", "DeleteBucketPolicy"),
    ("tagging", "DeleteBucketTagging"),
    ("website", "DeleteBucketWebsite"),
    ("cors", "DeleteBucketCors"),
    ("lifecycle", "DeleteBucketLifecycle"),
    ("publicAccessBlock", "DeletePublicAccessBlock"),
    ("encryption", "DeleteBucketEncryption"),
    ("replication", "DeleteBucketReplication"),
    ("ownershipControls", "DeleteBucketOwnershipControls"),
)
OBJECT_GET = (
    ("retention", "GetObjectRetention"),  # Moto has none: the gateway answers it (s3_features/object_lock.py)
    ("uploadId", "ListParts"),
    ("acl", "GetObjectAcl"),
    ("tagging", "GetObjectTagging"),
    ("legal-hold", "GetObjectLegalHold"),
    ("attributes", "GetObjectAttributes"),
)
OBJECT_PUT = (  # after UploadPart / UploadPartCopy (uploadId and partNumber); before CopyObject
    ("retention", "PutObjectRetention"),
    ("legal-hold", "PutObjectLegalHold"),
    ("acl", "PutObjectAcl"),
    ("tagging", "PutObjectTagging"),
)
OBJECT_DELETE = (("uploadId", "AbortMultipartUpload"), ("tagging", "DeleteObjectTagging"))
OBJECT_POST = (
    ("uploads", "CreateMultipartUpload"),
    ("uploadId", "CompleteMultipartUpload"),
    ("restore", "RestoreObject"),
    ("select", "SelectObjectContent"),
)
METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS")
BUCKET_ORDERS = {"GET": BUCKET_GET, "PUT": BUCKET_PUT, "DELETE": BUCKET_DELETE}
BUCKET_DEFAULTS = {"GET": "ListObjects", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}
OBJECT_ORDERS = {"GET": OBJECT_GET, "PUT": OBJECT_PUT, "DELETE": OBJECT_DELETE, "POST": OBJECT_POST}


def first_named(order: Iterable[tuple[str, str]], query: Mapping[str, str] | Iterable[str]) -> str | None:
    """The operation of the first parameter of `order` the query names. `list-type` must be 2 when the
    query's values are known (Moto: `querystring.get("list-type") == "2"`); a list of names says only that
    it was sent."""
    for name, operation in order:
        if name == LIST_OBJECTS_V2:
            if "list-type" in query and (not isinstance(query, Mapping) or query["list-type"] == "2"):
                return operation
        elif name in query:
            return operation
    return None


def operation_of(
    method: str,
    bucket: str | None,
    key: str | None,
    query: Mapping[str, str] | Iterable[str],
    copy_source: bool,
) -> str | None:
    """S3's name for the call Moto's router makes for a request, or None when S3 has no such call.

    `query` maps the query's parameter names to their (first) values, or lists the names only;
    `copy_source` says whether x-amz-copy-source was sent.
    """
    method = method.upper()
    if not isinstance(query, Mapping):
        query = frozenset(query)
    if not bucket:
        return "ListBuckets" if method == "GET" else None
    if not key:
        if method == "HEAD":
            return "HeadBucket"
        if method == "POST":
            return "DeleteObjects" if "delete" in query else "PostObject"
        if method not in BUCKET_ORDERS:
            return None
        operation = first_named(BUCKET_ORDERS[method], query) or BUCKET_DEFAULTS[method]
        if operation == "GetBucketInventoryConfiguration" and "id" not in query:
            return "ListBucketInventoryConfigurations"
        return operation
    if method == "HEAD":
        return "HeadObject"
    if method not in OBJECT_ORDERS:
        return None
    if method == "PUT" and "uploadId" in query and "partNumber" in query:
        return "UploadPartCopy" if copy_source else "UploadPart"
    operation = first_named(OBJECT_ORDERS[method], query)
    if operation is not None or method == "POST":
        return operation
    if method == "PUT":
        return "CopyObject" if copy_source else "PutObject"
    return {"GET": "GetObject", "DELETE": "DeleteObject"}[method]


def known_operations() -> frozenset[str]:
    """Every name `operation_of` can give (found by asking it): a rule naming anything else is a typo."""
    orders = (*BUCKET_ORDERS.values(), *OBJECT_ORDERS.values())
    names = {name for order in orders for name, _ in order} - {LIST_OBJECTS_V2} | {"delete", "list-type"}
    queries = [[], ["uploadId", "partNumber"], ["inventory", "id"], *([name] for name in names)]
    return frozenset(
        name
        for method in METHODS
        for bucket, key in ((None, ""), ("b", ""), ("b", "k"))
        for query in queries
        for copy_source in (False, True)
        if (name := operation_of(method, bucket, key, query, copy_source))
    )


KNOWN_OPERATIONS = known_operations()
