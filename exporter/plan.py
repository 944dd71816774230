"""The functional core of a pass: pair S3's listing with the manifest and decide what to do (rclone's march).

Nothing here does I/O. `plan_bucket` gets one bucket's listing, its manifest record and the sizes of the
local files, and returns the moves, downloads and deletes that make the mirror equal to S3, plus the
manifest record to keep whatever happens.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from exporter.manifest import Entry
from exporter.naming import assign_paths


@dataclass(frozen=True)
class RemoteObject:
    key: str
    etag: str
    size: int


@dataclass(frozen=True)
class Move:
    key: str
    old_path: str
    new_path: str


@dataclass(frozen=True)
class Download:
    key: str
    path: str
    expected: RemoteObject


@dataclass(frozen=True)
class Delete:
    key: str
    path: str


@dataclass
class BucketPlan:
    moves: list[Move] = field(default_factory=list)
    downloads: list[Download] = field(default_factory=list)
    deletes: list[Delete] = field(default_factory=list)
    entries: dict[str, Entry] = field(default_factory=dict)
    """The manifest record as it stands before downloads and deletes are applied."""
    newly_retained: list[str] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return len(self.moves) + len(self.downloads) + len(self.deletes) + len(self.newly_retained)


def is_unchanged(remote: RemoteObject, entry: Entry, size_on_disk: int | None) -> bool:
    """The one place that decides "equal": same ETag and size as last written, and the file still there."""
    return entry.etag == remote.etag and entry.size == remote.size and size_on_disk == entry.size


def plan_bucket(
    remote: dict[str, RemoteObject],
    entries: dict[str, Entry],
    sizes_on_disk: dict[str, int | None],
    *,
    delete_sync: bool,
) -> BucketPlan:
    """Decide one bucket. `sizes_on_disk` maps each entry's current path to its file's size (None: missing).

    Every known key (in S3 or with a file kept in the mirror) takes part in naming, so a new key never
    needs a path still held by a file that is about to be deleted. Without `delete_sync`, files whose
    objects are gone are kept and marked `in_s3=False`; such files are never deleted by a later pass.
    """
    paths = assign_paths(remote.keys() | entries.keys())
    plan = BucketPlan()
    for key in sorted(remote.keys() | entries.keys()):
        obj, entry = remote.get(key), entries.get(key)
        path = paths[key]
        size_on_disk = sizes_on_disk.get(entry.path) if entry else None
        if entry is not None and size_on_disk is not None and entry.path != path:
            plan.moves.append(Move(key, entry.path, path))
            entry = replace(entry, path=path)
        if obj is None:
            if entry is None or size_on_disk is None:
                continue
            if not entry.in_s3:
                plan.entries[key] = entry
            elif delete_sync:
                plan.entries[key] = entry
                plan.deletes.append(Delete(key, entry.path))
            else:
                plan.entries[key] = replace(entry, in_s3=False)
                plan.newly_retained.append(key)
            continue
        if entry is not None and size_on_disk is not None:
            plan.entries[key] = entry if entry.in_s3 else replace(entry, in_s3=True)
            if is_unchanged(obj, entry, size_on_disk):
                continue
        plan.downloads.append(Download(key, path, obj))
    return plan
