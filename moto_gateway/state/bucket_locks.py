"""One request at a time per bucket inside Moto: what Moto 5.2.5's S3 models cannot do concurrently.

Measured (tests/moto_gateway/test_concurrency.py, issue 17 case 9): 8 threads x 40 PUTs to one key, 101 of
320 answered 500 "I/O operation on closed file". Moto's `FakeKey` keeps the body in a temporary file and
computes the ETag lazily from it, without its lock; an overwrite or delete closes the old key's file
(`_VersionedKeyStore.setlist`/`pop` -> `dispose`) while another thread still reads it: the PUT that just
stored it (its ETag), a GET, a HEAD, a copy of it, a listing (every ETag), DeleteObjects. Two readers of one
fresh key also interleave `seek`/`read` on that one file. A per-key lock would miss listings, copies and
DeleteObjects; a per-bucket lock covers them all, and costs little throughput because Moto's work is bound
by the GIL anyway (bench.endpoint measures it).

The lock spans Moto and the change recorder (events are numbered in the order the changes happened) and
the whole response body (Moto's body may still read the key's file), except a large GetObject's: that
answer is one BodyStream reading a shared buffer no request writes to (streamed_reads.py), which passes
through the list untouched and is read after the lock is released. Locks are a fixed set of stripes
chosen by hash, so any bucket name a client invents costs no memory; a copy takes both buckets' stripes, in
order, so two copies in opposite directions cannot deadlock. `exclusive` runs a handler that changes all
of S3 at once (a snapshot, its restore, a reset, a bulk import) with every stripe held, so no request sees
half of it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from ipaddress import ip_address
from urllib.parse import unquote

from moto_gateway.wsgi.bodies import answered

STRIPES = 64


def host_label(host: str) -> str | None:
    """The first label of a virtual-hosted style Host (`bucket.s3.localhost:5000`), None for an address."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if "." not in name:
        return None
    try:
        ip_address(name.strip("[]"))
        return None
    except ValueError:
        return name.split(".", 1)[0]


def buckets_of(environ: dict) -> set[str]:
    """Every bucket a request may touch: path segment, virtual host label, copy source. Over-approximates."""
    buckets = {environ.get("PATH_INFO", "").lstrip("/").split("/", 1)[0]}
    label = host_label(environ.get("HTTP_HOST", ""))
    if label:
        buckets.add(label)
    copy_source = environ.get("HTTP_X_AMZ_COPY_SOURCE")
    if copy_source:
        buckets.add(unquote(copy_source).lstrip("/").split("/", 1)[0])
    return buckets


class BucketLocks:
    """WSGI layer: runs the wrapped app, body included, holding the lock stripes of the request's buckets."""

    def __init__(self, app: Callable, stripes: int = STRIPES) -> None:
        self.app = app
        self.locks = [threading.Lock() for _ in range(stripes)]

    def stripes_for(self, environ: dict) -> list[threading.Lock]:
        indexes = sorted({hash(bucket) % len(self.locks) for bucket in buckets_of(environ)})
        return [self.locks[index] for index in indexes]

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        held = self.stripes_for(environ)
        for lock in held:
            lock.acquire()
        try:
            return answered(self.app, environ, start_response)
        finally:
            for lock in reversed(held):
                lock.release()

    @contextmanager
    def holding(self, bucket: str) -> Iterator[None]:
        """The stripe of `bucket` held, for work on it outside a request (the lifecycle scheduler)."""
        lock = self.locks[hash(bucket) % len(self.locks)]
        with lock:
            yield

    def exclusive(self, handler: Callable) -> Callable:
        """`handler` run with every stripe held (taken in index order, as requests take theirs)."""

        def handle(environ: dict, start_response: Callable) -> Iterable[bytes]:
            for lock in self.locks:
                lock.acquire()
            try:
                return answered(handler, environ, start_response)
            finally:
                for lock in reversed(self.locks):
                    lock.release()

        return handle
