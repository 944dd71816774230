"""The state folder: SQLite (WAL) for what Moto holds about buckets, objects, uploads and snapshots, with
object bytes up to INLINE_BYTES in SQLite (a key's only version in the key's own row, INLINE) and in files
of `bodies/` beyond; a writer process commits.

Who does what:
- `capture_*` run under the bucket's lock, right after Moto changed it: they read what changed from Moto's
  objects, write any new large body to its file (not yet fsynced), and return operations (plain tuples);
- `submit` queues them as a Ticket, without waiting; the bucket's lock is released after that, so a
  bucket's operations are queued in the order Moto applied them;
- the committer thread takes every queued ticket at once (group commit) and sends them to the writer
  process (writer.py), which applies them in one transaction, fsyncs the new body files and the folder,
  and commits (synchronous=FULL under GATEWAY_FSYNC=always: one fsync of the WAL for the whole group);
  then each ticket is finished, and its request's answer goes (held by the server, or waited for).
- A failure (disk full, read-only folder, an attribute that cannot be stored) rolls the transaction back
  and calls `on_failure`, which puts Moto back to what the folder holds (durable/layer.py): nothing a
  client was not told about stays visible, and every ticket of the group and of the queue is refused.

Bodies are counted: each row lists the body ids it refers to (an object's versions, an upload's parts, a
snapshot's objects), and a body whose count falls to 0 is deleted with its file after the commit. Files
left by a crash between writing a body and committing its row are swept at start-up.
"""

from __future__ import annotations

import gc
import logging
import os
import sqlite3
import threading
import time
import uuid
from array import array
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from moto.s3.models import FakeBucket, FakeDeleteMarker, FakeKey, FakeMultipart, MultipartDict, s3_backends
from moto.s3.utils import _VersionedKeyStore

from moto_gateway.state import s3state
from moto_gateway.state.durable import codec
from moto_gateway.state.durable.codec import BODY_ATTR, Template
from moto_gateway.state.durable.snapshot_files import decode_state, encode_state
from moto_gateway.state.durable.writer import (
    DICTIONARY,
    SETTING,
    WriterError,
    WriterProcess,
    body_path,
    connect,
)
from moto_gateway.state.s3state import BUCKET_OWN_ATTRS, bucket_home, share_body
from moto_gateway.wsgi.held_answers import one_wake_up

log = logging.getLogger("moto_gateway.durable")

INLINE_BYTES = 16 * 1024
"""Bodies up to this size live in SQLite (a file would cost a 4 KiB block and an fsync of its own); larger
ones in files, where they cost their size rounded to a block (SQLite's overflow pages would cost more)."""
INLINE = -1
"""The body id of a key whose bytes sit in its own object row (`data`): the key's only version, at most
INLINE_BYTES. A bodies row costs such a key 70 bytes more (its row, and the page room rows leave)."""
PAGE_BYTES = 32768
"""SQLite's page size in a new folder: object rows of about 1 KiB leave 24 bytes each of a page unused (16 KiB
pages: 43; 64 KiB: 21). A commit writes whole pages to the WAL: 8 overwrites of keys spread over 100,000
cost 1.0 ms at 32 KiB, 1.6 ms at 64 KiB, 1.3 ms in format 2 (docs/durability.md)."""
CHUNK = 1024 * 1024
MAX_GROUP = 512
FORMAT = 3
"""2: rows' blobs may be deflated against the folder's dictionary (writer.py), an object row's records leave
out its names, and a single body id is an integer. 3: object rows are found by a row id the gateway gives
each key (no index of names), hold their bucket's id, and keep a single small version's bytes themselves.
Format 1 folders are upgraded to 2 when opened (their rows stay as they are and load as before), and
format 2 to 3 by the writer process (writer.UPGRADE_TO_3); a folder keeps the page size it was made with."""
UPGRADABLE = 1
"""The format the gateway upgrades itself (to 2: the dictionary needs Moto's classes); the writer does 2 to 3."""
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS buckets
    (id INTEGER PRIMARY KEY, name TEXT UNIQUE, account TEXT, partition TEXT, attrs BLOB, tags BLOB);
CREATE TABLE IF NOT EXISTS objects
    (id INTEGER PRIMARY KEY, bucket INTEGER, key TEXT, versions BLOB, bodies BLOB, data BLOB);
CREATE TABLE IF NOT EXISTS uploads (bucket TEXT, id TEXT, upload BLOB, bodies BLOB, PRIMARY KEY (bucket, id));
CREATE TABLE IF NOT EXISTS snapshots (name TEXT PRIMARY KEY, state BLOB, bodies BLOB);
CREATE TABLE IF NOT EXISTS bodies (id INTEGER PRIMARY KEY, size INTEGER, refs INTEGER, data BLOB);
"""


class DurabilityError(Exception):
    """A change could not be made durable: it was undone and must not be acknowledged."""


class Ticket:
    """Changes queued for the state folder. Their request's answer goes once they are committed: `wait`
    blocks until then, `when_done` calls back instead (from the committer thread), so that a server can
    hold a written answer without a thread sleeping on it (server/http_server.py's held answers)."""

    __slots__ = ("ops", "seq", "error", "finished", "_lock", "_callbacks")

    def __init__(
        self, ops: list[tuple], seq: int = 0, error: BaseException | None = None, finished: bool = False
    ) -> None:
        self.ops = ops
        self.seq = seq
        self.error = error
        self.finished = finished
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[BaseException | None], None]] = []

    def when_done(self, callback: Callable[[BaseException | None], None]) -> None:
        """`callback(error)` once the changes are committed (error None) or refused; at once if they are."""
        with self._lock:
            if not self.finished:
                self._callbacks.append(callback)
                return
        callback(self.error)

    def wait(self, timeout: float | None = None) -> None:
        """Call it holding no bucket lock: a failed group is undone with every bucket's lock held."""
        if not self.finished:
            done = threading.Event()
            self.when_done(lambda _error: done.set())
            done.wait(timeout)
        if not self.finished:
            raise DurabilityError("the state folder did not answer in time")
        if self.error is not None:
            raise DurabilityError(str(self.error)) from self.error

    def finish(self, error: BaseException | None = None) -> None:
        with self._lock:
            self.error = error
            self.finished = True
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback(error)
            except Exception:  # noqa: BLE001 (one answer that cannot be released must not hold the others)
                log.exception("releasing an answer failed")


DONE = Ticket([], finished=True)


class Ids:
    """Ids the gateway gives what it stores (bodies, object rows, buckets): one past the highest the folder
    holds, taken under a lock (captures run in many request threads)."""

    def __init__(self) -> None:
        self.next = 1
        self._lock = threading.Lock()

    def take(self) -> int:
        with self._lock:
            taken = self.next
            self.next += 1
            return taken


def ids_bytes(ids: Iterable[int]) -> bytes:
    return array("q", ids).tobytes()


@dataclass
class Loaded:
    """What start-up read: the snapshots (name -> (S3State, created)) and counts for the log."""

    snapshots: dict[str, tuple[s3state.S3State, float]]
    buckets: int = 0
    objects: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0


class DurableStore:
    def __init__(self, folder: str, fsync: str = "always", batch_ms: int = 50) -> None:
        self.folder = os.path.abspath(folder)
        self.bodies_dir = os.path.join(self.folder, "bodies")
        self.fsync = fsync
        self.conn: sqlite3.Connection | None = None
        self.template: Template | None = None
        self.dictionary = b""
        self.settings: dict[str, str] = {}
        """The gateway's own settings the folder keeps (`setting_ops`), as they were when it was opened."""
        self.boot_id = ""
        self.last_seq = 0
        self._body_ids = Ids()
        self._row_ids = Ids()
        self._bucket_ids = Ids()
        self._queue: deque[Ticket] = deque()
        self._wakeup = threading.Event()
        self._commit_lock = threading.Lock()
        self._committer: threading.Thread | None = None
        self._stopping = False
        self.writer = WriterProcess(self.folder, fsync, batch_ms)
        self.on_failure: Callable[[BaseException], None] = lambda _exc: None
        self.commits = 0
        self.committed = 0
        """Commits and the tickets they carried: how well concurrent writers share an fsync (/_health)."""
        self.error: str | None = None
        """Why the last write failed, until one succeeds again (/_health shows it)."""
        # what the folder holds, as the capture functions need it (changed only under the bucket's lock)
        self.bucket_ids: dict[str, int] = {}
        self.stored_keys: dict[str, dict[str, tuple[int, int]]] = {}
        """Per bucket, each stored key's (row id, version count)."""
        self.upload_counts: dict[str, dict[str, int]] = {}

    # ----- opening and loading --------------------------------------------------------------------------

    def open(self) -> None:
        """Creates or opens the folder and reads its identity (boot id, feed position); fast."""
        os.makedirs(self.bodies_dir, exist_ok=True)
        conn = connect(self.folder, self.fsync, PAGE_BYTES)
        conn.executescript(SCHEMA)
        self.conn = conn
        meta = dict(conn.execute("SELECT name, value FROM meta"))
        if "boot_id" not in meta:
            template = codec.new_template()
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                [
                    ("format", FORMAT),
                    ("boot_id", uuid.uuid4().hex),
                    ("last_seq", 0),
                    ("key_template", codec.dumps(template)),
                    (DICTIONARY, codec.new_dictionary(Template(template))),
                ],
            )
            conn.execute("COMMIT")
        elif int(meta.get("format", 0)) == UPGRADABLE:
            self._upgrade(conn, Template(codec.loads_own(meta["key_template"])))
        # the writer first: it waits for a writer a killed gateway left to finish its commit (and upgrades a
        # format 2 folder)
        self.writer.start()
        self.start_committer()
        meta = dict(conn.execute("SELECT name, value FROM meta"))
        if int(meta.get("format", 0)) != FORMAT:
            raise DurabilityError(
                f"{self.folder} holds state format {meta.get('format')}, this gateway reads {FORMAT}"
            )
        self.settings = {name.removeprefix(SETTING): value for name, value in meta.items()
                         if name.startswith(SETTING)}
        self.boot_id = str(meta["boot_id"])
        self.last_seq = int(meta["last_seq"])
        self.template = Template(codec.loads_own(meta["key_template"]))
        self.dictionary = meta[DICTIONARY]
        for ids, table in ((self._body_ids, "bodies"), (self._row_ids, "objects"), (self._bucket_ids, "buckets")):
            ids.next = (conn.execute(f"SELECT max(id) FROM {table}").fetchone()[0] or 0) + 1

    @staticmethod
    def _upgrade(conn: sqlite3.Connection, template: Template) -> None:
        """Format 1 to 2: the folder gets its dictionary; its rows stay (a pickle is read as it was)."""
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (DICTIONARY, codec.new_dictionary(template)))
        conn.execute("UPDATE meta SET value = 2 WHERE name = 'format'")
        conn.execute("COMMIT")

    def load(self) -> Loaded:
        """Puts the folder's state into Moto (replacing whatever Moto holds) and returns its snapshots."""
        started, cpu_started = time.perf_counter(), time.process_time()
        conn = self.conn
        template = self.template
        dictionary = self.dictionary
        with s3state.collector_paused():
            inline = dict(conn.execute("SELECT id, data FROM bodies WHERE data IS NOT NULL"))
            sizes = dict(conn.execute("SELECT id, size FROM bodies WHERE data IS NULL"))

            def buffer(body_id: int):
                data = inline.get(body_id)
                if data is not None:
                    return codec.BytesBody(data)
                return codec.FileBody(body_path(self.bodies_dir, body_id), sizes.get(body_id, 0))

            s3state.put_back(s3state.EMPTY)
            self.forget_all()
            registry = s3_backends.bucket_accounts
            buckets: dict[str, tuple[FakeBucket, Any]] = {}
            by_id: dict[int, tuple[FakeBucket, Any]] = {}
            for bucket_id, name, account, partition, attrs, tags in conn.execute(
                "SELECT id, name, account, partition, attrs, tags FROM buckets"
            ):
                backend = s3_backends[account][partition]
                bucket = object.__new__(FakeBucket)
                bucket.__dict__.update(codec.loads_own(attrs))
                bucket.keys = _VersionedKeyStore()
                bucket.multiparts = MultipartDict()
                backend.buckets[name] = bucket
                registry[name] = (partition, account)
                bucket_tags = codec.loads_own(tags)
                if bucket_tags is not None:
                    backend.tagger.tags[bucket.arn] = bucket_tags
                buckets[name] = by_id[bucket_id] = (bucket, backend)
                self.remember_bucket(name, bucket_id)
            objects = 0
            orphans = array("q")
            for row, bucket_id, key_name, versions_blob, data in conn.execute(
                "SELECT id, bucket, key, versions, data FROM objects"
            ):
                found = by_id.get(bucket_id)
                if found is None:  # a bucket replaced by another of its name: its rows go
                    orphans.append(row)
                    continue
                bucket, backend = found
                bucket_name = bucket.name
                versions = []
                for record in codec.loads_own(versions_blob, dictionary):
                    if record[0] == "k":
                        _kind, diff, metadata, body_id, tags, skeleton = record
                        attrs = codec.record_attrs(diff, template, bucket_name, key_name)
                        if body_id == INLINE:
                            codec.inline_attrs(attrs, diff, data)
                            key = codec.build_key(attrs, metadata, codec.BytesBody(data))
                        else:
                            key = codec.build_key(attrs, metadata, buffer(body_id))
                        key.__dict__[BODY_ATTR] = body_id
                        key.multipart = codec.build_multipart(skeleton, template)
                        if tags is not None:
                            backend.tagger.tags[key.arn] = tags
                        versions.append(key)
                    else:
                        marker = codec.build_marker(record[1], bucket_name, template, key_name)
                        marker.__dict__[BODY_ATTR] = 0
                        versions.append(marker)
                dict.__setitem__(bucket.keys, key_name, versions)
                self.stored_keys[bucket_name][key_name] = (row, len(versions))
                objects += 1
            for bucket_name, upload_id, upload_blob in conn.execute("SELECT bucket, id, upload FROM uploads"):
                found = buckets.get(bucket_name)
                if found is None:
                    continue
                attrs, parts = codec.loads_own(upload_blob, dictionary)
                multipart = object.__new__(FakeMultipart)
                multipart.__dict__.update(attrs)
                multipart.parts = {}
                for number, (_kind, diff, metadata, body_id, _tags, _skeleton) in parts.items():
                    part = codec.build_key(codec.record_attrs(diff, template), metadata, buffer(body_id))
                    part.__dict__[BODY_ATTR] = body_id
                    multipart.parts[number] = part
                found[0].multiparts[upload_id] = multipart
                self.upload_counts[bucket_name][upload_id] = len(parts)
            snapshots = {}
            for name, state_blob in conn.execute("SELECT name, state FROM snapshots"):
                snapshots[name] = self._decode_snapshot(codec.loads_own(state_blob), buffer)
            gc.freeze()  # what was loaded stays out of every collection's walk (as start-up's objects do)
        self._sweep_files(set(sizes))
        if orphans:
            self.submit([("drop-objects", orphans.tobytes())])
        return Loaded(
            snapshots, len(buckets), objects, time.perf_counter() - started, time.process_time() - cpu_started
        )

    def _sweep_files(self, wanted: set[int]) -> None:
        """Body files no row refers to: a crash came between writing one and committing its row."""
        for name in os.listdir(self.bodies_dir):
            if not (name.isdigit() and int(name) in wanted):
                try:
                    os.unlink(os.path.join(self.bodies_dir, name))
                except OSError:
                    pass

    # ----- capture (under the bucket's lock) ------------------------------------------------------------

    def forget_all(self) -> None:
        """What the folder holds is about to be replaced (a load, a reset)."""
        self.bucket_ids.clear()
        self.stored_keys.clear()
        self.upload_counts.clear()

    def remember_bucket(self, name: str, bucket_id: int) -> None:
        self.bucket_ids[name] = bucket_id
        self.stored_keys[name] = {}
        self.upload_counts[name] = {}

    @staticmethod
    def small_bytes(key: FakeKey) -> bytes:
        """A small key's bytes, read as Moto's own value getter does, without sharing its buffer."""
        if key.disposed:
            raise DurabilityError(f"the bytes of {key.name!r} are gone")
        with key.lock:
            buffer = key._value_buffer
            buffer.seek(0)
            return buffer.read()

    def body_op(self, key: FakeKey) -> tuple[int, tuple | None]:
        """(the body id of `key`'s bytes, the operation that stores them or None when already stored). Bytes
        a key kept in its own row (INLINE) get a bodies row: the key is no longer its key's only version."""
        known = key.__dict__.get(BODY_ATTR)
        if known is not None and known != INLINE:
            return known, None
        if key.disposed:
            raise DurabilityError(f"the bytes of {key.name!r} are gone")
        if key.contentsize <= INLINE_BYTES:
            data = self.small_bytes(key)
            body_id = self._body_ids.take()
            key.__dict__[BODY_ATTR] = body_id
            return body_id, ("body", body_id, len(data), data, None)
        shared = share_body(key)
        if shared is None:
            raise DurabilityError(f"the bytes of {key.name!r} are gone")
        try:
            body_id = self._body_ids.take()
            size = shared.size
            path = body_path(self.bodies_dir, body_id)
            with open(path, "wb") as file:
                position = 0
                while position < size:
                    chunk = shared.read_at(position, min(CHUNK, size - position))
                    if not chunk:
                        break
                    file.write(chunk)
                    position += len(chunk)
            op = ("body", body_id, size, None, path)
        finally:
            shared.release()
        key.__dict__[BODY_ATTR] = body_id
        return body_id, op

    def capture_bucket(self, name: str, keys: Iterable[str] = (), config: bool = False) -> list[tuple]:
        """What to store after a change of bucket `name`: its configuration (when `config`, or never stored),
        the versions of `keys`, and its uploads whose parts changed; or its removal."""
        bucket, _account = s3state.find_bucket(name)
        if bucket is None:
            bucket_id = self.bucket_ids.pop(name, None)
            if bucket_id is not None:
                self.upload_counts.pop(name, None)
                rows = [row for row, _count in self.stored_keys.pop(name, {}).values()]
                return [("drop-bucket", bucket_id, name, ids_bytes(rows))]
            return []
        backend = bucket_home(name)[0]
        ops: list[tuple] = []
        if config or name not in self.bucket_ids:
            ops.append(self.bucket_op(bucket, backend))
        for key_name in keys:
            ops.extend(self.key_ops(bucket, key_name, backend))
        ops.extend(self.upload_ops(bucket))
        return ops

    def bucket_op(self, bucket: FakeBucket, backend: Any) -> tuple:
        attrs = {name: value for name, value in bucket.__dict__.items() if name not in BUCKET_OWN_ATTRS}
        tags = backend.tagger.tags.get(bucket.arn) if backend is not None else None
        bucket_id = self.bucket_ids.get(bucket.name)
        if bucket_id is None:
            bucket_id = self._bucket_ids.take()
            self.remember_bucket(bucket.name, bucket_id)
        return (
            "bucket",
            bucket_id,
            bucket.name,
            bucket.account_id,
            bucket.partition,
            codec.dumps(attrs),
            codec.dumps(dict(tags) if tags is not None else None),
        )

    def key_ops(self, bucket: FakeBucket, key_name: str, backend: Any) -> list[tuple]:
        """The key's row: its versions' records, and the bytes of a single small version (INLINE) or the ids
        of its versions' bodies (with the operations that store new ones)."""
        stored = self.stored_keys[bucket.name]
        versions = dict.get(bucket.keys, key_name)
        if not versions:
            gone = stored.pop(key_name, None)
            if gone is None:
                return []
            return [("object", gone[0], 0, key_name, None, b"", None)]
        found = stored.get(key_name)
        row = found[0] if found is not None else self._row_ids.take()
        bucket_id = self.bucket_ids[bucket.name]
        tagged = backend.tagger.tags if backend is not None else {}
        only = versions[0] if len(versions) == 1 else None
        if isinstance(only, FakeKey) and only.contentsize <= INLINE_BYTES:
            data = self.small_bytes(only)
            only.__dict__[BODY_ATTR] = INLINE
            tags = tagged.get(only.arn) if tagged else None
            record = codec.key_record(
                only, INLINE, dict(tags) if tags else None, self.template, bucket.name, key_name
            )
            codec.leave_out_inline(record[1], data)
            stored[key_name] = (row, 1)
            return [("object", row, bucket_id, key_name, codec.dumps([record]), b"", data)]
        ops: list[tuple] = []
        records = []
        ids = []
        for version in versions:
            if isinstance(version, FakeKey):
                body_id, op = self.body_op(version)
                if op is not None:
                    ops.append(op)
                tags = tagged.get(version.arn) if tagged else None
                records.append(
                    codec.key_record(
                        version, body_id, dict(tags) if tags else None, self.template, bucket.name, key_name
                    )
                )
                ids.append(body_id)
            elif isinstance(version, FakeDeleteMarker):
                records.append(codec.marker_record(version, key_name))
                version.__dict__[BODY_ATTR] = 0
        stored[key_name] = (row, len(versions))
        ops.append(("object", row, bucket_id, key_name, codec.dumps(records), ids_bytes(ids), None))
        return ops

    def forget_upload(self, bucket: str, upload_id: str) -> None:
        """The next capture of `bucket` stores this upload whether or not its parts changed."""
        self.upload_counts.get(bucket, {}).pop(upload_id, None)

    def upload_ops(self, bucket: FakeBucket) -> list[tuple]:
        counts = self.upload_counts.setdefault(bucket.name, {})
        ops: list[tuple] = []
        live = bucket.multiparts
        for upload_id in [upload_id for upload_id in counts if upload_id not in live]:
            del counts[upload_id]
            ops.append(("upload", bucket.name, upload_id, None, b""))
        for upload_id, multipart in list(live.items()):
            parts = multipart.parts
            if counts.get(upload_id) == len(parts) and all(
                BODY_ATTR in part.__dict__ for part in parts.values()
            ):
                continue
            ids = {}
            for number, part in parts.items():
                ids[number], op = self.body_op(part)
                if op is not None:
                    ops.append(op)
            counts[upload_id] = len(parts)
            record = codec.upload_record(multipart, ids, self.template)
            ops.append(("upload", bucket.name, upload_id, codec.dumps(record), ids_bytes(ids.values())))
        return ops

    def capture_changed(self, name: str) -> list[tuple]:
        """Bucket `name` after a change whose keys are not known (a bulk import, a browser upload of an
        unknown key): its configuration, and every key whose versions are not all stored or whose count
        changed."""
        bucket, _account = s3state.find_bucket(name)
        if bucket is None:
            return self.capture_bucket(name)
        stored = self.stored_keys.get(name, {})
        changed = [
            key_name
            for key_name, versions in list(dict.items(bucket.keys))
            if stored.get(key_name, (0, None))[1] != len(versions)
            or not all(BODY_ATTR in v.__dict__ for v in versions)
        ]
        changed.extend(key_name for key_name in list(stored) if not dict.get(bucket.keys, key_name))
        return self.capture_bucket(name, changed, config=True)

    def capture_everything(self) -> list[tuple]:
        """All of S3 as Moto holds it now, replacing what the folder holds (a reset, a snapshot restore)."""
        self.forget_all()
        ops: list[tuple] = [("clear-live",)]
        for _account, _partition, backend in s3state.live_backends():
            for name, bucket in list(backend.buckets.items()):
                ops.append(self.bucket_op(bucket, backend))
                for key_name in list(dict.keys(bucket.keys)):
                    ops.extend(self.key_ops(bucket, key_name, backend))
                ops.extend(self.upload_ops(bucket))
        return ops

    @staticmethod
    def setting_ops(name: str, value: str) -> list[tuple]:
        """One of the gateway's own settings (not S3's state: registered webhooks), in the meta table."""
        return [("setting", name, value)]

    def snapshot_ops(self, name: str, state: s3state.S3State | None, created: float = 0.0) -> list[tuple]:
        """A named snapshot stored (None: removed). Its bodies are mostly the live keys' (already stored)."""
        if state is None:
            return [("snapshot", name, None, b"")]
        ops: list[tuple] = []
        ids: list[int] = []

        def body_id(version: s3state.KeyState) -> int:
            found = version.attrs.get(BODY_ATTR)
            if found is None or found == INLINE:  # bytes in an object row are that row's: a bodies row of its own
                found, op = self._state_body(version)
                version.attrs[BODY_ATTR] = found
                ops.append(op)
            ids.append(found)
            return found

        backends = encode_state(state, self.template, body_id)
        ops.append(("snapshot", name, codec.dumps((created, backends)), ids_bytes(ids)))
        return ops

    def _state_body(self, version: s3state.KeyState) -> tuple[int, tuple]:
        body_id = self._body_ids.take()
        size = version.body.size
        if size <= INLINE_BYTES:
            return body_id, ("body", body_id, size, version.body.read_at(0, size), None)
        path = body_path(self.bodies_dir, body_id)
        with open(path, "wb") as file:
            file.writelines(
                version.body.read_at(position, min(CHUNK, size - position))
                for position in range(0, size, CHUNK)
            )
        return body_id, ("body", body_id, size, None, path)

    def _decode_snapshot(self, stored: tuple, buffer: Callable) -> tuple[s3state.S3State, float]:
        created, backends = stored
        shared: dict[int, s3state.SharedBody] = {}

        def body(body_id: int) -> s3state.SharedBody:
            found = shared.get(body_id)
            if found is None:
                handle = buffer(body_id)
                found = shared[body_id] = s3state.SharedBody(handle, handle.size, refs=0)
            return found

        return decode_state(backends, self.template, body, keep_ids=True), created

    # ----- the committer: one thread sends everything queued to the writer, group after group --------------

    def start_committer(self) -> None:
        self._stopping = False
        self._committer = threading.Thread(target=self._commit_loop, name="durable-commit", daemon=True)
        self._committer.start()

    def stop(self) -> None:
        """Commits what is queued, then stops the committer and the writer (which folds the WAL in). The
        gateway's own connection closes first, so that the writer's is the last and SQLite removes the WAL
        and shared-memory files (a stopped folder is `state.db`, `writer.lock` and `bodies/`)."""
        committer = self._committer
        if committer is not None:
            self._stopping = True
            self._wakeup.set()
            committer.join()
            self._committer = None
        with self._commit_lock:
            try:
                self._commit_queued()
            finally:
                if self.conn is not None:
                    self.conn.close()
                    self.conn = None
                self.writer.stop()

    def submit(self, ops: list[tuple], seq: int = 0, error: BaseException | None = None) -> Ticket:
        if not ops and error is None:
            return DONE
        ticket = Ticket(ops, seq, error)
        self._queue.append(ticket)
        wakeup = self._wakeup
        if not wakeup.is_set():
            wakeup.set()
        return ticket

    def _commit_loop(self) -> None:
        """Group commit: while one group is in the writer, the next one queues. A thread of its own rather
        than one of the waiting requests, so that no request's thread sleeps on its answer (the server holds
        the written answer instead)."""
        wakeup = self._wakeup
        while not self._stopping:
            wakeup.wait()
            wakeup.clear()
            with self._commit_lock:
                try:
                    self._commit_queued()
                except Exception:  # noqa: BLE001 (every ticket of a group is answered by _finish)
                    log.exception("the state folder's committer failed")

    def _commit_queued(self) -> None:
        """Commits everything queued, group after group. The next group goes to the writer as soon as the
        previous one is committed, before that one's answers are released: the writer works while this
        thread wakes the server for them (which costs a fight for the GIL with the busy request threads)."""
        sent = self._send(self._drain())
        while sent is not None:
            group, error = sent
            if error is None:
                error = self._receive()
            following = self._send(self._drain()) if error is None and self._queue else None
            self._finish(group, error)
            sent = following

    def _drain(self) -> list[Ticket]:
        group = []
        queued = self._queue
        while queued and len(group) < MAX_GROUP:
            group.append(queued.popleft())
        return group

    def _send(self, group: list[Ticket]) -> tuple[list[Ticket], BaseException | None] | None:
        """One transaction for the whole group, sent to the writer process (writer.py says why a process);
        (the group, why it cannot be stored or None), or None for no group."""
        if not group:
            return None
        failed = next((ticket.error for ticket in group if ticket.error is not None), None)
        if failed is not None:
            return group, failed
        try:
            self.writer.send(max(ticket.seq for ticket in group), [op for ticket in group for op in ticket.ops])
        except WriterError as exc:
            return group, DurabilityError(str(exc))
        except Exception as exc:  # noqa: BLE001 (a group that cannot even be sent is refused as any other)
            return group, exc
        return group, None

    def _receive(self) -> BaseException | None:
        try:
            self.last_seq = max(self.last_seq, self.writer.receive())
        except WriterError as exc:
            return DurabilityError(str(exc))
        return None

    def _finish(self, group: list[Ticket], failed: BaseException | None) -> None:
        if failed is None:
            self.commits += 1
            self.committed += len(group)
            if self.error is not None:
                log.warning("the state folder takes writes again")
                self.error = None
            with one_wake_up():
                for ticket in group:
                    ticket.finish()
            return
        self.error = f"{type(failed).__name__}: {failed}"
        log.error("a change could not be stored (%s): undoing it", self.error)
        try:
            self.on_failure(failed)
        except Exception:
            log.exception("undoing the change failed")
        with one_wake_up():
            for ticket in group:
                ticket.finish(failed)

    def fail_queued(self, error: BaseException) -> None:
        """Refuses every queued ticket (on_failure calls it, holding every bucket's lock)."""
        for ticket in self._drain_all():
            ticket.finish(error)

    def _drain_all(self) -> list[Ticket]:
        drained = []
        while self._queue:
            drained.append(self._queue.popleft())
        return drained

    # ----- health, probe --------------------------------------------------------------------------------

    def probe(self) -> bool:
        """Whether the folder takes a write now (a small file written, fsynced and removed)."""
        path = os.path.join(self.folder, ".probe")
        try:
            with open(path, "wb") as file:
                file.write(b"\0" * 65536)
                file.flush()
                os.fsync(file.fileno())
            os.unlink(path)
            return True
        except OSError as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            try:
                os.unlink(path)
            except OSError:
                pass
            return False

    def describe(self) -> dict:
        return {
            "folder": self.folder,
            "fsync": self.fsync,
            "writable": self.error is None,
            "error": self.error,
            "commits": self.commits,
            "changes_committed": self.committed,
        }
