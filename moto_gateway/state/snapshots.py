"""Named in-memory snapshots of all S3 state, and a reset, for test suites.

    POST   /_snapshots/<name>           201  save every bucket and object as Moto holds them now
    POST   /_snapshots/<name>/restore   200  S3 becomes exactly that state again (404: unknown name)
    GET    /_snapshots                  200  {"snapshots": [{"name", "objects", "bytes", "buckets", ...}]}
    GET    /_snapshots/<name>           200  one of those (404: unknown name)
    DELETE /_snapshots/<name>           204  (404: unknown name)
    POST   /_reset                      200  S3 empty; snapshots are kept

Names are 1 to 64 of `A-Za-z0-9._-`, else 400. Saving under an existing name replaces that snapshot.
Snapshots share object bytes with Moto instead of copying them (see s3state.py), so they cost little
memory until the objects they hold are overwritten or deleted. A restore and a reset each append one
event to the change feed ("snapshot-restore", "reset"): the feed's boot id stays, since Moto did not
restart, and a follower such as the exporter does a full pass.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from moto_gateway.state import s3state
from moto_gateway.state.changes import ChangeLog
from moto_gateway.state.s3state import collector_paused
from moto_gateway.wsgi.answers import WsgiApp, json_response

NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
PREFIX = "/_snapshots"


@dataclass(frozen=True)
class Snapshot:
    name: str
    state: s3state.S3State
    created: float
    objects: int
    bytes: int
    buckets: int

    def describe(self) -> dict:
        return {
            "name": self.name,
            "objects": self.objects,
            "bytes": self.bytes,
            "buckets": self.buckets,
            "created": round(self.created, 3),
        }


class SnapshotStore:
    """The snapshots by name; one save, restore, delete or reset at a time."""

    def __init__(self, change_log: ChangeLog | None = None) -> None:
        self.change_log = change_log
        self._snapshots: dict[str, Snapshot] = {}
        self._lock = threading.Lock()

    def save(self, name: str) -> Snapshot:
        with self._lock, collector_paused():
            state = s3state.capture()
            snapshot = Snapshot(name, state, time.time(), state.objects, state.bytes, state.buckets)
            replaced = self._snapshots.pop(name, None)
            self._snapshots[name] = snapshot
        if replaced:
            replaced.state.release()
        return snapshot

    def restore(self, name: str) -> Snapshot | None:
        with self._lock, collector_paused():
            snapshot = self._snapshots.get(name)
            if snapshot is None:
                return None
            s3state.put_back(snapshot.state)
            self._record("snapshot-restore", name)
        return snapshot

    def delete(self, name: str) -> bool:
        with self._lock:
            snapshot = self._snapshots.pop(name, None)
        if snapshot is None:
            return False
        snapshot.state.release()
        return True

    def reset(self) -> None:
        with self._lock, collector_paused():
            s3state.put_back(s3state.EMPTY)
            self._record("reset", "")

    def get(self, name: str) -> Snapshot | None:
        return self._snapshots.get(name)

    def list(self) -> list[Snapshot]:
        return sorted(self._snapshots.values(), key=lambda snapshot: snapshot.name)

    def _record(self, op: str, name: str) -> None:
        if self.change_log is not None:
            # bucket: "" as the event is about every bucket; key: the snapshot's name (None for a reset).
            self.change_log.append(op, "", name or None)


def error(start_response: Callable, status: int, code: str, message: str, method: str = "GET") -> list[bytes]:
    return json_response(start_response, status, {"error": message, "code": code}, method)


def no_content(start_response: Callable) -> list[bytes]:
    start_response("204 No Content", [("Cache-Control", "no-store")])
    return []


def parse_path(path: str) -> tuple[str | None, str | None]:
    """(name, action) of /_snapshots[/<name>[/restore]]; name None for the collection, action None for none."""
    rest = path[len(PREFIX) :].strip("/")
    if not rest:
        return None, None
    name, _, action = rest.partition("/")
    return name, action or None


def snapshots_handler(store: SnapshotStore) -> WsgiApp:
    """The /_snapshots collection and its members (see the module docstring)."""

    def handle(environ: dict, start_response: Callable) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        name, action = parse_path(environ.get("PATH_INFO", ""))
        if name is None:
            if method not in ("GET", "HEAD"):
                return error(start_response, 405, "MethodNotAllowed", "use GET /_snapshots", method)
            listing = [snapshot.describe() for snapshot in store.list()]
            return json_response(start_response, 200, {"snapshots": listing}, method)
        if not NAME.fullmatch(name) or action not in (None, "restore"):
            return error(
                start_response,
                400,
                "InvalidSnapshotName",
                "a snapshot name is 1 to 64 characters of A-Z a-z 0-9 . _ - "
                "(paths: /_snapshots/<name> and /_snapshots/<name>/restore)",
                method,
            )
        if action == "restore":
            if method != "POST":
                return error(start_response, 405, "MethodNotAllowed", "use POST to restore", method)
            started = time.perf_counter()
            snapshot = store.restore(name)
            if snapshot is None:
                return error(start_response, 404, "NoSuchSnapshot", f"no snapshot named {name}")
            return json_response(
                start_response, 200, {**snapshot.describe(), "seconds": round(time.perf_counter() - started, 4)}
            )
        if method == "POST":
            started = time.perf_counter()
            snapshot = store.save(name)
            return json_response(
                start_response, 201, {**snapshot.describe(), "seconds": round(time.perf_counter() - started, 4)}
            )
        if method in ("GET", "HEAD"):
            snapshot = store.get(name)
            if snapshot is None:
                return error(start_response, 404, "NoSuchSnapshot", f"no snapshot named {name}", method)
            return json_response(start_response, 200, snapshot.describe(), method)
        if method == "DELETE":
            if not store.delete(name):
                return error(start_response, 404, "NoSuchSnapshot", f"no snapshot named {name}")
            return no_content(start_response)
        return error(start_response, 405, "MethodNotAllowed", "use POST, GET or DELETE", method)

    return handle


def reset_handler(store: SnapshotStore) -> WsgiApp:
    """POST /_reset: every bucket and object gone (snapshots stay)."""

    def handle(environ: dict, start_response: Callable) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method != "POST":
            return error(start_response, 405, "MethodNotAllowed", "use POST /_reset", method)
        store.reset()
        return json_response(start_response, 200, {"status": "ok"})

    return handle
