"""Moto 5.2.5: the checksum of a CopyObject's copy is computed chunk by chunk from the key's buffer.

A CopyObject that asks for a checksum (`x-amz-checksum-algorithm`) has `moto.s3.responses` compute it over
the copy's `value`, which the `FakeKey.value` patch (key_value.py) answers with a `KeySlice` during the
copy: given one, `compute_checksum` reads the key's buffer 1 MiB at a time under the key's lock, with the
CRCs of `checksum_algorithms` (applied first: this wraps its `compute_checksum`). Any other body is Moto's.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from moto_gateway.moto_patches import require_moto
from moto_gateway.moto_patches.checksum_algorithms import RunningChecksum
from moto_gateway.state.key_bodies import KeySlice, key_chunks

MOTO_VERSION = "5.2.5"


def _checksum_of_slices(original: Callable) -> Callable:
    def compute_checksum(body, algorithm: str, encode_base64: bool = True) -> bytes:
        if not isinstance(body, KeySlice):
            return original(body, algorithm, encode_base64)
        running = RunningChecksum(algorithm)
        with body.key.lock:
            for chunk in key_chunks(body.key, body.start, len(body)):
                running.update(chunk)
        return base64.b64encode(running.digest()) if encode_base64 else running.digest()

    compute_checksum.streamed_bodies = True
    return compute_checksum


def apply() -> None:
    """After `checksum_algorithms`, whose CRCs it keeps."""
    require_moto(MOTO_VERSION, __name__)
    from moto.s3 import responses as s3_responses

    if not getattr(s3_responses.compute_checksum, "streamed_bodies", False):
        s3_responses.compute_checksum = _checksum_of_slices(s3_responses.compute_checksum)
