"""Moto 5.2.5: CompleteMultipartUpload writes the parts into one spool, never whole in memory.

Moto's `FakeMultipart.complete` concatenates the parts into one bytearray (and a second for the default
CRC64NVME checksum). `complete_streamed` replaces it with the same checks, ETag and checksums, computed
chunk by chunk as the parts are copied into a spool (a `StreamedBody`, which the `FakeKey.value` patch,
key_value.py, adopts as the object's buffer). The checksums the request names (`to_moto.multipart_completion`,
from the conformance layer) are held to what was uploaded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from moto.s3 import models as s3_models
from moto.s3 import utils as s3_utils
from moto.s3.exceptions import EntityTooSmall, InvalidPart, MalformedXML, S3ClientError
from moto.s3.models import FakeKey, FakeMultipart, MultipartChecksumBuilder

from moto_gateway.moto_patches import require_moto
from moto_gateway.moto_patches.checksum_algorithms import RunningChecksum
from moto_gateway.state import to_moto
from moto_gateway.state.key_bodies import key_chunks, spool_object
from moto_gateway.state.to_moto import CompletionChecksums

MOTO_VERSION = "5.2.5"
MOTO_COMPLETE = FakeMultipart.complete  # Moto's own, kept for comparison in tests


class BadDigest(S3ClientError):
    """Moto renders it as S3's error XML (it finds the service's error model by the exception's module,
    and `moto_gateway...` would read as a Moto service named `gateway`)."""

    __module__ = "moto.s3.exceptions"
    code = "BadDigest"

    def __init__(self, algorithm: str) -> None:
        super().__init__("BadDigest", f"The {algorithm} you specified did not match the calculated checksum.")


def complete_streamed(self: FakeMultipart, body: Iterable[tuple[int, str]]):
    """Moto's `FakeMultipart.complete` (same checks, ETag and checksums), the parts concatenated into a
    spool instead of a bytearray (and a second one per checksum). The checksums the request names
    (`to_moto.multipart_completion`, from the conformance layer) are held to what was uploaded: a part's
    -> InvalidPart, the object's -> BadDigest, raised before Moto removes the upload, so it stays."""
    builder = MultipartChecksumBuilder(
        self.metadata.get("x-amz-checksum-algorithm"), self.metadata.get("x-amz-checksum-type")
    )
    expected = to_moto.multipart_completion.get() or CompletionChecksums({}, {})
    composite = builder.checksum_type == "COMPOSITE"
    whole = RunningChecksum(builder.checksum_algorithm)
    part_checksums = bytearray()
    md5s = bytearray()
    parts: list[tuple[int, FakeKey]] = []
    last = None
    for number, etag in body:
        part = self.parts.get(number)
        if part is None or part.etag.replace('"', "") != etag.replace('"', ""):
            raise InvalidPart()
        if last is not None and last.contentsize < s3_models.S3_UPLOAD_PART_MIN_SIZE:
            raise EntityTooSmall()
        md5s.extend(bytes.fromhex(part.etag.replace('"', "")))
        parts.append((number, part))
        last = part
    if not parts:
        raise MalformedXML

    def concatenated() -> Iterable[bytes]:
        for number, part in parts:
            running = RunningChecksum(builder.checksum_algorithm) if composite else whole
            named = {algorithm: RunningChecksum(algorithm) for algorithm in expected.parts.get(number, {})}
            with part.lock:
                for chunk in key_chunks(part):
                    running.update(chunk)
                    for checksum in named.values():
                        checksum.update(chunk)
                    yield chunk
            if any(checksum.value() != expected.parts[number][a] for a, checksum in named.items()):
                raise InvalidPart()
            if composite:
                part_checksums.extend(running.digest())

    value = spool_object(concatenated(), None)
    if composite:
        checksum = s3_utils.compute_checksum(bytes(part_checksums), builder.checksum_algorithm).decode()
        details = (builder.checksum_type, checksum, len(parts))
        matching = {checksum, f"{checksum}-{len(parts)}"}
    else:
        details = (builder.checksum_type, whole.value(), 1)
        matching = {details[1]}
    sent = expected.whole.get(builder.checksum_algorithm)
    if sent is not None and sent not in matching:
        value.close()
        raise BadDigest(builder.checksum_algorithm)
    return value, f"{hashlib.md5(bytes(md5s), usedforsecurity=False).hexdigest()}-{len(parts)}", details


def apply() -> None:
    require_moto(MOTO_VERSION, __name__)
    if FakeMultipart.complete is not complete_streamed:
        FakeMultipart.complete = complete_streamed
