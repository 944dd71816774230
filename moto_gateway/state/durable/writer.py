"""The state folder's SQLite writer, in a process of its own (standard library only).

Why a process: a commit is a dozen SQLite statements and an fsync, and Python's sqlite3 lets go of the GIL
around each of them. Inside the gateway, the request threads took the GIL at every one of those moments,
so a commit of 0.4 ms of work took 3.4 ms of wall time, with a context switch each time (PUT 1 KiB at 8
connections, profiled with py-spy and timers: docs/durability.md). Here the commit runs under a GIL of
its own, on the other core: the gateway sends one message per group of tickets and waits for one answer.

Run as a file (`python -P writer.py FOLDER FSYNC BATCH_MS REQUESTS_FD ANSWERS_FD`), not as a module of the
package, so that the process imports neither Moto nor the gateway. It holds `writer.lock` in the folder
while it lives: a gateway that starts again after a kill -9 starts its writer, which waits there until the
old one (which sees its pipe close) has finished its last commit, before the gateway reads the folder.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import select
import sqlite3
import subprocess
import sys
import threading
import time
import zlib
from array import array
from collections.abc import Iterable
from multiprocessing.connection import Connection

SYNCHRONOUS = {"always": "FULL", "batch": "NORMAL", "off": "OFF"}
ID_BYTES = array("q").itemsize
WAL_CHECKPOINT_BYTES = 8 * 1024 * 1024
"""The WAL is folded into the database and truncated once it is this large (else it keeps its peak size)."""
BUSY_MS = 30_000
"""How long a statement waits for another connection's lock (the gateway's own reads)."""
SETTING = "setting:"
"""The meta table's rows that hold the gateway's own settings (store.py's `setting_ops`) start with this."""
ANSWER_BYTES = 4096
"""The writer's answers are lines of at most this many bytes: PIPE_BUF, so that each is one write."""
START_SECONDS = 60.0
"""How long the gateway waits for a new writer: the old one's last commit comes first."""
DICTIONARY = "record_dictionary"
"""The meta row with the folder's deflate dictionary (codec.new_dictionary): written once, when the folder
is made or first opened by format 2, so that it never changes under the rows deflated with it."""
DEFLATED = ord("z")
"""The first byte of a blob deflated against the dictionary (a pickle, as format 1 stored, starts 0x80)."""
WINDOW_BITS = 12
"""Raw deflate (no header or checksum: 10 bytes a blob less) with a 4 KiB window, which holds the dictionary
and a record; a smaller window and MEMORY_LEVEL make each blob's compressor cheaper to set up (5 us a record
here, 7 us at zlib's largest) for the same size."""
MEMORY_LEVEL = 5
UPGRADE_TO_3 = (
    "CREATE TABLE buckets_3 (id INTEGER PRIMARY KEY, name TEXT UNIQUE, account TEXT, partition TEXT, "
    "attrs BLOB, tags BLOB)",
    "INSERT INTO buckets_3 (name, account, partition, attrs, tags) "
    "SELECT name, account, partition, attrs, tags FROM buckets",
    "CREATE TABLE objects_3 (id INTEGER PRIMARY KEY, bucket INTEGER, key TEXT, versions BLOB, bodies BLOB, "
    "data BLOB)",
    "INSERT INTO objects_3 (bucket, key, versions, bodies) SELECT buckets_3.id, objects.key, objects.versions, "
    "objects.bodies FROM objects JOIN buckets_3 ON buckets_3.name = objects.bucket",
    "DROP TABLE objects",
    "ALTER TABLE objects_3 RENAME TO objects",
    "DROP TABLE buckets",
    "ALTER TABLE buckets_3 RENAME TO buckets",
    "UPDATE meta SET value = 3 WHERE name = 'format'",
)
"""Format 2 to 3 (store.py's FORMAT), in SQL: buckets get ids, and object rows are found by theirs."""


class WriterError(Exception):
    """The writer could not store a group (its message says why), or is gone."""


def ids_of(blob: bytes | int | None) -> array:
    """A row's body ids: a blob of 64-bit ids, or a single id stored as an integer (`ids_column`)."""
    found = array("q")
    if type(blob) is int:
        found.append(blob)
    elif blob:
        found.frombytes(blob)
    return found


def ids_column(blob: bytes) -> bytes | int:
    """One id as an SQLite integer (2 or 3 bytes for the ids a folder reaches), not an 8-byte blob."""
    return int.from_bytes(blob, sys.byteorder, signed=True) if len(blob) == ID_BYTES else blob


def deflated(blob: bytes, dictionary: bytes) -> bytes:
    """`blob` deflated against the folder's dictionary, or as it is where that is not smaller. Done here,
    in the writer's process, so that the gateway's request threads pay nothing for it."""
    packer = zlib.compressobj(
        9, zlib.DEFLATED, -WINDOW_BITS, MEMORY_LEVEL, zlib.Z_DEFAULT_STRATEGY, dictionary
    )
    packed = bytes((DEFLATED,)) + packer.compress(blob) + packer.flush()
    return packed if len(packed) < len(blob) else blob


def inflated(blob: bytes, dictionary: bytes) -> bytes:
    if not blob or blob[0] != DEFLATED:
        return blob
    return zlib.decompressobj(-WINDOW_BITS, zdict=dictionary).decompress(memoryview(blob)[1:])


def body_path(folder: str, body_id: int) -> str:
    return os.path.join(folder, f"{body_id:012d}")


def unlink_all(paths: list[str]) -> None:
    for path in paths:
        try:
            os.unlink(path)
        except OSError:
            pass


def fsync_path(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def connect(folder: str, fsync: str, page_bytes: int | None = None) -> sqlite3.Connection:
    """The folder's database as both processes open it; `page_bytes` for the one that may create it."""
    conn = sqlite3.connect(os.path.join(folder, "state.db"), isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={BUSY_MS}")
    if page_bytes:
        conn.execute(f"PRAGMA page_size={page_bytes}")  # a no-op on an existing database
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={SYNCHRONOUS[fsync]}")
    conn.execute("PRAGMA journal_size_limit=8388608")
    return conn


class Committer:
    """Applies groups of operations (plain tuples, store.py's capture makes them) in one transaction each."""

    def __init__(self, folder: str, fsync: str, batch_ms: int) -> None:
        self.folder = folder
        self.bodies_dir = os.path.join(folder, "bodies")
        self.fsync = fsync
        self.batch_seconds = batch_ms / 1000
        self.conn = connect(folder, fsync)
        self.last_seq = int(self.conn.execute("SELECT value FROM meta WHERE name = 'last_seq'").fetchone()[0])
        found = self.conn.execute("SELECT value FROM meta WHERE name = ?", (DICTIONARY,)).fetchone()
        self.dictionary: bytes | None = found[0] if found else None
        self._wal_path = os.path.join(folder, "state.db-wal")
        self._sync_lock = threading.Lock()
        self._unsynced: list[str] = []
        self._unlink_after_sync: list[str] = []
        self._last_sync = time.monotonic()
        self._stopping = threading.Event()
        if fsync == "batch":
            threading.Thread(target=self._sync_loop, name="durable-fsync", daemon=True).start()

    def commit(self, seq: int, ops: list[tuple]) -> None:
        conn = self.conn
        new_files: list[str] = []
        released: set[int] = set()
        conn.execute("BEGIN IMMEDIATE")
        try:
            for op in ops:
                self._apply(conn, op, new_files, released)
            if seq > self.last_seq:
                conn.execute("UPDATE meta SET value = ? WHERE name = 'last_seq'", (seq,))
            garbage = self._collect(conn, released)
            if new_files and self.fsync == "always":
                for path in new_files:
                    fsync_path(path)
                fsync_path(self.bodies_dir)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise
        self.last_seq = max(self.last_seq, seq)
        if self.fsync == "batch":
            with self._sync_lock:
                self._unsynced.extend(new_files)
                self._unsynced.append(self._wal_path)
                # a body's file goes once the commit that forgot it is fsynced (else a power loss could
                # bring back a row whose file is gone)
                self._unlink_after_sync.extend(garbage)
            if time.monotonic() - self._last_sync >= self.batch_seconds:
                self.sync_batch()
        else:
            unlink_all(garbage)
        try:
            if os.stat(self._wal_path).st_size > WAL_CHECKPOINT_BYTES:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except (OSError, sqlite3.Error):
            pass  # the next commit tries again; SQLite also checkpoints on its own

    def upgrade(self) -> None:
        """A format 2 folder to format 3, in one transaction, before the first group (the lock is held, so a
        writer an older gateway left has finished). Rows of a bucket the folder no longer holds, which
        format 2 left behind, go with their bodies."""
        conn = self.conn
        found = conn.execute("SELECT value FROM meta WHERE name = 'format'").fetchone()
        if found is None or int(found[0]) != 2:
            return
        released: set[int] = set()
        conn.execute("BEGIN IMMEDIATE")
        try:
            left = "SELECT bodies FROM objects WHERE bucket NOT IN (SELECT name FROM buckets)"
            for (blob,) in conn.execute(left).fetchall():
                self._count(conn, (), blob, released)
            for statement in UPGRADE_TO_3:
                conn.execute(statement)
            garbage = self._collect(conn, released)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        unlink_all(garbage)

    def stop(self) -> None:
        """A clean stop: the last batch fsynced and the WAL folded into the database."""
        self._stopping.set()
        try:
            self.sync_batch()
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except (sqlite3.Error, OSError):
            pass
        self.conn.close()

    def _sync_loop(self) -> None:
        while not self._stopping.wait(self.batch_seconds):
            if self._unsynced:
                self.sync_batch()

    def sync_batch(self) -> None:
        """GATEWAY_FSYNC=batch: what the commits since the last sync wrote, fsynced at once."""
        with self._sync_lock:
            pending, self._unsynced = self._unsynced, []
            garbage, self._unlink_after_sync = self._unlink_after_sync, []
            self._last_sync = time.monotonic()
        if not pending:
            unlink_all(garbage)
            return
        try:
            for path in dict.fromkeys(pending):
                fsync_path(path)
            fsync_path(self.bodies_dir)
        except OSError as exc:
            print(f"fsync of the state folder failed: {exc}", file=sys.stderr, flush=True)
            return
        unlink_all(garbage)

    def _apply(self, conn: sqlite3.Connection, op: tuple, new_files: list[str], released: set[int]) -> None:
        kind = op[0]
        if kind == "body":
            _kind, body_id, size, data, path = op
            conn.execute("INSERT INTO bodies VALUES (?, ?, 0, ?)", (body_id, size, data))
            if path:
                new_files.append(path)
        elif kind == "object":  # found by the row id the gateway gave its key (format 3: no index of names)
            _kind, row, bucket_id, name, blob, ids, data = op
            values = None if blob is None else (row, bucket_id, name, self._packed(blob), ids_column(ids), data)
            self._replace(conn, "objects", "id = ?", (row,), values, ids, released)
        elif kind == "upload":
            _kind, bucket, upload_id, blob, ids = op
            values = None if blob is None else (bucket, upload_id, self._packed(blob), ids_column(ids))
            self._replace(conn, "uploads", "bucket = ? AND id = ?", (bucket, upload_id), values, ids, released)
        elif kind == "snapshot":
            _kind, name, blob, ids = op
            values = None if blob is None else (name, blob, ids)
            self._replace(conn, "snapshots", "name = ?", (name,), values, ids, released)
        elif kind == "bucket":
            conn.execute("INSERT OR REPLACE INTO buckets VALUES (?, ?, ?, ?, ?, ?)", op[1:])
        elif kind == "drop-bucket":
            _kind, bucket_id, name, rows = op
            for row in ids_of(rows):
                self._replace(conn, "objects", "id = ?", (row,), None, b"", released)
            for (blob,) in conn.execute("SELECT bodies FROM uploads WHERE bucket = ?", (name,)):
                self._count(conn, (), blob, released)
            conn.execute("DELETE FROM uploads WHERE bucket = ?", (name,))
            conn.execute("DELETE FROM buckets WHERE id = ?", (bucket_id,))
        elif kind == "drop-objects":
            for row in ids_of(op[1]):
                self._replace(conn, "objects", "id = ?", (row,), None, b"", released)
        elif kind == "setting":
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (SETTING + op[1], op[2]))
        elif kind == "clear-live":
            for table in ("objects", "uploads"):
                for (blob,) in conn.execute(f"SELECT bodies FROM {table}"):
                    self._count(conn, (), blob, released)
                conn.execute(f"DELETE FROM {table}")
            conn.execute("DELETE FROM buckets")
        else:
            raise WriterError(f"unknown operation {kind!r}")

    def _replace(
        self, conn, table: str, where: str, key: tuple, values: tuple | None, ids, released: set[int]
    ) -> None:
        """A row that names bodies (an object's, an upload's, a snapshot's) replaced by `values`, or deleted
        when they are None; the bodies it names now (`ids`) and named before are counted."""
        old = conn.execute(f"SELECT bodies FROM {table} WHERE {where}", key).fetchone()
        if values is None:
            conn.execute(f"DELETE FROM {table} WHERE {where}", key)
        else:
            conn.execute(f"INSERT OR REPLACE INTO {table} VALUES ({', '.join('?' * len(values))})", values)
        self._count(conn, ids_of(ids), old[0] if old else None, released)

    def _packed(self, blob: bytes) -> bytes:
        return deflated(blob, self.dictionary) if self.dictionary else blob

    @staticmethod
    def _count(conn, new_ids: Iterable[int], old_blob: bytes | None, released: set[int]) -> None:
        new_ids = list(new_ids)
        if new_ids:
            conn.executemany("UPDATE bodies SET refs = refs + 1 WHERE id = ?", [(i,) for i in new_ids])
        old_ids = list(ids_of(old_blob))
        if old_ids:
            conn.executemany("UPDATE bodies SET refs = refs - 1 WHERE id = ?", [(i,) for i in old_ids])
            released.update(old_ids)

    def _collect(self, conn, released: set[int]) -> list[str]:
        if not released:
            return []
        garbage = []
        gone = []
        for body_id in released:
            row = conn.execute("SELECT refs, data IS NULL FROM bodies WHERE id = ?", (body_id,)).fetchone()
            if row is not None and row[0] <= 0:
                gone.append((body_id,))
                if row[1]:
                    garbage.append(body_path(self.bodies_dir, body_id))
        conn.executemany("DELETE FROM bodies WHERE id = ?", gone)
        return garbage


# ----- the gateway's side ---------------------------------------------------------------------------------


class WriterProcess:
    """Starts the writer and talks to it: `commit` sends one group and returns once it is stored (or raises
    WriterError). Calls come one at a time (the store's commit lock); a writer that died is started again
    by the next call, after its own group was refused."""

    def __init__(self, folder: str, fsync: str, batch_ms: int) -> None:
        self.folder = folder
        self.arguments = [folder, fsync, str(batch_ms)]
        self.process: subprocess.Popen | None = None
        self.requests: Connection | None = None
        self.answers: int | None = None
        """The read end of the writer's answers: lines (`send_answer`)."""
        self.sent_seq = 0

    def start(self) -> None:
        """Returns once the writer holds the folder's lock and reads its pipe."""
        requests_read, requests_write = os.pipe()
        answers_read, answers_write = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-P", os.path.abspath(__file__), *self.arguments,
                 str(requests_read), str(answers_write)],
                pass_fds=(requests_read, answers_write),
                stdin=subprocess.DEVNULL,
            )
        finally:
            os.close(requests_read)
            os.close(answers_write)
        self.requests = Connection(requests_write, readable=False)
        self.answers = answers_read
        try:
            ready = select.select([answers_read], [], [], START_SECONDS)[0] and self.answer() == b"ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            code = self.process.poll()
            self.close()
            raise WriterError(f"the state folder's writer did not start (exit code {code})")

    def commit(self, seq: int, ops: list[tuple]) -> None:
        """Sends one group and returns once it is stored."""
        self.send(seq, ops)
        self.receive()

    def send(self, seq: int, ops: list[tuple]) -> None:
        """One group to the writer; `receive` says whether it was stored. One group at a time: the writer
        answers in order, but the gateway undoes a failed group before it sends another."""
        if self.process is None or self.process.poll() is not None:
            self.close()
            self.start()
        message = pickle.dumps(("commit", seq, ops), pickle.HIGHEST_PROTOCOL)
        try:
            self.requests.send_bytes(message)
        except OSError as exc:
            raise self.gone(exc) from exc
        self.sent_seq = seq

    def receive(self) -> int:
        """Waits for the group sent last to be stored and returns its feed position (or raises WriterError)."""
        try:
            answer = self.answer()
        except (EOFError, OSError) as exc:
            raise self.gone(exc) from exc
        if answer != b"ok":
            raise WriterError(answer.decode("utf-8", "replace"))
        return self.sent_seq

    def gone(self, exc: BaseException) -> WriterError:
        """The writer's pipes broke: closed here, and started again by the next `send`."""
        self.close()
        return WriterError(f"the state folder's writer stopped ({exc or type(exc).__name__})")

    def answer(self) -> bytes:
        """One line from the writer, in one read as a rule (`send_answer`): each read lets go of the GIL,
        and winning it back from the busy request threads is what a commit costs the gateway most."""
        data = os.read(self.answers, ANSWER_BYTES)
        while not data.endswith(b"\n"):
            more = os.read(self.answers, ANSWER_BYTES)
            if not more:
                raise EOFError("the writer's pipe closed")
            data += more
        return data[:-1]

    def stop(self) -> None:
        """Folds the WAL into the database (a clean stop) and waits for the process."""
        if self.process is not None and self.process.poll() is None:
            try:
                self.requests.send_bytes(pickle.dumps(("stop", 0, [])))
                if select.select([self.answers], [], [], 30)[0]:
                    self.answer()
            except (EOFError, OSError):
                pass
        self.close()

    def close(self) -> None:
        try:
            if self.requests is not None:
                self.requests.close()
        except OSError:
            pass
        try:
            if self.answers is not None:
                os.close(self.answers)
        except OSError:
            pass
        self.requests = self.answers = None
        if self.process is not None:
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


# ----- the writer process -----------------------------------------------------------------------------------


def send_answer(answers: int, answer: str) -> None:
    """One line, written at once (a pipe write of at most PIPE_BUF bytes is never split)."""
    line = answer.replace("\n", " ").encode("utf-8", "replace")[: ANSWER_BYTES - 1] + b"\n"
    os.write(answers, line)


def serve(committer: Committer, requests: Connection, answers: int) -> None:
    while True:
        try:
            kind, seq, ops = pickle.loads(requests.recv_bytes())
        except EOFError:  # the gateway is gone (a stop, or a kill): what was committed stays
            return
        if kind == "stop":
            committer.stop()
            send_answer(answers, "ok")
            return
        try:
            committer.commit(seq, ops)
            answer = "ok"
        except Exception as exc:  # noqa: BLE001 (the gateway answers every failure: it undoes the change)
            answer = f"{type(exc).__name__}: {exc}"
        send_answer(answers, answer)


def main(argv: list[str]) -> int:
    folder, fsync, batch_ms, requests_fd, answers_fd = argv
    requests = Connection(int(requests_fd), writable=False)
    answers = int(answers_fd)
    with open(os.path.join(folder, "writer.lock"), "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a writer left by a killed gateway finishes its commit first
        committer = Committer(folder, fsync, int(batch_ms))
        try:
            committer.upgrade()
        except sqlite3.Error as exc:
            print(f"cannot upgrade the state folder {folder}: {exc}", file=sys.stderr, flush=True)
            return 1
        send_answer(answers, "ready")
        serve(committer, requests, answers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
