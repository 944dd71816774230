"""Issue 24 item 2, without sockets: until the state folder is loaded, S3 requests get 503 SlowDown (with
Retry-After) and /_health says "loading"; then requests reach the app behind the gate."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from moto_gateway.state.durable.layer import Durability, DurableGate
from moto_gateway.state.durable.store import DurableStore


def call(app, path: str, method: str = "GET") -> tuple[str, dict, bytes]:
    answer: dict = {}

    def start_response(status, headers, exc_info=None):
        answer.update(status=status, headers=dict(headers))

    body = b"".join(app({"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": ""}, start_response))
    return answer["status"], answer["headers"], body


def inner(environ, start_response):
    payload = json.dumps({"status": "ok", "boot_id": "b"}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [payload]


def test_requests_wait_for_the_load_with_slow_down_and_health_says_loading(tmp_path):
    store = DurableStore(str(tmp_path / "state"))
    store.open()
    try:
        check_the_gate(Durability(store, None))
    finally:
        store.stop()


def check_the_gate(durability: Durability) -> None:
    gate = DurableGate(inner, durability)

    status, headers, body = call(gate, "/bucket/key", "PUT")
    assert status.startswith("503") and headers["Retry-After"] == "1"
    assert ET.fromstring(body).find("Code").text == "SlowDown"
    status, _headers, body = call(gate, "/_health")
    assert status.startswith("503") and json.loads(body)["status"] == "loading"

    durability.load()
    status, _headers, body = call(gate, "/bucket/key")
    assert status.startswith("200")
    health = json.loads(call(gate, "/_health")[2])
    assert health["status"] == "ok" and health["boot_id"] == "b" and health["durable"]["loaded"] is True
