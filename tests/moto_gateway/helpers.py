"""Shared helpers for the gateway tests: AWS error bodies, clients for another mode or another clock."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET

import botocore.auth
import requests

from testkit.clients import make_test_client as client  # noqa: F401 (the gateway tests import it from here)


def aws_error(response: requests.Response) -> dict[str, str]:
    """The <Error> document as {element: text}, plus the status under 'status'."""
    root = ET.fromstring(response.content)
    assert root.tag == "Error", response.text
    return {"status": response.status_code, **{child.tag: child.text or "" for child in root}}



def shift_botocore_clock(monkeypatch, seconds: float) -> None:
    """Makes this process's botocore sign as if it were `seconds` later (negative: earlier)."""
    real = botocore.auth.get_current_datetime
    monkeypatch.setattr(
        botocore.auth, "get_current_datetime", lambda: real() + datetime.timedelta(seconds=seconds)
    )


def signed_request(
    base_url: str, method: str, path: str, body: bytes = b"", headers: dict | None = None, timeout: float = 30
) -> requests.Response:
    """Sends `method path` header-signed with SigV4 by botocore (test credentials), the body as given."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=base_url + path, data=body, headers=headers or {})
    S3SigV4Auth(Credentials("test", "test"), "s3", "ap-northeast-1").add_auth(request)
    prepared = request.prepare()
    return requests.request(method, prepared.url, headers=dict(prepared.headers), data=body, timeout=timeout)


def raw_exchange(port: int, request: bytes, timeout: float = 10) -> bytes:
    """Writes `request` as is to the server and returns what it answered until it closed or went quiet."""
    import socket

    received = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return bytes(received)


def status_of(answer: bytes) -> int:
    """The status code of a raw HTTP answer (0 when there was none)."""
    parts = answer.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
