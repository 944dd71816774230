"""What a layer hands to Moto's patched internals for the one request it is passing on to Moto.

Moto's call chain (route -> S3Response -> backend -> FakeKey / FakeMultipart) has no parameter for what the
gateway already knows: the spooled body of a large PUT, the source of a copy, that a GET may stream, which
checksums a CompleteMultipartUpload names. A layer sets the slot around its call of the app inside; the
patches of Moto read it (moto_patches/streamed_request_body.py, key_value.py,
streamed_completion.py). ContextVars: each request's thread sees its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

# StreamedBodies -> S3Response.setup_class: the body Moto stores, already spooled (a StreamedBody)
streamed_body: ContextVar[Any] = ContextVar("moto_gateway_streamed_body", default=None)
# StreamedBodies -> FakeKey.value: the key a CopyObject / UploadPartCopy reads in chunks (a CopySource)
copy_source: ContextVar[Any] = ContextVar("moto_gateway_copy_source", default=None)
# StreamedBodies -> FakeKey.value: a GetObject that may answer a stream of the key's buffer (a Reading)
object_read: ContextVar[Any] = ContextVar("moto_gateway_object_read", default=None)
# ConformanceLayer -> FakeMultipart.complete: the checksums a completion names (CompletionChecksums)
multipart_completion: ContextVar[Any] = ContextVar("moto_gateway_completion", default=None)


@dataclass(frozen=True)
class CompletionChecksums:
    """What a CompleteMultipartUpload says the parts' and the object's checksums are (base64 values)."""

    parts: Mapping[int, Mapping[str, str]]  # part number -> {algorithm: value}, from <Part><ChecksumX>
    whole: Mapping[str, str]  # algorithm -> value, from the x-amz-checksum-* headers


@contextmanager
def handed_to_moto(slot: ContextVar, value: object) -> Iterator[None]:
    """`value` in `slot` while the block runs (the layer's call of the app inside); gone afterwards."""
    token = slot.set(value)
    try:
        yield
    finally:
        slot.reset(token)
