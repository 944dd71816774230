"""Moto 5.2.5 does not record when a multipart upload was initiated (ListMultipartUploads answers a fixed
2010 date). Lifecycle's AbortIncompleteMultipartUpload counts days from the initiation (S3 User Guide,
"Configuring a bucket lifecycle configuration to delete incomplete multipart uploads"), so the patch keeps
it on Moto's own FakeMultipart as `initiated` (a UTC datetime, like FakeKey.last_modified).
"""

from __future__ import annotations

from moto_gateway.moto_patches import require_moto

MOTO_VERSION = "5.2.5"


def apply() -> None:
    require_moto(MOTO_VERSION, __name__)
    from moto.core.utils import utcnow
    from moto.s3.models import FakeMultipart

    original = FakeMultipart.__init__
    if getattr(original, "motostack_patched", False):
        return

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.initiated = utcnow()

    init.motostack_patched = True
    FakeMultipart.__init__ = init
