"""Who wrote an object another account put, kept on Moto's own FakeKey (Moto records no writer).

S3 User Guide, "Controlling ownership of objects and disabling ACLs for your bucket": with ObjectWriter
(and with BucketOwnerPreferred unless the upload names `bucket-owner-full-control`) the account that
uploads an object owns it, not the bucket owner. The access layer decides who that is when it allows the
write (`OBJECT_WRITER` in the environ); `ObjectWriters`, inside the durable capture, sets it on the
version Moto has just stored, so snapshots and the state folder (GATEWAY_STATE_DIR) keep it with the object.

The attribute `object_writer` is `(account id, written with bucket-owner-full-control)`; a version without
it belongs to the bucket owner. A tuple, replaced and never changed in place (the durable store's contract).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from moto_gateway.state.s3state import find_bucket

WRITER_ATTR = "object_writer"
OBJECT_WRITER = "moto_gateway.object_writer"
"""environ: the `Written` an allowed write will record, set by the access layer."""


@dataclass(frozen=True)
class Written:
    bucket: str
    key: str
    writer: tuple[str, bool] | None  # None: the bucket owner owns what is written


def writer_of(fake) -> tuple[str, bool] | None:
    """The (account id, bucket-owner-full-control) of a version another account wrote; None: the owner's."""
    return getattr(fake, WRITER_ATTR, None)


class ObjectWriters:
    """Sets (or clears: a copy starts with its source's attributes) the writer of the version a successful
    PutObject, CopyObject, POST Object or CompleteMultipartUpload stored; inside the bucket locks."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        written: Written | None = environ.get(OBJECT_WRITER)
        if written is None:
            return self.app(environ, start_response)

        def record(status: str, headers: list, exc_info=None):
            if status.startswith("2"):
                bucket, _account = find_bucket(written.bucket)
                fake = bucket.keys.get(written.key) if bucket is not None else None
                if fake is not None and hasattr(fake, "etag"):
                    if written.writer is not None:
                        setattr(fake, WRITER_ATTR, written.writer)
                    elif writer_of(fake) is not None:
                        delattr(fake, WRITER_ATTR)
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return self.app(environ, record)
