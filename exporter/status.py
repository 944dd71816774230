"""What the exporter reports: pass figures, health, and the small HTTP server that serves them."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class PassStats:
    kind: str = "full"
    """"full": every bucket listed; "changes": only keys named by the change feed."""
    started: float = field(default_factory=time.time)
    duration: float = 0.0
    buckets: int = 0
    objects: int = 0
    bytes: int = 0
    downloads: int = 0
    downloaded_bytes: int = 0
    moves: int = 0
    deletes: int = 0
    restored: int = 0
    errors: int = 0
    complete: bool = True
    """False when a listing failed or the pass was interrupted: no delete happened then."""

    @property
    def changed(self) -> bool:
        return bool(self.downloads or self.moves or self.deletes or self.restored or self.errors)


def is_healthy(state: str, last_success: float | None, now: float, interval: float) -> bool:
    """Healthy once a full pass succeeded, while the last success is at most 3 intervals old, and not while
    a restore runs (the mirror and S3 are not in step until it ends)."""
    return state != "restoring" and last_success is not None and now - last_success <= 3 * interval


class Status:
    """Thread-safe state shared by the sync loop and the HTTP handler."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._state = "starting"
        self._last_pass: PassStats | None = None
        self._last_success: float | None = None
        self._runs = {"full": 0, "changes": 0}
        self._totals = {"downloads": 0, "deletes": 0, "restored": 0, "errors": 0}
        self._restore: dict[str, Any] | None = None
        self._last_error: dict[str, str] | None = None

    def set_state(self, state: str) -> None:
        with self._lock:
            self._state = state

    def set_restore(self, progress: dict[str, Any]) -> None:
        with self._lock:
            self._restore = progress

    def record_pass(self, stats: PassStats) -> None:
        with self._lock:
            self._runs[stats.kind] += 1
            self._last_pass = stats
            self._totals["downloads"] += stats.downloads
            self._totals["deletes"] += stats.deletes
            self._totals["restored"] += stats.restored
            self._totals["errors"] += stats.errors
            if stats.complete and not stats.errors:
                self._last_success = time.monotonic()

    def record_failure(self, message: str) -> None:
        """A pass that could not even start (S3 unreachable): counted, and shown in /status."""
        with self._lock:
            self._totals["errors"] += 1
            self._last_error = {"time": datetime.now(UTC).isoformat(timespec="seconds"), "message": message}

    def mark_in_step(self) -> None:
        """The change feed said nothing changed: the mirror is as fresh as after a successful pass."""
        with self._lock:
            self._last_success = time.monotonic()

    def healthy(self) -> bool:
        with self._lock:
            return is_healthy(self._state, self._last_success, time.monotonic(), self.interval)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            last = self._last_pass
            since = None if self._last_success is None else round(time.monotonic() - self._last_success, 3)
            return {
                "healthy": is_healthy(self._state, self._last_success, time.monotonic(), self.interval),
                "state": self._state,
                "passes": self._runs["full"],
                "change_syncs": self._runs["changes"],
                "seconds_since_last_success": since,
                "interval": self.interval,
                "totals": dict(self._totals),
                "last_restore": self._restore,
                "last_error": self._last_error,
                "last_pass": None
                if last is None
                else {
                    **asdict(last),
                    "started": datetime.fromtimestamp(last.started, UTC).isoformat(timespec="seconds"),
                    "duration": round(last.duration, 3),
                },
            }


def serve_status(status: Status, host: str, port: int) -> ThreadingHTTPServer:
    """Serve GET /healthz (200 or 503) and GET /status (JSON) in a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the name http.server asks for)
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                snapshot = status.snapshot()
                body = {"healthy": snapshot["healthy"], "state": snapshot["state"]}
                self._send(200 if snapshot["healthy"] else 503, body)
            elif path == "/status":
                self._send(200, status.snapshot())
            else:
                self._send(404, {"error": "not found", "paths": ["/healthz", "/status"]})

        def _send(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            log.debug("health %s", format % args)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server
