"""Moto 5.2.5 writes one canonical id, `moto.s3.models.OWNER`, for the owner in every ACL it makes itself
(a bucket's or object's default ACL, canned ACLs): the access layer reads that id as "the resource's owner".
But OWNER is also the default account's real canonical id, so a grant a client gives the default account in
another account's bucket (`x-amz-grant-full-control: id=...`, an AccessControlPolicy body) looked like a
grant to the bucket's owner, and the default account was refused what S3 allows it (issue 28: copy into a
bucket the copier does not own, then read the copy).

The patch marks the owner grantee of every ACL Moto makes (`get_canned_acl`) with `owner_placeholder`, an
attribute of Moto's own FakeGrantee (so it is kept wherever Moto's objects are kept); a grantee a client
named carries no mark and means the account whose canonical id it is.
"""

from __future__ import annotations

from moto_gateway.moto_patches import require_moto

MOTO_VERSION = "5.2.5"
MARK = "owner_placeholder"


def is_owner_placeholder(grantee) -> bool:
    return bool(getattr(grantee, MARK, False))


def apply() -> None:
    require_moto(MOTO_VERSION, __name__)
    from moto.s3 import models, responses

    original = models.get_canned_acl
    if getattr(original, "motostack_patched", False):
        return

    def get_canned_acl(acl: str):
        made = original(acl)
        for grant in made.grants:
            for grantee in grant.grantees:
                if grantee.id == models.OWNER:
                    setattr(grantee, MARK, True)
        return made

    get_canned_acl.motostack_patched = True
    models.get_canned_acl = get_canned_acl
    responses.get_canned_acl = get_canned_acl
