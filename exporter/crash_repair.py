"""At start, undo what a kill left half done: temp files, and paths created after their intent was
recorded but before their result was (see the intents of exporter/store.py)."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from exporter.files import local_size, remove_file_and_empty_parents, remove_stale_temp_files
from exporter.logtext import printable
from exporter.store import Intent, ManifestStore

log = logging.getLogger("exporter")


def repair(root: Path, store: ManifestStore) -> None:
    removed = remove_stale_temp_files(root)
    if removed:
        log.info("removed %d unfinished temp file(s) left by an earlier run", removed)
    intents = store.intents()
    if not intents:
        return
    with store.transaction():
        for intent in intents:
            repair_intent(root, store, intent)
            store.clear_intents(intent.bucket, [intent.path])
    log.info("repaired %d path(s) an earlier run was creating when it stopped", len(intents))


def repair_intent(root: Path, store: ManifestStore, intent: Intent) -> None:
    """A path an entry owns is fetched again at the next pass; a file no entry owns is removed."""
    bucket_dir = root / intent.bucket
    path = bucket_dir / intent.path
    owner = store.key_at(intent.bucket, intent.path)
    if owner is not None:
        entry = store.entry(intent.bucket, owner)
        if entry is not None:
            # The file may be a newer version than the entry says: make the next pass fetch it again.
            store.put_entries(intent.bucket, [(owner, replace(entry, etag=""))])
        return
    if local_size(path) is not None:
        remove_file_and_empty_parents(path, stop_at=bucket_dir)
        log.info("removed %s/%s: written by an earlier run that stopped before recording it",
                 intent.bucket, printable(intent.path))
