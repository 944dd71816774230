"""The shape of a WSGI app, and the JSON answer of the gateway's own endpoints (/_health, /_changes, ...)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from http import HTTPStatus

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]


def json_response(start_response: Callable, status: int, payload: object, method: str = "GET") -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
        ],
    )
    return [] if method == "HEAD" else [body]
