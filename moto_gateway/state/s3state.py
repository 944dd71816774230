"""All of Moto's S3 state, captured and put back in memory without copying object bytes.

Moto keeps an object's bytes in a SpooledTemporaryFile (`FakeKey._value_buffer`) that it closes
(`FakeKey.dispose`) when the object is overwritten or deleted, and it never writes to that buffer after
creating the key. So a capture does not copy bytes: it moves the buffer into a reference-counted
`SharedBody` and gives the live key a `BodyHandle` on it; the captured state and every key built from it
later hold handles of their own. A handle's `close` (Moto's dispose) releases one reference; the buffer
is closed when the last holder lets go. Everything else a capture keeps (key and bucket attributes, user
metadata, version lists, tags) is copied one level deep, which is cheap: a few microseconds per object.

The backends are read through `moto.s3.models.s3_backends[account_id][partition]` ("global" is "aws"),
never through HTTP, so this works whatever serves the requests.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from moto.s3.models import FakeBucket, FakeKey, MultipartDict, s3_backends
from moto.s3.utils import _VersionedKeyStore
from moto.utilities.utils import LowercaseDict

KEY_CHUNK = 1024 * 1024  # an object's body is read, copied and sent this much at a time
KEY_OWN_ATTRS = frozenset({"_value_buffer", "lock", "_metadata", "multipart", "disposed"})
BUCKET_OWN_ATTRS = frozenset({"keys", "multiparts"})


@contextmanager
def collector_paused() -> Iterator[None]:
    """A capture, restore or import allocates a few objects per S3 object; with Moto's many tracked objects, the
    cyclic garbage collector's passes over them would cost more than the work itself (profiled)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


BODIES_LOCK = threading.Lock()
"""Guards every SharedBody's count and file position: held for microseconds, so one lock for all is
cheaper than creating one per object (a snapshot of 10,000 objects would create 10,000)."""


class SharedBody:
    """One object's bytes, shared read-only by every key and snapshot that holds a handle on it."""

    __slots__ = ("buffer", "size", "refs")

    def __init__(self, buffer: Any, size: int, refs: int = 0) -> None:
        self.buffer = buffer
        self.size = size
        self.refs = refs

    def acquire(self) -> SharedBody:
        with BODIES_LOCK:
            self.refs += 1
        return self

    def release(self) -> None:
        with BODIES_LOCK:
            self.refs -= 1
            last = self.refs == 0
        if last:
            self.buffer.close()

    def read_at(self, position: int, size: int) -> bytes:
        with BODIES_LOCK:
            self.buffer.seek(position)
            return self.buffer.read(size)


class ReadOnlyBody:
    """A key's buffer for bytes kept elsewhere (shared with a snapshot, in the state folder): seekable and
    read-only, as every key's bytes are. Subclasses say where the bytes are (`read_at`)."""

    __slots__ = ("closed", "position", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self.position = 0
        self.closed = False

    def seek(self, position: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.position, 2: self.size}[whence]
        self.position = max(0, base + position)
        return self.position

    def tell(self) -> int:
        return self.position

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("read of closed file")
        remaining = self.size - self.position
        size = remaining if size is None or size < 0 else min(size, remaining)
        if size <= 0:
            return b""
        data = self.read_at(self.position, size)
        self.position += len(data)
        return data

    def read_at(self, position: int, size: int) -> bytes:
        raise NotImplementedError

    def write(self, _data: bytes) -> int:
        raise OSError("an object body is read-only")

    def truncate(self, _size: int | None = None) -> int:
        raise OSError("an object body is read-only")

    def close(self) -> None:
        self.closed = True


class BodyHandle(ReadOnlyBody):
    """What a FakeKey holds as `_value_buffer` once its bytes are shared: a file with its own position."""

    __slots__ = ("shared",)

    def __init__(self, shared: SharedBody) -> None:
        super().__init__(shared.size)
        self.shared = shared

    def read_at(self, position: int, size: int) -> bytes:
        return self.shared.read_at(position, size)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.shared.release()


def share_body(key: FakeKey) -> SharedBody | None:
    """A new reference to the key's bytes (the live key keeps its own); None for a disposed key."""
    if key.disposed:
        return None
    if key._etag is None:
        key.etag  # noqa: B018 (computes and caches the ETag before the buffer becomes shared)
    with key.lock:
        buffer = key._value_buffer
        if type(buffer) is BodyHandle:
            return None if buffer.closed else buffer.shared.acquire()
        shared = SharedBody(buffer, key.contentsize, refs=2)  # the live key's handle, and the caller's
        key._value_buffer = BodyHandle(shared)
        return shared


@dataclass(frozen=True, slots=True)
class KeyState:
    attrs: dict[str, Any]
    metadata: dict[str, Any]
    body: SharedBody

    @property
    def size(self) -> int:
        return self.body.size


@dataclass(frozen=True, slots=True)
class BucketState:
    attrs: dict[str, Any]
    versions: dict[str, list[Any]]
    """Per key, its versions oldest first: KeyState, or Moto's delete markers (shared, never mutated)."""


@dataclass(frozen=True, slots=True)
class BackendState:
    account_id: str
    partition: str
    buckets: dict[str, BucketState]
    tags: dict[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class S3State:
    backends: tuple[BackendState, ...]

    def bodies(self):
        for backend in self.backends:
            for bucket in backend.buckets.values():
                for versions in bucket.versions.values():
                    for version in versions:
                        if isinstance(version, KeyState):
                            yield version.body

    @property
    def objects(self) -> int:
        """Current versions that are objects (not delete markers), as ListObjects would count them."""
        return sum(
            1
            for backend in self.backends
            for bucket in backend.buckets.values()
            for versions in bucket.versions.values()
            if versions and isinstance(versions[-1], KeyState)
        )

    @property
    def bytes(self) -> int:
        return sum(
            versions[-1].size
            for backend in self.backends
            for bucket in backend.buckets.values()
            for versions in bucket.versions.values()
            if versions and isinstance(versions[-1], KeyState)
        )

    @property
    def buckets(self) -> int:
        return sum(len(backend.buckets) for backend in self.backends)

    def release(self) -> None:
        """Lets go of every body; the state must not be used afterwards."""
        for body in self.bodies():
            body.release()


EMPTY = S3State(backends=())


def copy_metadata(metadata: Any) -> dict[str, Any]:
    return dict(metadata.store) if isinstance(metadata, LowercaseDict) else dict(metadata)


def one_level_copy(value: Any) -> Any:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


def bucket_home(name: str | None) -> tuple[Any, str | None, str | None]:
    """(the S3 backend that holds bucket `name`, its partition, its account id), as Moto's cross-account
    lookup finds it, or (None, None, None); without creating any backend."""
    where = s3_backends.bucket_accounts.get(name) if name else None
    if not where:
        return None, None, None
    partition, account_id = where
    backend = dict.get(dict.get(s3_backends, account_id) or {}, partition)
    return (backend, partition, account_id) if backend is not None else (None, None, None)


def find_bucket(name: str | None) -> tuple[FakeBucket | None, str | None]:
    """(Moto's bucket of that name, the account that holds it), or (None, None)."""
    backend, _partition, account_id = bucket_home(name)
    bucket = backend.buckets.get(name) if backend is not None else None
    return (bucket, account_id) if bucket is not None else (None, None)


def find_version(bucket: FakeBucket, key: str, version_id: str | None) -> Any:
    """The current version of `key` (version_id None) or the one with that id, or None: also while Moto's
    key store is mid-change, when Moto itself will answer the request."""
    try:
        if version_id is None:
            return bucket.keys.get(key)
        versions = bucket.keys.getlist(key, default=[])
        return next((v for v in versions if str(v.version_id) == version_id), None)
    except Exception:  # noqa: BLE001 (as if absent)
        return None


def live_backends() -> list[tuple[str, str, Any]]:
    """(account id, partition, backend) of every S3 backend Moto has created, without creating any."""
    return [
        (account_id, partition, backend)
        for account_id, per_account in list(dict.items(s3_backends))
        for partition, backend in list(dict.items(per_account))
    ]


def capture_key(key: FakeKey) -> KeyState | None:
    body = share_body(key)
    if body is None:
        return None
    attrs = key.__dict__.copy()
    for name in KEY_OWN_ATTRS:
        attrs.pop(name, None)
    return KeyState(attrs, copy_metadata(key._metadata), body)


def capture_bucket(bucket: FakeBucket) -> BucketState:
    attrs = {name: one_level_copy(value) for name, value in bucket.__dict__.items() if name not in BUCKET_OWN_ATTRS}
    versions: dict[str, list[Any]] = {}
    for name, live_versions in list(dict.items(bucket.keys)):
        kept = []
        for version in list(live_versions):
            if isinstance(version, FakeKey):
                state = capture_key(version)
                if state is not None:
                    kept.append(state)
            else:
                kept.append(version)
        if kept:
            versions[name] = kept
    return BucketState(attrs, versions)


def capture() -> S3State:
    """Every bucket (with its objects, versions, settings and tags) of every account and partition."""
    backends = []
    for account_id, partition, backend in live_backends():
        buckets = {name: capture_bucket(bucket) for name, bucket in list(backend.buckets.items())}
        tags = {arn: dict(tags) for arn, tags in list(backend.tagger.tags.items())}
        if buckets or tags:
            backends.append(BackendState(account_id, partition, buckets, tags))
    return S3State(tuple(backends))


def build_key(state: KeyState) -> FakeKey:
    # object.__new__: not in Moto's instance tracker, so a key dropped without dispose is closed by the GC.
    key = object.__new__(FakeKey)
    key.__dict__.update(state.attrs)
    metadata = object.__new__(LowercaseDict)
    metadata.store = state.metadata.copy()
    key._metadata = metadata
    key._value_buffer = BodyHandle(state.body.acquire())
    key.lock = threading.Lock()
    key.multipart = None
    key.disposed = False
    return key


def build_bucket(state: BucketState, account_id: str, partition: str) -> FakeBucket:
    bucket = object.__new__(FakeBucket)
    bucket.__dict__.update({name: one_level_copy(value) for name, value in state.attrs.items()})
    store = _VersionedKeyStore()
    for name, versions in state.versions.items():
        dict.__setitem__(
            store, name, [build_key(version) if isinstance(version, KeyState) else version for version in versions]
        )
    bucket.keys = store
    bucket.multiparts = MultipartDict()
    return bucket


def dispose_buckets(buckets: dict[str, FakeBucket]) -> None:
    for bucket in buckets.values():
        for versions in list(dict.values(bucket.keys)):
            for version in versions:
                if isinstance(version, FakeKey):
                    version.dispose()
        for multipart in list(bucket.multiparts.values()):
            multipart.dispose()


def put_back(state: S3State) -> None:
    """Makes S3 exactly `state`: buckets and tags of every backend replaced; `state` itself stays usable.

    Requests Moto serves meanwhile see the old state or the new one per backend; one that still reads an
    old object's bytes after the swap may fail, as it would if that object were deleted under it.
    """
    wanted = {(backend.account_id, backend.partition): backend for backend in state.backends}
    targets = {(account_id, partition): backend for account_id, partition, backend in live_backends()}
    for account_id, partition in wanted:
        if (account_id, partition) not in targets:
            targets[(account_id, partition)] = s3_backends[account_id][partition]
    registry = s3_backends.bucket_accounts
    for (account_id, partition), backend in targets.items():
        saved = wanted.get((account_id, partition))
        buckets = (
            {name: build_bucket(bucket, account_id, partition) for name, bucket in saved.buckets.items()}
            if saved
            else {}
        )
        tags = {arn: dict(tags) for arn, tags in saved.tags.items()} if saved else {}
        old = backend.buckets
        backend.buckets = buckets
        backend.tagger.tags = tags
        for name in old:
            if registry.get(name) == (partition, account_id) and name not in buckets:
                registry.pop(name, None)
        for name in buckets:
            registry[name] = (partition, account_id)
        dispose_buckets(old)
