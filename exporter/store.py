"""The manifest store: what the mirror holds, in SQLite (standard library), so a change costs O(changed).

It lives at EXPORT_DIR/.motostack/manifest.sqlite3 (no bucket can be called `.motostack`: bucket names
cannot start with `.`), in WAL mode. It answers what the exporter asks, each by an index:

* key -> entry (path, ETag, size, in_s3, headers): `objects`, primary key (bucket, key);
* path -> key: the unique index `objects_path`;
* "does any key of this bucket lie below prefix P" (the naming rule's conflict check): a range of the
  primary key, `key > 'P/' AND key < 'P0'` (`0` is the character after `/`);
* per-bucket creation stamp, region and CORS rules: `buckets`;
* paths the exporter is about to create (`intents`): written and committed before a file is put in
  place, cleared in the transaction that records the result, so a kill at any instant leaves nothing the
  next start cannot find and repair.

An existing `_manifest.json` (format 1, the earlier releases) is migrated once, then removed. A database
that cannot be read, or is not ours, is set aside (renamed, one log line) and rebuilt by a full pass;
nothing in the mirror is deleted because of it.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exporter.manifest import MANIFEST_NAME, BucketRecord, Entry, Manifest, load_manifest
from exporter.naming import is_own_path, is_safe_path, key_for_path

log = logging.getLogger("exporter")

STATE_DIR = ".motostack"
DB_NAME = "manifest.sqlite3"
APPLICATION_ID = 0x4D4F544F  # "MOTO": tells our database from any other SQLite file
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
CREATE TABLE buckets (
    name TEXT PRIMARY KEY, created TEXT, gone INTEGER NOT NULL DEFAULT 0, region TEXT, cors TEXT
) WITHOUT ROWID;
CREATE TABLE objects (
    bucket TEXT NOT NULL, key TEXT NOT NULL, path TEXT NOT NULL, etag TEXT NOT NULL, size INTEGER NOT NULL,
    in_s3 INTEGER NOT NULL, headers TEXT, PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE UNIQUE INDEX objects_path ON objects (bucket, path);
CREATE TABLE intents (bucket TEXT NOT NULL, path TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (bucket, path))
    WITHOUT ROWID;
"""


@dataclass(frozen=True)
class Intent:
    bucket: str
    path: str
    key: str


def below_range(prefix: str) -> tuple[str, str]:
    """Bounds (exclusive) of the keys that start with `prefix/`, in SQLite's binary (UTF-8) order."""
    return prefix + "/", prefix + "0"


def _entry(key: str, row: Any) -> Entry | None:
    """The entry, or None when its path is not the one the naming rule gives the key (a tampered record
    must not make the exporter touch a file outside its bucket, or another key's file)."""
    path, etag, size, in_s3, headers = row
    if not is_own_path(key, path):
        return None
    return Entry(path=path, etag=etag, size=size, in_s3=bool(in_s3), headers=json.loads(headers) if headers else {})


class ManifestStore:
    """One connection, used by the sync thread only (the transfer pool never touches it)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = root / STATE_DIR
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / DB_NAME
        self.fresh = False
        """Nothing was known at start (no database, nothing migrated): files found at an object's path are
        taken as the mirror's own (a rebuild), not as a user's."""
        self.db = self._open()

    # -- opening, migrating, setting aside ---------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        existed = self.path.exists()
        if existed:
            try:
                return self._connect(create=False)
            except (sqlite3.DatabaseError, ValueError) as exc:
                aside = self.path.with_name(f"{DB_NAME}.unreadable-{time.strftime('%Y%m%dT%H%M%S')}")
                for suffix in ("", "-wal", "-shm"):
                    source = Path(str(self.path) + suffix)
                    if source.exists():
                        source.replace(Path(str(aside) + suffix))
                log.warning("manifest database %s is unreadable or not ours (%s): set aside as %s, rebuilding it "
                            "with a full pass (no file of the mirror is deleted because of this)",
                            self.path, exc, aside.name)
        db = self._connect(create=True)
        if not self._migrate_json(db):
            self.fresh = True
        return db

    def _connect(self, *, create: bool) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            if create:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(f"PRAGMA application_id={APPLICATION_ID}")
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                db.executescript(SCHEMA)
            else:
                if db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
                    raise ValueError("not a motostack manifest")
                if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                    raise ValueError("unknown schema version")
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("SELECT count(*) FROM intents").fetchone()
                if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    raise sqlite3.DatabaseError("integrity check failed")
            db.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            db.close()
            raise
        return db

    def _migrate_json(self, db: sqlite3.Connection) -> bool:
        """Read the earlier releases' `_manifest.json` once; True when there was one to migrate."""
        legacy = self.root / MANIFEST_NAME
        if not legacy.exists():
            return False
        manifest = load_manifest(self.root)
        self.db = db
        with self.transaction():
            self.save_manifest(manifest)
        legacy.unlink()
        count = sum(len(record.objects) for record in manifest.buckets.values())
        log.info("migrated %s (%d object(s)) into %s", MANIFEST_NAME, count, self.path.relative_to(self.root))
        return bool(manifest.buckets)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- meta --------------------------------------------------------------------------------------------

    @property
    def synced_boot_id(self) -> str | None:
        """The boot id of the Moto the mirror was last completely synced with (a full pass ends by setting it)."""
        row = self.db.execute("SELECT value FROM meta WHERE name='boot_id'").fetchone()
        return row[0] if row else None

    def set_synced_boot_id(self, boot_id: str | None) -> None:
        if boot_id:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('boot_id', ?)", (boot_id,))

    # -- buckets -----------------------------------------------------------------------------------------

    def buckets(self) -> dict[str, BucketRecord]:
        """Every known bucket's settings (objects are not loaded: ask `entries`)."""
        rows = self.db.execute("SELECT name, created, gone, region, cors FROM buckets ORDER BY name")
        return {
            name: BucketRecord(created=created, gone=bool(gone), region=region, cors=json.loads(cors) if cors else None)
            for name, created, gone, region, cors in rows
        }

    def put_bucket(self, name: str, record: BucketRecord) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO buckets VALUES (?, ?, ?, ?, ?)",
            (name, record.created, int(record.gone), record.region,
             json.dumps(record.cors) if record.cors is not None else None),
        )

    def buckets_holding_objects(self) -> set[str]:
        rows = self.db.execute("SELECT name FROM buckets b WHERE EXISTS "
                               "(SELECT 1 FROM objects o WHERE o.bucket=b.name AND o.in_s3=1)")
        return {name for (name,) in rows}

    # -- objects -----------------------------------------------------------------------------------------

    def entry(self, bucket: str, key: str) -> Entry | None:
        row = self.db.execute(
            "SELECT path, etag, size, in_s3, headers FROM objects WHERE bucket=? AND key=?", (bucket, key)
        ).fetchone()
        return _entry(key, row) if row else None

    def key_at(self, bucket: str, path: str) -> str | None:
        row = self.db.execute("SELECT key FROM objects WHERE bucket=? AND path=?", (bucket, path)).fetchone()
        return row[0] if row else None

    def has_key_below(self, bucket: str, prefix: str) -> bool:
        low, high = below_range(prefix)
        return self.db.execute(
            "SELECT 1 FROM objects WHERE bucket=? AND key>? AND key<? LIMIT 1", (bucket, low, high)
        ).fetchone() is not None

    def entries(self, bucket: str) -> Iterator[tuple[str, Entry]]:
        """Every entry of a bucket, in key order, a page at a time (memory does not grow with the bucket)."""
        after = None
        while True:
            if after is None:
                rows = self.db.execute("SELECT key, path, etag, size, in_s3, headers FROM objects WHERE bucket=? "
                                       "ORDER BY key LIMIT 1000", (bucket,)).fetchall()
            else:
                rows = self.db.execute("SELECT key, path, etag, size, in_s3, headers FROM objects WHERE bucket=? "
                                       "AND key>? ORDER BY key LIMIT 1000", (bucket, after)).fetchall()
            for row in rows:
                entry = _entry(row[0], row[1:])
                if entry is not None:
                    yield row[0], entry
            if len(rows) < 1000:
                return
            after = rows[-1][0]

    def count(self, bucket: str | None = None) -> int:
        if bucket is None:
            return self.db.execute("SELECT count(*) FROM objects").fetchone()[0]
        return self.db.execute("SELECT count(*) FROM objects WHERE bucket=?", (bucket,)).fetchone()[0]

    def put_entries(self, bucket: str, entries: Iterable[tuple[str, Entry]]) -> None:
        """Upsert; a path is freed first so that two keys may swap paths within one transaction."""
        rows = [(bucket, key, e.path, e.etag, e.size, int(e.in_s3), json.dumps(e.headers) if e.headers else None)
                for key, e in entries]
        self.db.executemany("DELETE FROM objects WHERE bucket=? AND path=? AND key!=?",
                            [(bucket, row[2], row[1]) for row in rows])
        self.db.executemany("INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def delete_entries(self, bucket: str, keys: Iterable[str]) -> None:
        self.db.executemany("DELETE FROM objects WHERE bucket=? AND key=?", [(bucket, key) for key in keys])

    # -- a full pass's listing -------------------------------------------------------------------------

    def new_listing(self, bucket: str) -> Listing:
        """An empty listing of `bucket` for a full pass to stream into (the previous one is dropped)."""
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS listing (key TEXT PRIMARY KEY, etag TEXT, size INTEGER) "
                        "WITHOUT ROWID")
        self.db.execute("DELETE FROM temp.listing")
        return Listing(self.db, bucket)

    # -- intents -----------------------------------------------------------------------------------------

    def add_intents(self, intents: Iterable[Intent]) -> None:
        """Record, and commit, the paths about to be created: before any of them exists."""
        rows = [(i.bucket, i.path, i.key) for i in intents]
        if rows:
            with self.transaction():
                self.db.executemany("INSERT OR REPLACE INTO intents VALUES (?, ?, ?)", rows)

    def clear_intents(self, bucket: str, paths: Iterable[str]) -> None:
        self.db.executemany("DELETE FROM intents WHERE bucket=? AND path=?", [(bucket, p) for p in paths])

    def intents(self) -> list[Intent]:
        return [Intent(*row) for row in self.db.execute("SELECT bucket, path, key FROM intents")]

    # -- the whole manifest, for migration and tests -----------------------------------------------------

    def save_manifest(self, manifest: Manifest) -> None:
        self.set_synced_boot_id(manifest.boot_id)
        for name, record in manifest.buckets.items():
            self.put_bucket(name, record)
            self.put_entries(name, ((key, entry) for key, entry in record.objects.items()
                                    if is_safe_path(entry.path) and key_for_path(entry.path) == key))

    def load_manifest(self) -> Manifest:
        buckets = self.buckets()
        for name, record in buckets.items():
            record.objects = dict(self.entries(name))
        return Manifest(buckets=buckets, boot_id=self.synced_boot_id)


class Listing:
    """A full pass's listing of one bucket, in a temporary table beside the manifest: never in Python
    memory whole. Only one exists at a time (`ManifestStore.new_listing` empties the table)."""

    def __init__(self, db: sqlite3.Connection, bucket: str) -> None:
        self.db = db
        self.bucket = bucket

    def add(self, rows: Iterable[tuple[str, str, int]]) -> None:
        """(key, ETag, size) rows, as S3 listed them."""
        self.db.executemany("INSERT OR REPLACE INTO temp.listing VALUES (?, ?, ?)", rows)

    def has_key_below(self, prefix: str) -> bool:
        low, high = below_range(prefix)
        return self.db.execute(
            "SELECT 1 FROM temp.listing WHERE key>? AND key<? LIMIT 1", (low, high)
        ).fetchone() is not None

    def beside_manifest(self, page_size: int = 1000) -> Iterator[list[tuple]]:
        """Listing and manifest side by side in key order, a page at a time: for every key in either,
        (key, listed ETag, listed size, path, recorded ETag, recorded size, in_s3), None where absent.
        Plain tuples: a no-change pass builds no object per key."""
        after = ""
        while True:
            rows = self.db.execute(
                "SELECT k.key, l.etag, l.size, o.path, o.etag, o.size, o.in_s3 FROM "
                "(SELECT key FROM temp.listing WHERE key>?1 UNION SELECT key FROM objects WHERE bucket=?2 AND key>?1 "
                "ORDER BY 1 LIMIT ?3) k LEFT JOIN temp.listing l ON l.key=k.key "
                "LEFT JOIN objects o ON o.bucket=?2 AND o.key=k.key ORDER BY k.key",
                (after, self.bucket, page_size),
            ).fetchall()
            if not rows:
                return
            yield rows
            if len(rows) < page_size:
                return
            after = rows[-1][0]

    def clear(self) -> None:
        self.db.execute("DELETE FROM temp.listing")
