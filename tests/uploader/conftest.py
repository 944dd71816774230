"""Fixtures for the uploader: its environment against the test's Moto server, the app, a gunicorn process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from testkit.clients import REGION, make_test_client
from testkit.servers import ROOT, free_port
from tests.browser import launch_chromium

# gunicorn from the venv of the interpreter running the tests, wherever that venv is.
GUNICORN = Path(sys.executable).with_name("gunicorn")
BUCKET = "avatars"
MAX_BYTES = 4096


@pytest.fixture
def uploader_env(aws_env, monkeypatch) -> dict[str, str]:
    """The uploader's variables: bucket, public endpoint = the test's Moto, a small size limit."""
    env = {
        "S3_BUCKET": BUCKET,
        "S3_PUBLIC_ENDPOINT_URL": aws_env["AWS_ENDPOINT_URL"],
        "UPLOADER_PUBLIC_URL": "http://127.0.0.1:8000",
        "UPLOAD_MAX_BYTES": str(MAX_BYTES),
        "STARTUP_TIMEOUT": "10",
        "S3_BUCKET_CHECK_INTERVAL": "0",
    }
    for name in ("UPLOAD_CORS_ORIGINS", "UPLOAD_ALLOWED_TYPES", "UPLOAD_PUBLIC_READ", "UPLOAD_EXPIRES"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return {**aws_env, **env}


@pytest.fixture(scope="session")
def plain_s3(moto_server):
    return make_test_client(moto_server.url)


@pytest.fixture
def s3(plain_s3):
    """A plain boto3 client on the session's Moto server; unlike the root fixture it does not reset Moto."""
    return plain_s3


def shared_settings(moto_url: str):
    from uploader.settings import UploaderSettings

    return UploaderSettings(
        aws_endpoint_url=moto_url,
        aws_region=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        s3_bucket=BUCKET,
        s3_public_endpoint_url=moto_url,
        uploader_public_url="http://127.0.0.1:8000",
        upload_cors_origins=[],
        upload_allowed_types=["image/png", "image/jpeg", "image/gif", "image/webp"],
        upload_max_bytes=MAX_BYTES,
        upload_expires=300,
        upload_public_read=False,
        startup_timeout=10,
        s3_bucket_check_interval=0,
    )


@pytest.fixture(scope="module")
def shared_app(moto_server):
    """One app per module (a boto3 client costs ~0.3 s to build); `client` restores its bucket per test."""
    from uploader import create_app

    return create_app(shared_settings(moto_server.url))


@pytest.fixture
def client(shared_app, moto_server, s3):
    """A test client of the shared app, its bucket (re)prepared and emptied: each test starts clean."""
    from uploader.storage import prepare_bucket

    prepare_bucket(s3, shared_app.config["UPLOADER_SETTINGS"])
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=BUCKET, Key=item["Key"])
    return shared_app.test_client()


class Gunicorn:
    """The uploader served as in production (gunicorn, uploader/gunicorn.conf.py) on a free loopback port."""

    def __init__(self, env: dict[str, str], workers: int = 2):
        self.port = free_port()
        self.env = {**os.environ, "UPLOADER_WORKERS": str(workers), **env}
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"uploader-test-{self.port}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            str(GUNICORN),
            "-c",
            "uploader/gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{self.port}",
            "uploader:create_app()",
        ]

    def start(self, timeout: float = 30) -> None:
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.command(), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}: {self.log()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within {timeout} s: {self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def policy_checks_enforced(s3, bucket: str) -> bool:
    """Does S3 refuse a POST that breaks its policy? Moto alone does not; our gateway (issue 6) does."""
    import requests

    key = "uploads/probe-policy-enforcement"
    post = s3.generate_presigned_post(bucket, key, Conditions=[["content-length-range", 1, 1]], ExpiresIn=60)
    response = requests.post(post["url"], data=post["fields"], files={"file": ("x", b"too long")}, timeout=10)
    if response.status_code < 300:
        s3.delete_object(Bucket=bucket, Key=key)
        return False
    return True


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for the upload page's and the console's browser tests (one per test module)."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (only the browser tests need it)

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()
