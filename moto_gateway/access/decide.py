"""The authorization decision for one request, from a snapshot of the bucket and object it touches.

Follows the S3 User Guide: "How Amazon S3 authorizes a request" (bucket and object operations), "Access
control list (ACL) overview" (grantees, permissions, and the ACL-permission-to-action mapping), "Blocking
public access to your Amazon S3 storage", "Controlling ownership of objects" (BucketOwnerEnforced turns
ACLs off). Principals are account roots: the owner account may do anything to its bucket that its
bucket policy does not explicitly deny; another account or the anonymous principal needs a policy Allow
or an ACL grant, and no Deny.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from moto_gateway.access import policy as policies
from moto_gateway.access.actions import OWNER_ONLY, OWNER_ROOT_ALWAYS, Action
from moto_gateway.signing.keyring import Account

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
PUBLIC_GROUPS = frozenset({ALL_USERS, AUTHENTICATED_USERS})
# The anonymous principal owns what it writes (S3's canonical id for it).
ANONYMOUS_OWNER = Account("anonymous", "65a011a29cdf8ec533ec3d1ccaae921c")

BUCKET_ACL_PERMISSION = {
    "ListBucket": "READ",
    "ListBucketVersions": "READ",
    "ListBucketMultipartUploads": "READ",
    "GetBucketAcl": "READ_ACP",
    "PutBucketAcl": "WRITE_ACP",
    # writes of objects are granted by WRITE on the bucket
    "PutObject": "WRITE",
    "DeleteObject": "WRITE",
    "DeleteObjectVersion": "WRITE",
    "AbortMultipartUpload": "WRITE",
}
OBJECT_ACL_PERMISSION = {
    "GetObject": "READ",
    "GetObjectVersion": "READ",
    "GetObjectAcl": "READ_ACP",
    "GetObjectVersionAcl": "READ_ACP",
    "PutObjectAcl": "WRITE_ACP",
    "PutObjectVersionAcl": "WRITE_ACP",
}
PUBLIC_CANNED_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})
ACL_SETTING_ACTIONS = frozenset({"PutObject", "PutObjectAcl", "PutObjectVersionAcl", "PutBucketAcl"})


@dataclass(frozen=True)
class Grant:
    grantee: str  # a canonical user id or a group URI
    permission: str  # READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL


@dataclass(frozen=True)
class PublicAccessBlock:
    block_public_acls: bool = False
    ignore_public_acls: bool = False
    block_public_policy: bool = False
    restrict_public_buckets: bool = False


@dataclass(frozen=True)
class BucketState:
    owner: Account
    grants: tuple[Grant, ...] = ()
    policy: dict | None = None
    public_access_block: PublicAccessBlock = PublicAccessBlock()
    owner_enforced: bool = False  # Object Ownership BucketOwnerEnforced: ACLs are off
    owner_preferred: bool = False  # BucketOwnerPreferred: bucket-owner-full-control hands objects over


@dataclass(frozen=True)
class ObjectState:
    owner: Account
    grants: tuple[Grant, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    status: int = 403
    code: str = "AccessDenied"
    message: str = "Access Denied"


ALLOW = Decision(True, "allowed")


def deny(reason: str) -> Decision:
    return Decision(False, reason)


def grant_applies(grant: Grant, principal: Account | None, ignore_public: bool) -> bool:
    if grant.grantee == ALL_USERS:
        return not ignore_public
    if grant.grantee == AUTHENTICATED_USERS:
        return principal is not None and not ignore_public
    if principal is None:
        return grant.grantee == ANONYMOUS_OWNER.canonical_id
    return grant.grantee == principal.canonical_id


def acl_grants(
    grants: Sequence[Grant], principal: Account | None, permission: str, ignore_public: bool
) -> bool:
    return any(
        grant.permission in (permission, "FULL_CONTROL") and grant_applies(grant, principal, ignore_public)
        for grant in grants
    )


def is_public_acl(grants: Sequence[Grant]) -> bool:
    return any(grant.grantee in PUBLIC_GROUPS for grant in grants)


def decide(
    principal: Account | None,
    action: Action,
    bucket: BucketState | None,
    obj: ObjectState | None,
    keys: Mapping[str, Sequence[str]],
) -> Decision:
    """Whether `principal` may take `action`; `bucket` None: the bucket does not exist (Moto answers)."""
    if bucket is None:
        if principal is None and action.name in ("CreateBucket", "ListAllMyBuckets"):
            return deny("the anonymous principal cannot create or list buckets")
        return ALLOW
    is_owner = principal is not None and principal.account_id == bucket.owner.account_id
    request = policies.PolicyRequest(principal, f"s3:{action.name}", action.resource, keys)
    verdict = None
    if bucket.policy is not None:
        verdict = policies.evaluate(bucket.policy, request)
        if (
            verdict == "Allow"
            and not is_owner
            and bucket.public_access_block.restrict_public_buckets
            and policies.is_public(bucket.policy)
        ):
            verdict = None  # RestrictPublicBuckets: a public policy grants nothing outside the account
    if verdict == "Deny":
        if is_owner and action.name in OWNER_ROOT_ALWAYS:
            return ALLOW
        return deny("an explicit Deny in the bucket policy")
    if is_owner:
        if obj is not None and action.name in OBJECT_ACL_PERMISSION and not bucket.owner_enforced:
            if obj.owner.account_id != principal.account_id and not acl_grants(
                obj.grants, principal, OBJECT_ACL_PERMISSION[action.name], False
            ):
                return deny("the object is another account's and its ACL grants the bucket owner nothing")
        return ALLOW
    if action.name in OWNER_ONLY:
        return deny("only the bucket owner's account may take this action")
    if verdict == "Allow":
        return ALLOW
    if bucket.owner_enforced:
        return deny("no policy allows it and ACLs are disabled (BucketOwnerEnforced)")
    ignore_public = bucket.public_access_block.ignore_public_acls
    if action.key is not None and action.name in OBJECT_ACL_PERMISSION:
        needed = OBJECT_ACL_PERMISSION[action.name]
        if obj is not None and acl_grants(obj.grants, principal, needed, ignore_public):
            return ALLOW
        if obj is None and acl_grants(bucket.grants, principal, "READ", ignore_public):
            return ALLOW  # may list the bucket: S3 answers NoSuchKey rather than AccessDenied
        return deny("neither the bucket policy nor the object's ACL grants it")
    permission = BUCKET_ACL_PERMISSION.get(action.name)
    if permission and acl_grants(bucket.grants, principal, permission, ignore_public):
        return ALLOW
    return deny("neither the bucket policy nor the bucket's ACL grants it")


def public_acl_refusal(
    action: Action, bucket: BucketState | None, headers: Mapping[str, str]
) -> Decision | None:
    """Refusals that do not depend on who asks: BlockPublicAcls, and ACLs on a BucketOwnerEnforced bucket."""
    if bucket is None or action.name not in ACL_SETTING_ACTIONS:
        return None
    canned = headers.get("x-amz-acl")
    grant_headers = [value for name, value in headers.items() if name.startswith("x-amz-grant-")]
    if bucket.owner_enforced and (
        (canned is not None and canned != "bucket-owner-full-control") or grant_headers
        or (action.name.endswith("Acl") and canned is None)
    ):
        return Decision(
            False, "ACLs are disabled (BucketOwnerEnforced)", 400, "AccessControlListNotSupported",
            "The bucket does not allow ACLs",
        )
    if bucket.public_access_block.block_public_acls:
        public_grant = any("acs.amazonaws.com/groups/global/" in value for value in grant_headers)
        if canned in PUBLIC_CANNED_ACLS or public_grant:
            return deny("BlockPublicAcls refuses a public ACL")
    return None
