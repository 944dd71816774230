"""Moto 5.2.5, AccessControlPolicy bodies (S3 API Reference, PutBucketAcl / PutObjectAcl:
https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketAcl.html):

- a policy whose AccessControlList is empty revokes every grant; Moto's `_acl_from_body` answers None, which
  PutBucketAcl stores as the bucket's ACL, and every later GetBucketAcl answered 500 (`acl.grants` of None;
  s3-tests test_bucket_acl_revoke_all). The patch answers an ACL without grants.
- PutObjectAcl never reads its body: Moto takes the grant headers or else copies the bucket's ACL onto the
  object. The patch reads the body, as PutBucketAcl does, when the request sends no ACL header.
"""

from __future__ import annotations

from moto_gateway.moto_patches import require_moto

MOTO_VERSION = "5.2.5"


def apply() -> None:
    require_moto(MOTO_VERSION, __name__)
    import xmltodict
    from moto.s3.models import FakeAcl
    from moto.s3.responses import S3Response

    original_from_body = S3Response._acl_from_body
    if getattr(original_from_body, "motostack_patched", False):
        return

    def acl_from_body(self):
        acl = original_from_body(self)
        if acl is None:  # Owner present (Moto checked it), AccessControlList empty: no grants at all
            return FakeAcl(grants=[])
        return acl

    def put_object_acl(self):
        if self._acl_from_headers(self.headers) is None and self.body and xmltodict.parse(self.body):
            acl = self._acl_from_body()
            self.backend.put_object_acl(self.bucket_name, self.parse_key_name(), acl)
            response_headers = self._get_cors_headers_other()
            self._get_checksum(response_headers)
            return 200, response_headers, ""
        return original_put_object_acl(self)

    original_put_object_acl = S3Response.put_object_acl
    acl_from_body.motostack_patched = True
    S3Response._acl_from_body = acl_from_body
    S3Response.put_object_acl = put_object_acl
