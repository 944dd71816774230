"""The durable state's layers and wiring: what a request changed is stored before its answer leaves.

- `DurableCapture` sits inside BucketLocks, around the change recorder: after a mutating S3 request
  succeeds it reads what the request changed from Moto (store.capture_bucket) and queues it, still
  holding the bucket's lock, so a bucket's changes are queued in the order Moto made them.
- `DurableGate` sits outside everything that takes a lock (around the router): it answers 503 until the
  state folder is loaded, refuses a write at once while the folder cannot take one (a probe write says
  when it can again), holds a mutating request's answer until every change it queued is committed, and
  answers 503 SlowDown instead when one could not be (the change was undone: see `Durability.undo`).
- `DurableSnapshots` stores named snapshots, restores and resets; `after_import` stores what a bulk
  import put in.
"""

from __future__ import annotations

import contextvars
import json
import logging
import threading
from collections.abc import Callable, Iterable

from werkzeug.wsgi import get_input_stream

from moto_gateway.state import s3state
from moto_gateway.state.changes import POST_KEY_ENVIRON, ChangeLog, deleted_keys
from moto_gateway.state.durable import snapshot_files
from moto_gateway.state.durable.store import DONE, DurabilityError, DurableStore, Ticket
from moto_gateway.state.snapshots import NAME, Snapshot, SnapshotStore, error, parse_path
from moto_gateway.wsgi.answers import json_response
from moto_gateway.wsgi.bodies import answered, answered_with_status
from moto_gateway.wsgi.errors import S3Error, error_xml, new_request_id
from moto_gateway.wsgi.held_answers import HOLD_ANSWER
from moto_gateway.wsgi.request import RequestView

log = logging.getLogger("moto_gateway.durable")

MUTATING = frozenset({"PUT", "POST", "DELETE"})
NOT_STATE_PATHS = ("/_health", "/_changes", "/_faults")
MOTO_RESET = "/moto-api/reset"
COMMIT_TIMEOUT_SECONDS = 120.0
PENDING: contextvars.ContextVar[list[Ticket] | None] = contextvars.ContextVar("durable_pending", default=None)
"""The tickets the current request queued: its answer is held until they are done (DurableGate)."""


def not_stored(error: BaseException) -> str:
    return f"the change could not be stored and was undone ({error})"


def queued(ticket: Ticket) -> Ticket:
    pending = PENDING.get()
    if pending is not None and ticket is not DONE:
        pending.append(ticket)
    return ticket


class Durability:
    """One state folder in use: the store, and what undoing a failed write needs (locks, snapshots, feed)."""

    def __init__(self, store: DurableStore, change_log: ChangeLog | None) -> None:
        self.store = store
        self.change_log = change_log
        self.locks: list[threading.Lock] = []
        self.snapshots: DurableSnapshots | None = None
        self.loaded = threading.Event()
        self.load_error: str | None = None
        store.on_failure = self.undo

    def seq(self) -> int:
        return getattr(self.change_log, "_last_seq", 0) if self.change_log is not None else 0

    def load(self) -> None:
        """Start-up: Moto becomes what the folder holds; then the writer starts and S3 is served."""
        try:
            loaded = self.store.load()
        except Exception as exc:
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.exception("cannot load the state folder %s", self.store.folder)
            return
        if self.snapshots is not None:
            self.snapshots.replace_all(loaded.snapshots)
        self.loaded.set()
        log.info(
            "state %s loaded: %d bucket(s), %d key(s), %d snapshot(s) in %.2f s (%.2f s of CPU; fsync %s)",
            self.store.folder,
            loaded.buckets,
            loaded.objects,
            len(loaded.snapshots),
            loaded.seconds,
            loaded.cpu_seconds,
            self.store.fsync,
        )

    def undo(self, error: BaseException) -> None:
        """A group of changes could not be stored: with every bucket's lock held, refuse what is queued
        and put Moto back to what the folder holds (called by the writer thread)."""
        for lock in self.locks:
            lock.acquire()
        try:
            self.store.fail_queued(error)
            loaded = self.store.load()
            if self.snapshots is not None:
                self.snapshots.replace_all(loaded.snapshots)
            if self.change_log is not None:
                self.change_log.append("revert", "")  # a follower that does not know the op does a full pass
        finally:
            for lock in reversed(self.locks):
                lock.release()

    def describe(self) -> dict:
        return {**self.store.describe(), "loaded": self.loaded.is_set(), "load_error": self.load_error}

    # the functions other code calls (see the package docstring)

    def persist_keys(self, bucket: str, keys: Iterable[str]) -> Ticket:
        return queued(self.store.submit(self.store.capture_bucket(bucket, list(keys)), self.seq()))

    def persist_bucket(self, bucket: str) -> Ticket:
        return queued(self.store.submit(self.store.capture_bucket(bucket, config=True), self.seq()))

    def persist_changed(self, bucket: str) -> Ticket:
        return queued(self.store.submit(self.store.capture_changed(bucket), self.seq()))

    def persist_everything(self) -> Ticket:
        return queued(self.store.submit(self.store.capture_everything(), self.seq()))


class DurableCapture:
    """WSGI layer inside BucketLocks: queues what a successful mutating S3 request changed."""

    def __init__(self, app: Callable, durability: Durability) -> None:
        self.app = app
        self.durability = durability

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in MUTATING or environ.get("PATH_INFO", "").startswith("/_"):
            return self.app(environ, start_response)
        if environ.get("PATH_INFO") == MOTO_RESET:  # Moto's own reset empties the folder too
            chunks = answered(self.app, environ, start_response)
            queued(self.durability.persist_everything())
            return chunks
        view = RequestView.from_environ(environ)
        bucket = view.addressing.bucket
        if not bucket or bucket == "moto-api":
            return self.app(environ, start_response)
        status, chunks = answered_with_status(self.app, environ, start_response)
        if status is None or status >= 400:
            return chunks
        store = self.durability.store
        try:
            ops = self.changes(store, view, environ, bucket, chunks)
            ticket = store.submit(ops, self.durability.seq())
        except Exception as exc:  # noqa: BLE001 (the writer undoes the change and refuses the request)
            log.error("cannot capture %s %s: %s", view.method, view.raw_path, exc)
            ticket = store.submit([], error=exc)
        queued(ticket)
        return chunks

    @staticmethod
    def changes(store: DurableStore, view: RequestView, environ: dict, bucket: str, chunks: list[bytes]):
        key = view.addressing.key
        if key:
            return store.capture_bucket(bucket, [key])
        params = view.params
        if view.method == "POST" and "delete" in params:
            return store.capture_bucket(bucket, deleted_keys(b"".join(chunks)))
        if view.method == "POST" and not params:  # a browser upload: its key, when the form was read
            posted = environ.get(POST_KEY_ENVIRON)
            return store.capture_bucket(bucket, [posted]) if posted else store.capture_changed(bucket)
        return store.capture_bucket(bucket, config=True)


class DurableGate:
    """WSGI layer around the router: serves nothing until loaded, and acknowledges only what is stored."""

    def __init__(self, app: Callable, durability: Durability) -> None:
        self.app = app
        self.durability = durability

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        durability = self.durability
        if path.startswith("/_health"):
            return self.health(environ, start_response)
        if not durability.loaded.is_set():
            return self.refuse(
                environ, start_response, "the gateway is loading its state folder; retry shortly"
            )
        if environ.get("REQUEST_METHOD") not in MUTATING or path.startswith(NOT_STATE_PATHS):
            return self.app(environ, start_response)
        store = durability.store
        if store.error is not None and not store.probe():
            return self.refuse(
                environ, start_response, f"the state folder cannot take writes ({store.error})"
            )
        pending: list[Ticket] = []
        token = PENDING.set(pending)
        answer: list = []
        written: list[bytes] = []

        def deferred(status: str, headers: list, exc_info=None):
            answer[:] = [status, headers, exc_info]
            return written.append

        try:
            chunks = answered(self.app, environ, deferred)
        finally:
            PENDING.reset(token)
        pending = [ticket for ticket in pending if not ticket.finished or ticket.error is not None]
        hold = environ.get(HOLD_ANSWER)
        if pending and hold is not None:
            hold(pending, lambda error: self.refusal(environ, error))
        else:
            try:
                for ticket in pending:
                    ticket.wait(COMMIT_TIMEOUT_SECONDS)
            except DurabilityError as exc:
                return self.refuse(environ, start_response, not_stored(exc))
        start_response(*answer)
        return [*written, *chunks]

    def refusal(self, environ: dict, error: BaseException) -> tuple[str, list[tuple[str, str]], bytes]:
        """The answer a held one is replaced with when its change could not be stored."""
        answer: list = []
        body = b"".join(
            self.refuse(environ, lambda status, headers, exc_info=None: answer.extend((status, headers)),
                        not_stored(error))
        )
        return answer[0], answer[1], body

    def health(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        """/_health with the state folder's condition: 503 "loading" until it is loaded, "degraded" while
        it cannot take writes."""
        method = environ.get("REQUEST_METHOD", "GET")
        durability = self.durability
        payload: dict = {}
        if durability.loaded.is_set():
            answer: list = []
            chunks = answered(self.app, environ, lambda status, headers, exc_info=None: answer.append(status))
            if not answer or not answer[0].startswith("200"):
                start_response(answer[0] if answer else "500 Internal Server Error", [])
                return chunks
            payload = json.loads(b"".join(chunks) or b"{}") if method == "GET" else {}
        status = (
            "loading" if not durability.loaded.is_set() else "degraded" if durability.store.error else "ok"
        )
        payload.update(status=status, durable=durability.describe())
        return json_response(start_response, 503 if status == "loading" else 200, payload, method)

    @staticmethod
    def refuse(environ: dict, start_response: Callable, message: str) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if environ.get("PATH_INFO", "").startswith("/_"):
            return json_response(start_response, 503, {"error": message, "code": "SlowDown"}, method)
        request_id = new_request_id()
        body = error_xml(S3Error(503, "SlowDown", message), request_id)
        start_response(
            "503 Service Unavailable",
            [
                ("Content-Type", "application/xml"),
                ("Content-Length", str(len(body))),
                ("Retry-After", "1"),
                ("x-amz-request-id", request_id),
            ],
        )
        return [] if method == "HEAD" else [body]


class DurableSnapshots(SnapshotStore):
    """Named snapshots, also as files (export, import); with a state folder, saved, deleted, restored and
    resets are stored as they happen."""

    def __init__(self, change_log: ChangeLog | None, durability: Durability | None) -> None:
        super().__init__(change_log)
        self.durability = durability
        if durability is not None:
            durability.snapshots = self

    def _store(self, ops: Callable[[DurableStore], list[tuple]]) -> None:
        if self.durability is not None:
            queued(self.durability.store.submit(ops(self.durability.store)))

    def save(self, name: str) -> Snapshot:
        snapshot = super().save(name)
        self._store(lambda store: store.snapshot_ops(name, snapshot.state, snapshot.created))
        return snapshot

    def adopt(self, name: str, state: s3state.S3State, created: float) -> Snapshot:
        """An imported snapshot, under `name` (replacing one of that name)."""
        snapshot = Snapshot(name, state, created, state.objects, state.bytes, state.buckets)
        with self._lock:
            replaced = self._snapshots.pop(name, None)
            self._snapshots[name] = snapshot
        if replaced:
            replaced.state.release()
        self._store(lambda store: store.snapshot_ops(name, state, created))
        return snapshot

    def delete(self, name: str) -> bool:
        deleted = super().delete(name)
        if deleted:
            self._store(lambda store: store.snapshot_ops(name, None))
        return deleted

    def restore(self, name: str) -> Snapshot | None:
        snapshot = super().restore(name)
        if snapshot is not None and self.durability is not None:
            self.durability.persist_everything()
        return snapshot

    def reset(self) -> None:
        super().reset()
        if self.durability is not None:
            self.durability.persist_everything()

    def replace_all(self, loaded: dict[str, tuple[s3state.S3State, float]]) -> None:
        with self._lock:
            old, self._snapshots = (
                self._snapshots,
                {
                    name: Snapshot(name, state, created, state.objects, state.bytes, state.buckets)
                    for name, (state, created) in loaded.items()
                },
            )
        for snapshot in old.values():
            snapshot.state.release()


def snapshot_file_routes(store: DurableSnapshots, other: Callable) -> Callable:
    """/_snapshots/<name>/export and /_snapshots/<name>/import (snapshot_files.py); every other
    /_snapshots path goes to `other` (snapshots.py)."""

    def handle(environ: dict, start_response: Callable) -> Iterable[bytes]:
        name, action = parse_path(environ.get("PATH_INFO", ""))
        if action not in ("export", "import") or name is None or not NAME.fullmatch(name):
            return other(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET")
        if action == "export":
            if method != "GET":
                return error(start_response, 405, "MethodNotAllowed", "use GET to export", method)
            snapshot = store.get(name)
            if snapshot is None:
                return error(start_response, 404, "NoSuchSnapshot", f"no snapshot named {name}")
            spool = snapshot_files.export_file(snapshot.state, snapshot.created)
            size = spool.seek(0, 2)
            spool.seek(0)
            start_response(
                "200 OK",
                [
                    ("Content-Type", "application/x-tar"),
                    ("Content-Length", str(size)),
                    ("Content-Disposition", f'attachment; filename="{name}.motostack-snapshot"'),
                    ("Cache-Control", "no-store"),
                ],
            )
            return snapshot_files.file_chunks(spool)
        if method != "POST":
            return error(start_response, 405, "MethodNotAllowed", "use POST to import", method)
        try:
            state, created = snapshot_files.import_file(get_input_stream(environ))
        except snapshot_files.SnapshotFileError as exc:
            return error(start_response, 400, "MalformedSnapshot", str(exc), method)
        snapshot = store.adopt(name, state, created)
        return json_response(start_response, 201, snapshot.describe())

    return handle


def after_import(handler: Callable, durability: Durability) -> Callable:
    """A bulk import's handler, then what it stored queued for the state folder (every bucket of Moto whose
    keys changed; run with every bucket's lock held)."""

    def handle(environ: dict, start_response: Callable) -> Iterable[bytes]:
        chunks = answered(handler, environ, start_response)
        for _account, _partition, backend in s3state.live_backends():
            for name in list(backend.buckets):
                durability.persist_changed(name)
        return chunks

    return handle


def start_loading(durability: Durability) -> threading.Thread:
    thread = threading.Thread(target=durability.load, name="durable-load", daemon=True)
    thread.start()
    return thread
