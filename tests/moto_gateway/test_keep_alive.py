"""Answers without a body (204 DeleteObject, 304 Not Modified) keep an HTTP/1.1 connection open
(moto_gateway/server/http_server.py, `MotoTask.keeps_connection_without_length`).

RFC 9112 section 6.3: a 204 or 304 response ends at the end of its header section; waitress 3.0.2 closed the
connection after every answer without Content-Length, so each DeleteObject cost a new TCP connection.
"""

from __future__ import annotations

import socket

import pytest

from testkit.clients import REGION, make_test_client
from testkit.servers import MotoServer
from tests.moto_gateway.access_support import signed_headers


@pytest.fixture(scope="module")
def server():
    gateway = MotoServer()
    gateway.start()
    s3 = make_test_client(gateway.url)
    s3.create_bucket(Bucket="alive", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="alive", Key="k", Body=b"1")
    yield gateway
    gateway.stop()


def raw_request(method: str, url: str, extra: dict | None = None) -> bytes:
    host, path = url.split("/", 3)[2], "/" + url.split("/", 3)[3]
    headers = {"Host": host, **signed_headers(method, url), **(extra or {})}
    lines = [f"{method} {path} HTTP/1.1"] + [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_answer(sock: socket.socket) -> bytes:
    """One answer's header block (and body, when Content-Length announces one)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lengths = [int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
    length = lengths[0] if lengths else 0
    while len(body) < length:
        body += sock.recv(65536)
    return head


def test_a_204_keeps_the_connection_for_the_next_request(server):
    """DeleteObject answers 204 without `Connection: close`, and the same connection serves a GET next."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(raw_request("DELETE", f"{server.url}/alive/gone"))
        first = read_answer(sock)
        assert first.startswith(b"HTTP/1.1 204")
        assert b"connection: close" not in first.lower()
        sock.sendall(raw_request("GET", f"{server.url}/alive/k"))
        assert read_answer(sock).startswith(b"HTTP/1.1 200")


def test_a_204_still_closes_when_the_client_asks(server):
    """`Connection: close` from the client is honoured on a 204 as on any answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(raw_request("DELETE", f"{server.url}/alive/gone", {"Connection": "close"}))
        answer = read_answer(sock)
        assert answer.startswith(b"HTTP/1.1 204")
        assert b"connection: close" in answer.lower()
        assert sock.recv(65536) == b""
