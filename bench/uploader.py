"""Benchmark of the uploader's GET /sign_s3/ with wrk, next to the issue's figures and a measured baseline.

    python -m bench.uploader [--rounds 3] [--duration 8] [--connections 8] [--threads 2] [--no-docker]

Serves, side by side on this machine (the reference design itself, 87 req/s, is only quoted):
  - the issue's faster baseline: the reference /sign_s3/ with one reused client under gunicorn, 2 workers,
    no validation, no display URL (bench/uploader_reference.py);
  - the uploader image (Dockerfile, target uploader) under its own gunicorn (2 sync workers, all validation, a
    presigned display URL per answer), with host networking so wrk measures gunicorn, not Docker's proxy;
    with --no-docker or without an engine: the same app and gunicorn config from the dev venv.
then runs wrk against them in alternating rounds and prints the median of each, so that other work on
the machine weighs on both alike. A real Moto server (`python -m moto_gateway`) runs on a free loopback
port for the start-up bucket set-up. Needs wrk (Debian: apt-get install -y wrk).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from testkit.servers import MotoServer, free_port

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "motostack-uploader:bench"
BUCKET = "bench-uploads"
SIGN_PATH = "/sign_s3/?file_name=avatar.png&file_type=image/png&file_size=123456"
QUOTED = [
    ("issue 4: reference design (new client per request, Flask dev server)", 87.0),
    ("issue 4: reused client, gunicorn 2 workers", 1989.0),
]
GOAL = "goal: >= 1,500 req/s with all validation, p99 < 20 ms"


def parse_wrk(output: str) -> dict:
    """Requests/s, p50 and p99 in ms, and the error counts from `wrk --latency` output."""

    def ms(text: str) -> float:
        value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "rate": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1)),
        "p99": ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1)),
        "errors": (int(errors.group(1)) if errors else 0)
        + (sum(int(n) for n in socket_errors.groups()) if socket_errors else 0),
    }


def wait_for(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:g} s")


def check_answer(base_url: str) -> None:
    """The endpoint must really sign (200, the reference shape), or the figures mean nothing."""
    with urllib.request.urlopen(base_url + SIGN_PATH, timeout=5) as response:
        body = json.load(response)
    if set(body) != {"data", "url"} or "fields" not in body["data"]:
        raise RuntimeError(f"unexpected answer from {base_url}: {body}")


def run_wrk(base_url: str, args: argparse.Namespace) -> dict:
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency"]
    result = subprocess.run([*command, base_url + SIGN_PATH], capture_output=True, text=True, check=True)
    return parse_wrk(result.stdout)


def uploader_env(moto_url: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "ap-northeast-1",
        "S3_BUCKET": BUCKET,
        "S3_PUBLIC_ENDPOINT_URL": "http://localhost:9876",
        "LOG_LEVEL": "WARNING",
    }


@contextlib.contextmanager
def gunicorn(app: str, extra_args: list[str], env: dict[str, str]) -> Iterator[str]:
    """A gunicorn from this venv on a free loopback port; yields its base URL, stops it by PID."""
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        *extra_args,
        "--bind",
        f"127.0.0.1:{port}",
        app,
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(f"http://127.0.0.1:{port}{SIGN_PATH}", 60)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def baseline_server(moto: MotoServer):
    """The issue's 1,989 req/s setup, measured under the same load as the uploader: a fair yardstick."""
    env = {**uploader_env(moto.url), "BENCH_S3_URL": moto.url, "BENCH_BUCKET": BUCKET}
    args = ["--workers", "2", "--no-control-socket"]
    return gunicorn("bench.uploader_reference:create_app()", args, env)


def venv_server(moto: MotoServer):
    return gunicorn("uploader:create_app()", ["-c", "uploader/gunicorn.conf.py"], uploader_env(moto.url))


def python_image() -> str:
    if os.environ.get("PYTHON_IMAGE"):
        return os.environ["PYTHON_IMAGE"]
    script = ROOT / "scripts" / "ensure-docker.sh"
    return subprocess.run([str(script)], capture_output=True, text=True, check=True).stdout.strip()


@contextlib.contextmanager
def container_server(moto: MotoServer) -> Iterator[str]:
    """The uploader image as compose runs it (its own CMD and gunicorn config), on a free loopback port."""
    build = ["docker", "build", "-q", "--build-arg", f"PYTHON_IMAGE={python_image()}", "-t", IMAGE]
    subprocess.run([*build, "--target", "uploader", "."], cwd=ROOT, check=True, capture_output=True)
    port = free_port()
    container = f"motostack-bench-uploader-{port}"
    env_args = [f"--env={variable}={value}" for variable, value in uploader_env(moto.url).items()]
    run = ["docker", "run", "-d", "--rm", "--name", container, "--network", "host"]
    bind = f"--env=GUNICORN_CMD_ARGS=--bind=127.0.0.1:{port}"
    subprocess.run([*run, bind, *env_args, IMAGE], check=True, stdout=subprocess.DEVNULL)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", 120)
        yield f"http://127.0.0.1:{port}"
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)


def median_of(results: list[dict]) -> dict:
    return {
        "rate": statistics.median(r["rate"] for r in results),
        "p50": statistics.median(r["p50"] for r in results),
        "p99": statistics.median(r["p99"] for r in results),
        "errors": sum(r["errors"] for r in results),
    }


def print_table(measured: list[tuple[str, dict]], args) -> None:
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"\nGET {SIGN_PATH}")
    print(
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, {args.rounds} alternating rounds, "
        f"medians; {os.cpu_count()} CPUs, load average at the end {load}"
    )
    print(f"{'setup':<72} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    print("-" * 108)
    for label, rate in QUOTED:
        print(f"{label:<72} {rate:9,.0f}")
    for label, result in measured:
        figures = f"{result['rate']:9,.0f} {result['p50']:8.2f} {result['p99']:8.2f} {result['errors']:7d}"
        print(f"{label:<72} {figures}")
    print(GOAL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.uploader", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="wrk runs per setup, alternating (default 3)")
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run (default 8)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--no-docker", action="store_true", help="serve the uploader from the dev venv")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench.uploader: wrk is missing; install it (Debian: apt-get install -y wrk)", file=sys.stderr)
        return 2
    use_docker = not args.no_docker and shutil.which("docker") is not None
    if use_docker and subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        print("bench.uploader: no Docker engine answers; serving the uploader from the venv", file=sys.stderr)
        use_docker = False

    moto = MotoServer()
    moto.start()
    try:
        uploader = container_server(moto) if use_docker else venv_server(moto)
        where = "image" if use_docker else "from the venv"
        with baseline_server(moto) as baseline_url, uploader as uploader_url:
            setups = [
                ("measured: reused client, gunicorn 2 workers, no validation", baseline_url),
                (f"measured: uploader {where}, gunicorn 2 sync workers, all validation", uploader_url),
            ]
            results: dict[str, list[dict]] = {label: [] for label, _ in setups}
            for _label, url in setups:
                check_answer(url)
                run_wrk(url, argparse.Namespace(threads=1, connections=2, duration=2))  # warm up
            for _ in range(args.rounds):
                for label, url in setups:
                    results[label].append(run_wrk(url, args))
    finally:
        moto.stop()
    print_table([(label, median_of(runs)) for label, runs in results.items()], args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
