"""Moto 5.2.5: `FakeKey.value` hands out and adopts a key's body without copying it whole into memory.

Moto's getter reads the key's whole buffer into one `bytes`; its setter writes the bytes it is given into a
new buffer. During the requests where a layer says so (state/to_moto.py), the getter answers instead:
- a GetObject of a large key (`to_moto.object_read`): a `KeyBody`, a view of the key's shared body that the
  answer streams (fast_paths/streamed_reads.py);
- a CopyObject / UploadPartCopy (`to_moto.copy_source`): a `KeySlice` of the source key for the first read
  of it (what Moto stores), and of the copy for the read Moto computes the copy's checksum from.
The setter, given a `KeySlice`, copies it from the source key's buffer chunk by chunk under that key's
lock; given a `StreamedBody` (a spooled request body, or a completed multipart upload), it adopts its spool
as the key's buffer with its size and MD5, the way bulk import stores objects. Types: state/key_bodies.py.
"""

from __future__ import annotations

from collections.abc import Callable

from moto_gateway.moto_patches import require_moto
from moto_gateway.state import to_moto
from moto_gateway.state.key_bodies import KeySlice, StreamedBody, install_body, lazy_value

MOTO_VERSION = "5.2.5"


def _value_getter(original: Callable) -> Callable:
    def get_value(self):
        streamed = lazy_value(self, to_moto.object_read.get())
        if streamed is not None:
            return streamed
        source = to_moto.copy_source.get()
        if source is None:
            return original(self)
        here = (self.bucket_name, self.name)
        if here == (source.bucket, source.key) and not source.read:
            source.read = True  # what Moto stores
            return KeySlice(self)
        if source.read and here == source.checksummed:
            return KeySlice(self)  # what Moto computes the copy's checksum from (checksum_of_slices.py)
        return original(self)

    return get_value


def _value_setter(original: Callable) -> Callable:
    def set_value(self, new_value):
        if isinstance(new_value, KeySlice):
            new_value = new_value.copy()
        if isinstance(new_value, StreamedBody):
            # a completed multipart upload comes with its ETag (md5 of the parts' md5s, "-N")
            install_body(self, new_value.take(), new_value.size, self._etag or new_value.md5_hex)
            return
        original(self, new_value)

    return set_value


def apply() -> None:
    require_moto(MOTO_VERSION, __name__)
    from moto.s3.models import FakeKey

    prop = FakeKey.value
    if not getattr(prop.fset, "streamed_bodies", False):
        getter, setter = _value_getter(prop.fget), _value_setter(prop.fset)
        setter.streamed_bodies = True
        FakeKey.value = property(getter, setter)
