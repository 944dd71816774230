"""Moto 5.2.5: `FakeBucket.get_permission` evaluates bucket policies itself, ignoring principals and
conditions, and `S3Response._key_response` answers a bare `403` (no S3 error XML) when it says DENIED or
when an unsigned request reads an object whose ACL is not public-read. With the gateway's access layer
deciding every request as S3 does (moto_gateway/access), Moto's second opinion is wrong more often than
right (e.g. a Deny conditioned on s3:x-amz-acl refuses every PutObject), so it defers: PERMITTED.
"""

from __future__ import annotations

from moto_gateway.moto_patches import require_moto

MOTO_VERSION = "5.2.5"


def apply() -> None:
    require_moto(MOTO_VERSION, __name__)
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self, action: str, resource: str):  # noqa: ARG001 - Moto's signature
        """Access was decided before Moto saw the request (moto_gateway.access.layer)."""
        return PermissionResult.PERMITTED

    FakeBucket.get_permission = get_permission
