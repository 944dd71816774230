"""A large object's body goes from its key's buffer to the client in chunks, never whole in memory.

Moto 5.2.5's GetObject answers with `key.value` (the whole body read into one `bytes`; a `Range` or
`partNumber` read is a slice of it, a second copy), and BucketLocks holds the answer as a list while it
keeps the bucket's lock: a 1 GiB GET grew the process by 2 GiB. During a GetObject (StreamedBodies sets
`reading`), the first read of the value of a key larger than the threshold answers a `KeyBody` instead:
a view of the key's bytes with a length, slices and truthiness, which is all Moto and the part_reads patch
do with the value, so status and every header stay Moto's own (ETag, Content-Length, Content-Range,
checksums, SSE, version id, 304/412, response-* overrides).

The bytes are not read under the bucket's lock. The view holds a `Lease`: a reference to the key's body,
shared the way snapshots share it (s3state.share_body: the key's buffer becomes a reference-counted
SharedBody that is never written to). An overwrite or a delete disposes of the old key, which releases the
key's own reference only: the GET streams the version it started with to the end, then releases its
reference, and the last holder closes the buffer.

Iterated by Moto's WSGI response, a KeyBody yields a single `BodyStream` rather than bytes: it passes
through BucketLocks' list untouched, and StreamedBodies (outside the lock) returns it as the answer, which
reads the body 1 MiB at a time as the server sends it and lets go of the lease when closed. The types
(`Reading`, `Lease`, `KeyBody`, `BodyStream`) are in state/key_bodies.py, which the `FakeKey.value` patch
(moto_patches/key_value.py) imports too.
"""

from __future__ import annotations

from moto_gateway.state.key_bodies import BodyStream
from moto_gateway.wsgi.request import RequestView

# GET subresources Moto serves from `_key_response_get` before GetObject (attributes reads the value)
NOT_OBJECT_READS = frozenset(
    {"uploadId", "acl", "tagging", "legal-hold", "attributes", "retention", "torrent"}
)


def is_object_read(view: RequestView) -> bool:
    """A GetObject (whole, Range or partNumber; signed, presigned or anonymous): Moto answers `key.value`."""
    if view.method != "GET" or view.addressing.bucket is None or not view.addressing.key:
        return False
    return not NOT_OBJECT_READS.intersection(view.params)


def streamed_answer(chunks: list) -> BodyStream | None:
    """The BodyStream in an answer Moto gave as a KeyBody, None for any other answer."""
    if len(chunks) == 1 and isinstance(chunks[0], BodyStream):
        return chunks[0]
    return None


def with_content_length(headers: list[tuple[str, str]], length: int) -> list[tuple[str, str]]:
    """Werkzeug sets Content-Length for a `bytes` body only: the same header for the stream (the part_reads
    patch leaves it to werkzeug; Moto's own answers carry theirs)."""
    if any(name.lower() == "content-length" for name, _ in headers):
        return headers
    return [*headers, ("Content-Length", str(length))]
