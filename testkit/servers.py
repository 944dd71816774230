"""A real Moto server (the moto service's entry point, `python -m moto_gateway`) in a child process on a loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MotoServer:
    """Starts, stops and restarts (empty, on the same port) a Moto server process; stops only its own PID."""

    def __init__(
        self,
        port: int | None = None,
        command: list[str] | None = None,
        env: dict | None = None,
        checkout: Path | None = None,
    ):
        self.port = port or free_port()
        self.checkout = checkout or ROOT  # the source tree `python -m moto_gateway` runs from
        self.command = command or [sys.executable, "-m", "moto_gateway"]
        self.env = {**os.environ, "GATEWAY_HOST": "127.0.0.1", "GATEWAY_PORT": str(self.port), **(env or {})}
        self.process: subprocess.Popen | None = None
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"moto-test-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180) -> None:
        """Returns once the server answers. `timeout` only bounds a start that never comes (a process that
        exits is reported at once): on a busy machine, a gateway's imports alone can take tens of seconds."""
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command, cwd=self.checkout, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto server exited early: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto server did not answer on {self.url} within {timeout} s")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """A crash: SIGKILL, nothing saved."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def restart(self) -> None:
        """A new, empty Moto on the same port, as after a crash or `docker compose restart moto`."""
        self.kill()
        self.start()

    def reset(self) -> None:
        """Forget every bucket and object (Moto's own reset API)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass
