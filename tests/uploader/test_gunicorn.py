"""The uploader as production runs it: gunicorn with uploader/gunicorn.conf.py and the app factory."""

from __future__ import annotations

import json
import subprocess
import urllib.request

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


def test_a_bad_worker_count_stops_gunicorn_with_one_line(moto_server):
    result = run_to_exit(server_env(moto_server.url, UPLOADER_WORKERS="many"))
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "uploader: invalid configuration: UPLOADER_WORKERS='many': expected a whole number >= 1"
    )


def test_unreachable_s3_stops_gunicorn_with_the_reason_instead_of_serving(moto_server):
    dead = f"http://127.0.0.1:{free_port()}"
    result = run_to_exit(server_env(moto_server.url, AWS_ENDPOINT_URL=dead, STARTUP_TIMEOUT="2"))
    assert result.returncode != 0
    assert f"uploader cannot start: cannot reach S3 at {dead} within 2 s" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Booting worker" not in result.stderr
