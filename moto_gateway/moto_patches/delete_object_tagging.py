"""Moto 5.2.5: DeleteObjectTagging of a key that does not exist is 404 NoSuchKey, as S3 answers it
(`S3Backend.delete_object_tagging` dereferenced None: 500)."""

from __future__ import annotations

from moto_gateway.moto_patches import require_moto

MOTO_VERSION = "5.2.5"


def apply() -> None:
    require_moto(MOTO_VERSION, __name__)
    from moto.s3.exceptions import MissingKey
    from moto.s3.models import S3Backend

    original = S3Backend.delete_object_tagging
    if getattr(original, "motostack_patched", False):
        return

    def delete_object_tagging(self, bucket_name: str, key_name: str, version_id: str | None = None):
        if self.get_object(bucket_name, key_name, version_id=version_id) is None:
            raise MissingKey(key_name)
        return original(self, bucket_name, key_name, version_id=version_id)

    delete_object_tagging.motostack_patched = True
    S3Backend.delete_object_tagging = delete_object_tagging
