"""Object Ownership's refusals that Moto 5.2.5 lacks: BucketOwnerEnforced cannot be set on a bucket whose ACL
gives access to anyone but its owner.

What S3 documents (S3 User Guide, "Controlling ownership of objects and disabling ACLs for your bucket",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html, and its "Troubleshooting"
page, .../userguide/object-ownership-error-responses.html, InvalidBucketAclWithObjectOwnership): "to apply the
Bucket owner enforced setting to disable ACLs, your bucket ACL must give full control only to the bucket
owner"; a CreateBucket that sets BucketOwnerEnforced with a bucket ACL granting access to others, or a
PutBucketOwnershipControls that sets it on a bucket whose ACL grants access to others, is 400
InvalidBucketAclWithObjectOwnership. What BucketOwnerEnforced and BucketOwnerPreferred do to object ACLs and
ownership is the access layer's (access/decide.py `public_acl_refusal`, access/layer.py `recording`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from moto.core import DEFAULT_ACCOUNT_ID

from moto_gateway.fast_paths.listing import SIGNING_PARAMETERS
from moto_gateway.moto_patches.owner_grants import is_owner_placeholder
from moto_gateway.s3_features.object_lock import read_small
from moto_gateway.state.s3state import find_bucket
from moto_gateway.wsgi.errors import S3Error
from moto_gateway.wsgi.refusals import refuse_drained
from moto_gateway.wsgi.request import RequestView
from moto_gateway.wsgi.services import MOTO_OWN_PATHS
from moto_gateway.wsgi.xml import child_text, local_name, parse_xml

ENFORCED = "BucketOwnerEnforced"
OWNER_ONLY_CANNED_ACLS = frozenset({"private", "bucket-owner-full-control"})


def acl_with_enforced_ownership() -> S3Error:
    return S3Error(
        400,
        "InvalidBucketAclWithObjectOwnership",
        "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
    )


def check_creation(headers: Mapping[str, str]) -> None:
    """CreateBucket with `x-amz-object-ownership: BucketOwnerEnforced` and an ACL for others."""
    if headers.get("x-amz-object-ownership", "").strip() != ENFORCED:
        return
    canned = headers.get("x-amz-acl")
    grants = [name for name in headers if name.startswith("x-amz-grant-")]
    if (canned is not None and canned.strip() not in OWNER_ONLY_CANNED_ACLS) or grants:
        raise acl_with_enforced_ownership()


def requested_ownership(body: bytes) -> str | None:
    """The ObjectOwnership an OwnershipControls document asks for (None if it names none or does not parse:
    Moto and the body checks answer it)."""
    try:
        root = parse_xml(body)
    except S3Error:
        return None
    for rule in root.iter():
        if local_name(rule.tag) == "Rule":
            return child_text(rule, "ObjectOwnership")
    return None


def grants_to_others(acl, default_account_owns: bool) -> bool:
    """Whether a bucket ACL (Moto's FakeAcl) gives anything to anyone but the bucket's owner: the owner grant
    Moto wrote (moto_patches/owner_grants.py marks it), or Moto's one owner id in the default account's
    bucket (also where nothing marks it, with GATEWAY_ACCESS=moto)."""
    from moto.s3.models import OWNER

    for grant in getattr(acl, "grants", None) or []:
        for grantee in grant.grantees:
            if getattr(grantee, "uri", None):
                return True
            if not (is_owner_placeholder(grantee) or (default_account_owns and grantee.id == OWNER)):
                return True
    return False


class ObjectOwnership:
    """WSGI layer: refuses BucketOwnerEnforced over an ACL that grants access to others."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "PUT" or environ.get("PATH_INFO", "").startswith(MOTO_OWN_PATHS):
            return self.app(environ, start_response)
        view = RequestView.from_environ(environ)
        bucket_name, key = view.addressing.bucket, view.addressing.key
        if not bucket_name or key:
            return self.app(environ, start_response)
        try:
            if set(view.params) <= SIGNING_PARAMETERS:
                check_creation(view.headers)
            elif "ownershipControls" in view.params:
                bucket, account_id = find_bucket(bucket_name)
                if bucket is not None and requested_ownership(read_small(environ)) == ENFORCED:
                    if grants_to_others(getattr(bucket, "acl", None), account_id == DEFAULT_ACCOUNT_ID):
                        raise acl_with_enforced_ownership()
        except S3Error as error:
            return refuse_drained(view, error, environ, start_response)
        return self.app(environ, start_response)
