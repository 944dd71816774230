"""Capturing the S3 events a test caused: a small receiver (the standard library's HTTP server, on a free
loopback port) registered as a webhook of the gateway (`/_events/webhooks`) while the test runs.

The gateway must reach the receiver: it does when the gateway runs on this machine (the plugin's own, or
`python -m moto_gateway`); a gateway in a container reaches the host only through an address you give it.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from testkit.control import call

MAX_EVENT_BYTES = 1 << 20


class EventCapture:
    """Records every event record the gateway delivers; `wait_for(n)` waits until n arrived."""

    def __init__(self, endpoint: str, buckets: list[str] | None = None, events: list[str] | None = None):
        self.endpoint = endpoint.rstrip("/")
        self.records: list[dict] = []
        self.arrived = threading.Condition()
        capture = self

        class Receiver(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the standard library's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, MAX_EVENT_BYTES))
                try:
                    records = json.loads(body).get("Records", [])
                except (ValueError, AttributeError):
                    records = []
                with capture.arrived:
                    capture.records.extend(records)
                    capture.arrived.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass  # quiet: the test reads the records

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        self.thread = threading.Thread(target=self.server.serve_forever, name="s3-events", daemon=True)
        self.thread.start()
        url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        _status, answer = call("POST", f"{self.endpoint}/_events/webhooks",
                               {"url": url, "buckets": buckets or [], "events": events or []})
        self.webhook_id = answer["id"]

    def names(self) -> list[str]:
        """The eventName of every record so far, in arrival order (e.g. "ObjectCreated:Put")."""
        with self.arrived:
            return [record["eventName"] for record in self.records]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict]:
        """The first `count` records, once they arrived; AssertionError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.records) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    arrived = [record["eventName"] for record in self.records]
                    raise AssertionError(f"{len(arrived)} S3 events arrived, {count} expected: {arrived}")
                self.arrived.wait(remaining)
            return list(self.records[:count])

    def close(self) -> None:
        try:
            call("DELETE", f"{self.endpoint}/_events/webhooks/{self.webhook_id}")
        finally:
            self.server.shutdown()
            self.server.server_close()
