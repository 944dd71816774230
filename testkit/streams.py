"""Large deterministic bodies that cost the sending process no memory, and what is needed to check them.

`DeterministicBody(size)` is a seekable, read-only file of `size` bytes: 1 MiB blocks of one fixed
pseudo-random block, each stamped with its index, so swapped, lost or repeated blocks change the hash.
boto3 can sign and send it like a file on disk; the expected MD5 (S3's ETag for a single PUT) comes from
`expected_digests` without holding the body either.
"""

from __future__ import annotations

import hashlib
import io
import random

BLOCK = 1024 * 1024
_PATTERN = random.Random(17).randbytes(BLOCK)


def block(index: int) -> bytes:
    return index.to_bytes(8, "big") + _PATTERN[8:]


class DeterministicBody(io.RawIOBase):
    """`size` bytes, generated block by block as they are read."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        written = 0
        while written < len(view) and self.position < self.size:
            index, offset = divmod(self.position, BLOCK)
            piece = block(index)[offset : min(BLOCK, offset + len(view) - written, self.size - index * BLOCK)]
            view[written : written + len(piece)] = piece
            written += len(piece)
            self.position += len(piece)
        return written

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.size - self.position
        buffer = bytearray(min(size, max(0, self.size - self.position)))
        return bytes(buffer[: self.readinto(buffer)])

    def __len__(self) -> int:
        return self.size


def chunks(size: int, chunk: int = BLOCK):
    """The body of `DeterministicBody(size)` as an iterator of chunks (for streaming uploads)."""
    body = DeterministicBody(size)
    while piece := body.read(chunk):
        yield piece


def expected_digests(size: int) -> dict[str, str]:
    """MD5 and SHA-256 (hex) of `DeterministicBody(size)`."""
    md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    for piece in chunks(size):
        md5.update(piece)
        sha256.update(piece)
    return {"md5": md5.hexdigest(), "sha256": sha256.hexdigest()}


def stream_digests(stream, chunk: int = BLOCK) -> tuple[int, dict[str, str]]:
    """Length, MD5 and SHA-256 of what `stream` (anything with read) yields, read chunk by chunk."""
    md5, sha256, total = hashlib.md5(usedforsecurity=False), hashlib.sha256(), 0
    while piece := stream.read(chunk):
        md5.update(piece)
        sha256.update(piece)
        total += len(piece)
    return total, {"md5": md5.hexdigest(), "sha256": sha256.hexdigest()}
