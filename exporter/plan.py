"""The functional core of a pass: for the keys the march found different (march.py), decide what to do.

Nothing here does I/O. `plan_changes` gets what S3 holds for some keys of one bucket, their manifest
entries (and those of the folders above them, whose names may change with them), the sizes of their
local files and one question about the rest of the bucket ("does a known key lie below P?", which the
store answers by an index range), and returns the moves, downloads and deletes that make those keys'
files equal to S3, plus the entries to keep whatever happens. Its cost is that of the changed keys, not
of the bucket. `plan_bucket` is the same decision for a whole bucket held in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from exporter.manifest import Entry
from exporter.naming import escaped_path, folder_prefixes, is_plain_key


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


def path_for(key: str, has_key_below: Callable[[str], bool]) -> str:
    """The naming rule for one key, given the one fact about the other keys it depends on."""
    return key if is_plain_key(key) and not has_key_below(key) else escaped_path(key)


def keys_to_rename(keys: Iterable[str]) -> set[str]:
    """The keys whose path a change of `keys` can alter: the keys themselves and every folder above them."""
    return set(keys) | folder_prefixes(keys)


def plan_changes(
    updates: dict[str, RemoteObject | None],
    entries: dict[str, Entry],
    sizes_on_disk: dict[str, int | None],
    has_key_below: Callable[[str], bool],
    *,
    delete_sync: bool,
) -> BucketPlan:
    """Decide what some keys of one bucket need: O(len(updates) + len(entries)), whatever the bucket holds.

    `updates` maps each changed key to what S3 holds now (None: not in S3). `entries` holds the manifest
    entries of the changed keys and of every other key whose path may change with them (the folders above
    a changed key); each of those keys is planned. `has_key_below(prefix)` tells whether a key already
    known lies below `prefix`; keys that the updates add are taken into account here. The plan's
    `entries` are the records to keep for the planned keys; a planned key missing from it is forgotten.
    """
    new_folders = folder_prefixes(key for key, obj in updates.items() if obj is not None and key not in entries)

    def below(key: str) -> bool:
        return key in new_folders or has_key_below(key)

    plan = BucketPlan()
    for key in sorted(updates.keys() | entries.keys()):
        entry = entries.get(key)
        path = path_for(key, below)
        size_on_disk = sizes_on_disk.get(entry.path) if entry else None
        if entry is not None and size_on_disk is not None and entry.path != path:
            plan.moves.append(Move(key, entry.path, path))
            entry = replace(entry, path=path)
        if key not in updates:
            if entry is not None:
                plan.entries[key] = entry
            continue
        obj = updates[key]
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


def plan_bucket(
    remote: dict[str, RemoteObject],
    entries: dict[str, Entry],
    sizes_on_disk: dict[str, int | None],
    *,
    delete_sync: bool,
) -> BucketPlan:
    """Decide one whole bucket. `sizes_on_disk` maps each entry's current path to its file's size (None: missing).

    Every known key (in S3 or with a file kept in the mirror) takes part in naming, so a new key never
    needs a path still held by a file that is about to be deleted. Without `delete_sync`, files whose
    objects are gone are kept and marked `in_s3=False`; such files are never deleted by a later pass.
    """
    folders = folder_prefixes(remote.keys() | entries.keys())
    updates: dict[str, RemoteObject | None] = {key: remote.get(key) for key in remote.keys() | entries.keys()}
    return plan_changes(updates, entries, sizes_on_disk, folders.__contains__, delete_sync=delete_sync)
