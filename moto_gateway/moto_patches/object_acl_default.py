"""Moto 5.2.5: PutObject and CopyObject without ACL headers give the new object the bucket's ACL
(`S3Response.put_object` / `copy_object`: `if acl is None: acl = bucket.acl`), so every object in a
public-read bucket is public. S3 gives it the default ACL, owner FULL_CONTROL only (S3 User Guide,
"Access control list (ACL) overview": "When you create a bucket or an object, Amazon S3 creates a default
ACL that grants the resource owner full control over the resource").

The patch answers "private" where Moto's header parser finds no ACL, except for PutObjectAcl (`?acl`),
whose body Moto reads elsewhere.
"""

from __future__ import annotations

from moto_gateway.moto_patches import require_moto

MOTO_VERSION = "5.2.5"


def apply() -> None:
    require_moto(MOTO_VERSION, __name__)
    from moto.s3 import models
    from moto.s3.responses import S3Response

    original = S3Response._acl_from_headers
    if getattr(original, "motostack_patched", False):
        return

    def acl_from_headers(self, headers):
        acl = original(self, headers)
        if acl is None and "acl" not in (getattr(self, "querystring", None) or {}):
            return models.get_canned_acl("private")  # looked up now: owner_grants may wrap it
        return acl

    acl_from_headers.motostack_patched = True
    S3Response._acl_from_headers = acl_from_headers
