"""A key's body outside Moto's `bytes`: what the layers (fast_paths/) hand Moto in its place, and what the
patches of Moto (moto_patches/) take from it or give back, so both import it from here.

Written into a key: a `StreamedBody` (a request body already in the spool the key will keep) and a
`KeySlice` (bytes of another key's body, copied key to key in chunks). Read from a key: a `KeyBody` (a view
of a key's shared body, held by a `Lease`), whose answer is a `BodyStream` (fast_paths/streamed_bodies.py
and streamed_reads.py tell when and why).
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from tempfile import SpooledTemporaryFile
from typing import BinaryIO, Protocol

from moto.s3.models import FakeKey
from moto.settings import get_s3_default_key_buffer_size

from moto_gateway.state.s3state import KEY_CHUNK, SharedBody, share_body

# -- written into a key ------------------------------------------------------------------------------------


class StreamedBody:
    """A request body already stored in a spool: Moto passes it along where it would pass the bytes."""

    def __init__(self, spool: BinaryIO, size: int, md5_hex: str) -> None:
        self.spool = spool
        self.size = size
        self.md5_hex = md5_hex
        self.taken = False

    def __len__(self) -> int:
        return self.size

    def __bool__(self) -> bool:
        return True

    def take(self) -> BinaryIO:
        """The spool, handed over once (to the key that keeps it)."""
        if self.taken:
            raise RuntimeError("a streamed body was stored twice")
        self.taken = True
        return self.spool

    def close(self) -> None:
        if not self.taken:
            self.spool.close()


class KeySlice:
    """Bytes `start:stop` of a key's body, where Moto takes `src_key.value` (CopyObject, UploadPartCopy):
    copied straight from that key's buffer into the new key's when Moto stores it."""

    def __init__(self, key: FakeKey, start: int = 0, stop: int | None = None) -> None:
        self.key = key
        self.start = start
        self.stop = key.contentsize if stop is None else min(stop, key.contentsize)

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __bool__(self) -> bool:
        return True

    def __getitem__(self, part: slice) -> KeySlice:
        begin, end, step = part.indices(len(self))
        if step != 1:
            raise ValueError("a key's body is sliced with step 1 only")
        return KeySlice(self.key, self.start + begin, self.start + max(begin, end))

    def copy(self) -> StreamedBody:
        with self.key.lock:
            return spool_object(key_chunks(self.key, self.start, len(self)), None)


def install_body(key: FakeKey, spool: BinaryIO, size: int, md5_hex: str) -> None:
    """Makes `spool` (written, any position) the body of `key`, of `size` bytes whose MD5 is `md5_hex`.
    A key being built has no lock yet (FakeKey.__init__ sets its value first)."""
    with getattr(key, "lock", None) or nullcontext():
        replaced = key._value_buffer
        key._value_buffer = spool
        key.contentsize = size
        key._etag = md5_hex
    replaced.close()


def key_chunks(key: FakeKey, start: int = 0, length: int | None = None) -> Iterable[bytes]:
    """A key's body (or `length` bytes of it from `start`) in chunks; the caller holds the key's lock."""
    buffer = key._value_buffer
    buffer.seek(start)
    remaining = key.contentsize - start if length is None else length
    while remaining > 0:
        piece = buffer.read(min(KEY_CHUNK, remaining))
        if not piece:
            return
        remaining -= len(piece)
        yield piece


class Checksum(Protocol):
    """A checksum fed chunk by chunk (moto_patches.checksum_algorithms.RunningChecksum)."""

    def update(self, chunk: bytes) -> None: ...


def spool_object(chunks: Iterable[bytes], checksum: Checksum | None) -> StreamedBody:
    """The chunks in a spool as Moto keeps a key's body, with their size and MD5."""
    spool = SpooledTemporaryFile(get_s3_default_key_buffer_size(), prefix="moto-gateway-object-")
    digest, size = hashlib.md5(usedforsecurity=False), 0
    try:
        for chunk in chunks:
            digest.update(chunk)
            if checksum is not None:
                checksum.update(chunk)
            spool.write(chunk)
            size += len(chunk)
    except BaseException:
        spool.close()
        raise
    return StreamedBody(spool, size, digest.hexdigest())


# -- read from a key ---------------------------------------------------------------------------------------


@dataclass
class Reading:
    """A GetObject in progress: keys above `threshold` bytes are answered lazily, the first read only."""

    threshold: int
    done: bool = False


class Lease:
    """One reference to a key's shared body, released when closed (or, if never closed, when collected)."""

    def __init__(self, shared: SharedBody) -> None:
        self.shared = shared
        self._release = weakref.finalize(self, shared.release)

    def release(self) -> None:
        self._release()


class KeyBody:
    """Bytes `start:stop` of a leased body, where Moto's GetObject takes `key.value`."""

    def __init__(self, lease: Lease, start: int, stop: int) -> None:
        self.lease = lease
        self.start = start
        self.stop = stop

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __getitem__(self, part: slice) -> KeyBody:
        if not isinstance(part, slice):
            raise TypeError("a streamed key body is only sliced")
        begin, end, step = part.indices(len(self))
        if step != 1:
            raise ValueError("a key's body is sliced with step 1 only")
        return KeyBody(self.lease, self.start + begin, self.start + max(begin, end))

    def __iter__(self) -> Iterator[BodyStream]:
        yield BodyStream(self.lease, self.start, self.stop)


class BodyStream:
    """The answer's body: the leased bytes `start:stop`, read a chunk at a time as they are sent."""

    def __init__(self, lease: Lease, start: int, stop: int, chunk: int = KEY_CHUNK) -> None:
        self.lease = lease
        self.start = start
        self.stop = stop
        self.chunk = chunk

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __iter__(self) -> Iterator[bytes]:
        position = self.start
        while position < self.stop:
            piece = self.lease.shared.read_at(position, min(self.chunk, self.stop - position))
            if not piece:
                raise OSError(f"a key's body ended at byte {position} of {self.stop}")
            position += len(piece)
            yield piece

    def close(self) -> None:
        self.lease.release()


def lazy_value(key, reading: Reading | None) -> KeyBody | None:
    """What the patched `FakeKey.value` answers during a GetObject: a KeyBody, or None for Moto's bytes."""
    if reading is None or reading.done or key.contentsize <= reading.threshold:
        return None
    shared = share_body(key)
    if shared is None:
        return None
    reading.done = True
    return KeyBody(Lease(shared), 0, shared.size)
