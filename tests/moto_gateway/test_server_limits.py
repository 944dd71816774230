"""The HTTP server's framing limits, against a real `python -m moto_gateway` over raw sockets.

Issue 17 cases 1 and 6 at the server level (chunk sizes no body can hold, chunk-size lines that are not
hex, chunk lines that never end), oversize headers, and stalled clients: each answered 4xx (or the
connection closed) at once, the process's RSS does not grow, and the server keeps serving others.
"""

from __future__ import annotations

import signal
import socket
import time

import pytest
import requests

from testkit.servers import MotoServer
from tests.moto_gateway.helpers import client

IDLE_TIMEOUT = 2
MAX_HEADER_BYTES = 16 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024
RSS_GROWTH_LIMIT_MIB = 32


@pytest.fixture(scope="module")
def gateway():
    server = MotoServer(
        env={
            "GATEWAY_IDLE_TIMEOUT_SECONDS": str(IDLE_TIMEOUT),
            "GATEWAY_MAX_HEADER_BYTES": str(MAX_HEADER_BYTES),
            "GATEWAY_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
            # raw unsigned requests here test the server's framing, not who may write (tests of access
            # decisions are in test_access_*.py)
            "GATEWAY_ALLOW_ANONYMOUS": "true",
        }
    )
    server.start()
    client(server.url).create_bucket(
        Bucket="limits", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
    )
    yield server
    server.stop()


def rss_mib(server: MotoServer) -> float:
    with open(f"/proc/{server.process.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def exchange(server: MotoServer, data: bytes, timeout: float = 10, end_body: bool = True) -> bytes:
    """Sends raw bytes (then EOF unless end_body is False); what the server answers before it closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            if end_body:
                sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server answered and closed before all was sent
            pass
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
        return answer


def status_of(answer: bytes) -> int | None:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None


def still_serving(server: MotoServer) -> None:
    s3 = client(server.url)
    s3.put_object(Bucket="limits", Key="alive", Body=b"yes")
    assert s3.get_object(Bucket="limits", Key="alive")["Body"].read() == b"yes"


def chunked(method: str, path: str, content_type: str = "") -> bytes:
    extra = f"Content-Type: {content_type}\r\n" if content_type else ""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}Transfer-Encoding: chunked\r\n\r\n"
    return head.encode()


REQUESTS = {
    "PUT": ("PUT", "/limits/key", ""),
    "POST form": ("POST", "/limits", "multipart/form-data; boundary=xyz"),
}


@pytest.mark.parametrize("request_kind", REQUESTS)
@pytest.mark.parametrize(
    "chunk_line, expected",
    [
        (b"ffffffffffffffffffff", b"EntityTooLarge"),  # issue 17 case 1: a chunk no body may hold, then EOF
        (b"%x" % (MAX_BODY_BYTES + 1), b"EntityTooLarge"),
        (b"zz", b"IncompleteBody"),  # case 6
        (b"-5", b"IncompleteBody"),
        (b"1" * 10_000, b"IncompleteBody"),  # a chunk-size line that never ends
    ],
    ids=["20-f", "limit+1", "zz", "-5", "endless-line"],
)
def test_bad_chunk_lines_get_a_4xx_at_once(gateway, request_kind, chunk_line, expected):
    before = rss_mib(gateway)
    started = time.monotonic()
    answer = exchange(gateway, chunked(*REQUESTS[request_kind]) + chunk_line + b"\r\n" + b"a" * 4096)
    assert status_of(answer) == 400 and f"<Code>{expected.decode()}</Code>".encode() in answer, answer[:400]
    assert time.monotonic() - started < 5
    assert rss_mib(gateway) - before < RSS_GROWTH_LIMIT_MIB
    still_serving(gateway)


def test_a_declared_body_beyond_the_limit_is_refused_before_it_is_read(gateway):
    head = f"PUT /limits/big HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n\r\n"
    answer = exchange(gateway, head.encode(), end_body=False)
    assert status_of(answer) == 400 and b"<Code>EntityTooLarge</Code>" in answer, answer[:400]
    still_serving(gateway)


def test_oversize_headers_are_refused_and_the_server_carries_on(gateway):
    before = rss_mib(gateway)
    for _ in range(20):
        big = b"a" * (MAX_HEADER_BYTES + 100)
        answer = exchange(gateway, b"GET /limits HTTP/1.1\r\nHost: x\r\nX-Big: " + big + b"\r\n\r\n")
        # S3's 400, or a reset when the server closes with the rest of the oversize header still unread
        assert status_of(answer) is None or b"<Code>RequestHeaderSectionTooLarge</Code>" in answer, answer[:400]
        assert b" 5" not in answer[:12]
    assert rss_mib(gateway) - before < RSS_GROWTH_LIMIT_MIB
    still_serving(gateway)


def test_stalled_clients_are_dropped_and_others_are_served_meanwhile(gateway):
    stalled = []
    for index in range(30):
        sock = socket.create_connection(("127.0.0.1", gateway.port), timeout=30)
        # half a request: headers announcing 10 bytes, then 3 of them, then nothing
        request = f"PUT /limits/slow-{index} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"
        sock.sendall(request.encode())
        stalled.append(sock)
    started = time.monotonic()
    still_serving(gateway)
    assert time.monotonic() - started < 5
    for sock in stalled:
        # waitress checks for idle channels every IDLE_TIMEOUT/2 s: closed within about twice the timeout
        assert sock.recv(1024) == b""
        assert time.monotonic() - started < IDLE_TIMEOUT * 3 + 5
        sock.close()
    assert requests.get(f"{gateway.url}/limits/slow-0", timeout=10).status_code in (403, 404)


def test_sigterm_stops_the_server_cleanly_even_with_clients_connected():
    server = MotoServer()
    server.start()
    try:
        idle = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        polling = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        polling.sendall(b"GET /_changes?after=0&wait=30 HTTP/1.1\r\nHost: x\r\n\r\n")
        requests.get(f"{server.url}/_health", timeout=10).raise_for_status()
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=15) == 0
        assert time.monotonic() - started < 10
        idle.close()
        polling.close()
    finally:
        server.stop()
    assert "received SIGTERM, stopping" in server.log_path.read_text()


def test_what_moto_needs_from_its_server_survives_waitress(gateway):
    """Underscored metadata names, their spelling in answers, encoded slashes in keys, empty PUTs that
    expect `100 Continue` (waitress 3.0.2 left those hanging)."""
    s3 = client(gateway.url)
    s3.put_object(Bucket="limits", Key="a/b%2Fc", Body=b"", Metadata={"my_key": "1", "Other": "2"})
    head = s3.head_object(Bucket="limits", Key="a/b%2Fc")
    assert head["Metadata"] == {"my_key": "1", "other": "2"}
    assert head["ContentLength"] == 0
    listed = [item["Key"] for item in s3.list_objects_v2(Bucket="limits", Prefix="a/")["Contents"]]
    assert listed == ["a/b%2Fc"]
    answer = exchange(
        gateway,
        b"PUT /limits/empty HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nExpect: 100-continue\r\n"
        b"Connection: close\r\n\r\n",
        timeout=10,
        end_body=False,
    )
    assert status_of(answer) == 200, answer[:200]
