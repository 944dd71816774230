"""Moto 5.2.5: a large PutObject / UploadPart body already spooled by the gateway is the request's body.

`S3Response.setup_class` reads the request's body into one `bytes` (and decodes an aws-chunked one into a
second): for a body StreamedBodies spooled (fast_paths/streamed_bodies.py, handed over in
`to_moto.streamed_body`), the request stream is empty and the `StreamedBody` takes the bytes' place, which
the `FakeKey.value` patch (key_value.py) then adopts as the key's buffer. Any other request is Moto's own.
"""

from __future__ import annotations

from collections.abc import Callable

from moto_gateway.moto_patches import require_moto
from moto_gateway.state import to_moto

MOTO_VERSION = "5.2.5"


def _streaming_setup_class(original: Callable) -> Callable:
    def setup_class(self, request, full_url=None, headers=None):
        body = to_moto.streamed_body.get()
        if body is None:
            return original(self, request, full_url, headers)
        # S3Response decodes an aws-chunked body into a new bytes the size of the object: not this one
        self._handle_encoded_body = lambda _body: body
        self._handle_v4_chunk_signatures = lambda _body, _length: body
        try:
            original(self, request, full_url, headers)
        finally:
            del self._handle_encoded_body, self._handle_v4_chunk_signatures
        self.body = self.raw_body = body

    setup_class.streamed_bodies = True
    return setup_class


def apply() -> None:
    require_moto(MOTO_VERSION, __name__)
    from moto.s3.responses import S3Response

    if not getattr(S3Response.setup_class, "streamed_bodies", False):
        S3Response.setup_class = _streaming_setup_class(S3Response.setup_class)
