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


def unhealthy_reasons(
    state: str,
    last_success: float | None,
    now: float,
    interval: float,
    *,
    failing: str | None = None,
    problems: int = 0,
    lag: float | None = None,
    max_lag: float = 10.0,
) -> list[str]:
    """Why the mirror is known to differ from S3 and not to be converging; empty when it is in step.

    `last_success` is when a pass or change batch last left the mirror equal to S3, or when an idle feed
    poll last proved that nothing changed since (only while nothing is failing: an idle poll proves the
    feed alive, not the mirror right)."""
    reasons = []
    if state == "restoring":
        reasons.append("a restore is in progress")
    if last_success is None:
        reasons.append("no pass has succeeded yet")
    elif now - last_success > 3 * interval:
        reasons.append(f"the last successful sync is {now - last_success:.0f} s old")
    if failing:
        reasons.append(failing)
    if problems:
        reasons.append(f"{problems} object(s) cannot be written (see /status: problems)")
    if lag is not None and lag > max_lag:
        reasons.append(f"the change feed is {lag:.1f} s behind (MAX_LAG_SECONDS={max_lag:g})")
    return reasons


def is_healthy(state: str, last_success: float | None, now: float, interval: float, **conditions: Any) -> bool:
    return not unhealthy_reasons(state, last_success, now, interval, **conditions)


class Status:
    """Thread-safe state shared by the sync loop and the HTTP handler."""

    def __init__(self, interval: float, max_lag: float = 10.0) -> None:
        self.interval = interval
        self.max_lag = max_lag
        self._lock = threading.Lock()
        self._state = "starting"
        self._last_pass: PassStats | None = None
        self._last_success: float | None = None
        self._failing: str | None = None
        self._runs = {"full": 0, "changes": 0}
        self._totals = {"downloads": 0, "deletes": 0, "restored": 0, "errors": 0}
        self._restore: dict[str, Any] | None = None
        self._last_error: dict[str, str] | None = None
        self._problems: list[dict[str, Any]] = []
        self._oldest_unapplied: float | None = None
        self._pending = 0

    def set_state(self, state: str) -> None:
        with self._lock:
            self._state = state

    def set_restore(self, progress: dict[str, Any]) -> None:
        with self._lock:
            self._restore = progress

    def set_problems(self, problems: list[dict[str, Any]]) -> None:
        with self._lock:
            self._problems = problems

    def set_pending(self, oldest: float | None, pending: int) -> None:
        """Changes read from the feed and not yet applied: when the oldest happened (epoch s), how many."""
        with self._lock:
            self._oldest_unapplied = oldest
            self._pending = pending

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
                self._failing = None
            else:
                what = "the last full pass" if stats.kind == "full" else "a change batch"
                self._failing = f"{what} had {stats.errors} error(s)" + ("" if stats.complete else ", incomplete")
                self._last_error = {"time": datetime.now(UTC).isoformat(timespec="seconds"),
                                    "message": self._failing}

    def record_failure(self, message: str) -> None:
        """A pass that could not even start (S3 unreachable): counted, and shown in /status."""
        with self._lock:
            self._totals["errors"] += 1
            self._failing = f"the last pass failed: {message}"
            self._last_error = {"time": datetime.now(UTC).isoformat(timespec="seconds"), "message": message}

    def mark_in_step(self) -> None:
        """The change feed said nothing changed: fresh, unless something is failing (an idle poll proves the
        feed alive, not that a failed write has succeeded since)."""
        with self._lock:
            if self._failing is None and not self._problems and self._last_success is not None:
                self._last_success = time.monotonic()

    def _reasons(self, now: float) -> list[str]:
        lag = None if self._oldest_unapplied is None else max(0.0, time.time() - self._oldest_unapplied)
        return unhealthy_reasons(self._state, self._last_success, now, self.interval, failing=self._failing,
                                 problems=len(self._problems), lag=lag, max_lag=self.max_lag)

    def healthy(self) -> bool:
        with self._lock:
            return not self._reasons(time.monotonic())

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            now = time.monotonic()
            last = self._last_pass
            since = None if self._last_success is None else round(now - self._last_success, 3)
            reasons = self._reasons(now)
            lag = None if self._oldest_unapplied is None else round(max(0.0, time.time() - self._oldest_unapplied), 3)
            return {
                "healthy": not reasons,
                "reasons": reasons,
                "state": self._state,
                "passes": self._runs["full"],
                "change_syncs": self._runs["changes"],
                "seconds_since_last_success": since,
                "interval": self.interval,
                "lag_seconds": lag or 0.0,
                "pending_changes": self._pending,
                "problems": list(self._problems),
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
                body = {"healthy": snapshot["healthy"], "state": snapshot["state"], "reasons": snapshot["reasons"]}
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
