"""The uploader as production runs it: gunicorn with uploader/gunicorn.conf.py and the app factory."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import urllib.request

import pytest
import requests

from testkit.servers import ROOT, free_port
from tests.uploader.conftest import BUCKET, Gunicorn, shared_settings
from tests.uploader.images import png_bytes


def server_env(moto_url: str, **extra: str) -> dict[str, str]:
    settings = shared_settings(moto_url)
    return {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": settings.aws_region,
        "S3_BUCKET": BUCKET,
        "S3_PUBLIC_ENDPOINT_URL": moto_url,
        "STARTUP_TIMEOUT": "10",
        **extra,
    }


def test_gunicorn_serves_the_factory_and_stops_on_sigterm(moto_server, s3):
    server = Gunicorn(server_env(moto_server.url))
    server.start()
    try:
        with urllib.request.urlopen(f"{server.url}/healthz", timeout=5) as response:
            assert json.load(response) == {"status": "ok", "bucket": BUCKET}
        content = png_bytes()
        signed = requests.get(
            f"{server.url}/sign_s3/", params={"file_name": "g.png", "file_type": "image/png"}, timeout=5
        )
        body = signed.json()
        posted = requests.post(
            body["data"]["url"],
            data=body["data"]["fields"],
            files={"file": ("g.png", content, "image/png")},
            timeout=10,
        )
        assert posted.status_code == 204
        assert s3.get_object(Bucket=BUCKET, Key=body["data"]["fields"]["key"])["Body"].read() == content
        answers = {requests.get(f"{server.url}/healthz", timeout=5).status_code for _ in range(20)}
        assert answers == {200}
        assert "Booting worker" in server.log()
    finally:
        process = server.process
        server.stop()
    assert process.returncode == 0


def run_to_exit(env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    server = Gunicorn(env)
    return subprocess.run(
        server.command(), cwd=ROOT, env=server.env, capture_output=True, text=True, timeout=timeout
    )


def test_a_bad_variable_stops_gunicorn_with_one_line_naming_it(moto_server):
    result = run_to_exit(server_env(moto_server.url, UPLOAD_MAX_BYTES="lots"))
    assert result.returncode != 0
    assert (
        "uploader: invalid configuration: UPLOAD_MAX_BYTES='lots': Input should be a valid integer"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("UPLOADER_WORKERS", "many", "Input should be a valid integer, unable to parse string as an integer"),
        ("UPLOADER_WORKERS", "0", "Input should be greater than or equal to 1"),
        ("UPLOADER_THREADS", "0", "Input should be greater than or equal to 1"),
        ("LOG_LEVEL", "loud", "Input should be 'DEBUG', 'INFO', 'WARNING', 'ERROR' or 'CRITICAL'"),
    ],
)
def test_gunicorns_own_settings_come_from_the_settings_class_one_line_for_a_bad_one(
    moto_server, name, value, reason
):
    result = run_to_exit(server_env(moto_server.url, **{name: value}))
    assert result.returncode == 2
    assert result.stderr.strip() == f"uploader: invalid configuration: {name}={value!r}: {reason}"


def test_unreachable_s3_stops_gunicorn_with_the_reason_instead_of_serving(moto_server):
    dead = f"http://127.0.0.1:{free_port()}"
    result = run_to_exit(server_env(moto_server.url, AWS_ENDPOINT_URL=dead, STARTUP_TIMEOUT="2"))
    assert result.returncode != 0
    assert f"uploader cannot start: cannot reach S3 at {dead} within 2 s" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Booting worker" not in result.stderr


class SlowClient(threading.Thread):
    """Sends a request's headers a byte at a time, as a slow or hostile client would, until told to stop."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.stopped = threading.Event()

    def run(self) -> None:
        request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4000
        for byte in request:
            if self.stopped.wait(0.05):
                break
            try:
                self.sock.send(bytes([byte]))
            except OSError:
                break

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)
        self.sock.close()


def test_healthz_answers_within_a_second_while_two_slow_clients_hold_connections(moto_server):
    server = Gunicorn(server_env(moto_server.url), workers=2)
    server.start()
    slow = [SlowClient(server.port) for _ in range(2)]
    try:
        for client in slow:
            client.start()
        time.sleep(0.5)  # both are mid-request, one per worker if workers were single-threaded
        latencies = []
        for _ in range(10):
            started = time.monotonic()
            answer = requests.get(f"{server.url}/healthz", timeout=5)
            latencies.append(time.monotonic() - started)
            assert answer.status_code == 200
            time.sleep(0.1)
        assert all(client.is_alive() for client in slow), "the slow clients were still sending"
        assert max(latencies) < 1.0, latencies
    finally:
        for client in slow:
            client.stop()
        server.stop()


def test_a_connection_that_sends_nothing_is_closed_by_the_server(moto_server):
    server = Gunicorn(server_env(moto_server.url), workers=1)
    server.start()
    try:
        idle = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        started = time.monotonic()
        try:
            assert idle.recv(1) == b""
        finally:
            idle.close()
        assert time.monotonic() - started < 20
    finally:
        server.stop()
