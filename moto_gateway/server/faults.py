"""Fault injection: S3's failures on demand, so that users can prove their retries and error handling.

A rule (POST /_faults, or the GATEWAY_FAULTS list at start) matches requests on method, S3 operation,
bucket and key prefix, fires with a probability or for the next `count` matches, and then answers with an
S3 error, adds latency, drops the connection or cuts the answer's body short. Rules never apply to the
gateway's own `/_` paths. The decisions (operation names, matching, validation) are pure functions; the
`FaultInjector` layer is the thin shell that sleeps, answers and closes sockets.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus

from werkzeug.wsgi import get_input_stream

from moto_gateway.fault_rules import FaultRules, FieldError, parse_rule
from moto_gateway.wsgi.answers import json_response
from moto_gateway.wsgi.bodies import drain
from moto_gateway.wsgi.errors import S3Error, error_xml, new_request_id
from moto_gateway.wsgi.operations import operation_of
from moto_gateway.wsgi.request import RequestView

log = logging.getLogger("moto_gateway.faults")

FAULTS_PATH = "/_faults"
MAX_RULE_BYTES = 64 * 1024
MAX_RULES = 1000


def connection_socket(environ: dict) -> socket.socket | None:
    """The client's socket, where the WSGI server exposes it (werkzeug, gunicorn, waitress's channel)."""
    for name in ("werkzeug.socket", "gunicorn.socket"):
        if isinstance(environ.get(name), socket.socket):
            return environ[name]
    channel = getattr(environ.get("waitress.client_disconnected"), "__self__", None)
    sock = getattr(channel, "socket", None)
    return sock if isinstance(sock, socket.socket) else None


def closes_short_bodies(environ: dict) -> bool:
    """waitress sends what it was given, then closes a connection whose body fell short of its
    Content-Length; shutting its socket from the application's thread could lose bytes still queued."""
    return "waitress.client_disconnected" in environ


def close_connection(environ: dict) -> None:
    sock = connection_socket(environ)
    if sock is None:
        raise ConnectionAbortedError("fault injection: this server exposes no socket to drop")
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class FaultInjector:
    """WSGI layer: serves `/_faults`, passes other `/_` paths on untouched, injects faults into S3 calls."""

    def __init__(self, app: Callable, rules: FaultRules, sleep: Callable[[float], None] = time.sleep):
        self.app = app
        self.rules = rules
        self.sleep = sleep

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == FAULTS_PATH or path.startswith(FAULTS_PATH + "/"):
            return self.serve_api(environ, start_response, path[len(FAULTS_PATH) :].strip("/"))
        if path.startswith("/_") or not self.rules:
            return self.app(environ, start_response)  # no rules: not even the request is parsed
        view = RequestView.from_environ(environ)
        bucket, key = view.addressing.bucket, view.addressing.key
        operation = operation_of(view.method, bucket, key, view.params, "x-amz-copy-source" in view.headers)
        active = self.rules.pick(view.method, operation, bucket, key)
        if active is None:
            return self.app(environ, start_response)
        rule = active.rule
        log.info(
            "fault %s injected into %s %s (%s): %s",
            active.id, view.method, view.raw_path, operation or "-", rule.describe(),
        )  # fmt: skip
        if rule.latency_ms:
            self.sleep(rule.latency_ms / 1000)
        if rule.drop:
            close_connection(environ)
            # Any answer now fails to reach the client; the server sees a dropped connection.
            start_response("503 Service Unavailable", [("Content-Length", "0")])
            return []
        error = rule.error()
        if error is not None:
            drain(environ)
            return s3_error_response(view, error, start_response)
        if rule.cut_body_after is not None:
            return self.cut_short(environ, start_response, rule.cut_body_after)
        return self.app(environ, start_response)

    def cut_short(self, environ: dict, start_response: Callable, limit: int) -> Iterator[bytes]:
        """Moto's answer with its full Content-Length, but only `limit` bytes of it (at most all but the last
        byte), then the connection closes."""
        declared: list[int] = []

        def remember_length(status: str, headers: list, exc_info=None):
            declared.extend(int(v) for k, v in headers if k.lower() == "content-length" and v.isdigit())
            return start_response(status, headers, exc_info)

        body = self.app(environ, remember_length)
        try:
            total = declared[0] if declared else None
            allowed = limit if total is None else min(limit, max(total - 1, 0))
            yield b""  # werkzeug sends the status and headers now, even when no byte of the body follows
            for chunk in body:
                if allowed <= 0:
                    break
                yield chunk[:allowed]
                allowed -= min(len(chunk), allowed)
        finally:
            if hasattr(body, "close"):
                body.close()
        if total is None or not closes_short_bodies(environ):
            close_connection(environ)

    def serve_api(self, environ: dict, start_response: Callable, rule_id: str) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if rule_id:
            if method != "DELETE":
                return json_response(start_response, 405, {"error": "use DELETE"}, method)
            if not self.rules.remove(rule_id):
                return json_response(start_response, 404, {"error": f"no fault rule {rule_id}"})
            log.info("fault %s removed", rule_id)
            return no_content(start_response)
        if method in ("GET", "HEAD"):
            return json_response(start_response, 200, self.rules.listing(), method)
        if method == "DELETE":
            self.rules.clear()
            log.info("fault rules cleared")
            return no_content(start_response)
        if method != "POST":
            return json_response(start_response, 405, {"error": "use GET, POST or DELETE"}, method)
        stream = get_input_stream(environ)
        raw = stream.read(MAX_RULE_BYTES + 1)
        if len(raw) > MAX_RULE_BYTES:
            drain(environ, stream)
            return json_response(start_response, 413, {"error": f"a rule is at most {MAX_RULE_BYTES} bytes"})
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            return json_response(start_response, 400, {"error": f"not JSON: {exc}", "field": "rule"})
        if len(self.rules) >= MAX_RULES:
            return json_response(
                start_response, 409, {"error": f"{MAX_RULES} rules are installed; DELETE /_faults first"}
            )
        try:
            active = self.rules.add(parse_rule(data))
        except FieldError as exc:
            return json_response(start_response, 400, {"error": exc.message, "field": exc.field_name})
        log.info("fault %s installed: %s", active.id, json.dumps(active.as_json()))
        return json_response(start_response, 201, active.as_json())


def no_content(start_response: Callable) -> list[bytes]:
    start_response("204 No Content", [("Cache-Control", "no-store")])
    return []


def s3_error_response(view: RequestView, error: S3Error, start_response: Callable) -> list[bytes]:
    """The error as S3 sends it: XML body, request ids, no body for HEAD."""
    request_id = new_request_id()
    body = error_xml(error, request_id)
    headers = [
        ("Content-Type", "application/xml"),
        ("x-amz-request-id", request_id),
        ("x-amz-id-2", new_request_id()),
        ("Server", "AmazonS3"),
    ]
    if origin := view.headers.get("origin"):
        headers += [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
    status = f"{error.status} {HTTPStatus(error.status).phrase}"
    if view.method == "HEAD":
        start_response(status, [*headers, ("Content-Length", "0")])
        return []
    start_response(status, [*headers, ("Content-Length", str(len(body)))])
    return [body]
