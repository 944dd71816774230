"""The march (rclone's fs/march): S3's listing and the manifest walked side by side in key order, a page at
a time, yielding the keys whose file is not what S3 holds. The walk is the manifest store's
(`Listing.beside_manifest`, one indexed query a page); the comparison with the disk is here. What to do
with the keys it yields is the plan's (plan.py), doing it the apply stage's (apply.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from exporter.files import local_size
from exporter.naming import is_own_path
from exporter.plan import RemoteObject
from exporter.store import Listing


def march(listing: Listing, bucket_dir: Path) -> Iterator[dict[str, RemoteObject | None]]:
    """Per page of listing beside manifest, the keys that differ (a page may yield an empty dict)."""
    for rows in listing.beside_manifest():
        yield differing(rows, bucket_dir)


def differing(rows: list[tuple], bucket_dir: Path) -> dict[str, RemoteObject | None]:
    """The march: of a page of listing beside manifest (`Listing.beside_manifest`), the keys whose file is
    not what S3 holds (new, changed, missing on disk, or gone from S3), with what S3 holds (None: nothing)."""
    updates: dict[str, RemoteObject | None] = {}
    for key, etag, size, path, known_etag, known_size, in_s3 in rows:
        on_disk = local_size(bucket_dir / path) if path is not None and is_own_path(key, path) else None
        if etag is None:
            if path is not None and (in_s3 or on_disk is None):
                updates[key] = None
        elif path is None or not in_s3 or on_disk != known_size or (known_etag, known_size) != (etag, size):
            updates[key] = RemoteObject(key, etag, size)
    return updates
