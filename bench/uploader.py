"""Benchmark of the uploader's GET /sign_s3/ with wrk, next to the reference design.

    python -m bench.uploader [--duration 10] [--connections 8] [--threads 2] [--no-docker]

Runs, one after the other, on this machine (the reference design itself, 87 req/s, is only quoted):
  1. the issue's faster baseline (the reference /sign_s3/ with one reused client under gunicorn, 2 workers,
     no validation), as a yardstick measured under the same machine load;
  2. the uploader image (uploader/Dockerfile) under its own gunicorn, 2 sync workers, all validation on;
  3. with --no-docker or without a Docker engine: the same app and gunicorn config from the dev venv.
A real Moto server (`python -m moto_gateway`) runs on a free loopback port for the start-up bucket set-up.
Needs wrk (Debian: apt-get install -y wrk). Prints a table next to the figures in issue 4.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.moto_server import MotoServer, free_port

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "motostack-uploader:bench"
BUCKET = "bench-uploads"
SIGN_PATH = "/sign_s3/?file_name=avatar.png&file_type=image/png&file_size=123456"
REFERENCE_FIGURES = [
    ("issue 4: reference design (new client per request, Flask dev server)", 87.0, None, None),
    ("issue 4: reused client, gunicorn 2 workers", 1989.0, None, None),
]
GOAL = "goal: >= 1,500 req/s with all validation, p99 < 20 ms"


def parse_wrk(output: str) -> dict:
    """Requests/s, p50 and p99 in ms, and the non-2xx count from `wrk --latency` output."""

    def ms(text: str) -> float:
        value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]

    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
    p99 = ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "rate": rate,
        "p50": p50,
        "p99": p99,
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
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
    check_answer(base_url)
    subprocess.run(["wrk", "-t1", "-c2", "-d2s", base_url + SIGN_PATH], capture_output=True, check=True)
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--latency",
        base_url + SIGN_PATH,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return parse_wrk(result.stdout)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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


def bench_reference(moto: MotoServer, args) -> dict:
    """The issue's 1,989 req/s setup, measured now on this machine, so the uploader has a fair yardstick."""
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [
            str(gunicorn),
            "--workers",
            "2",
            "--no-control-socket",
            "--bind",
            f"127.0.0.1:{port}",
            "bench.uploader_reference:create_app()",
        ],
        cwd=ROOT,
        env={**os.environ, **uploader_env(moto.url), "BENCH_S3_URL": moto.url, "BENCH_BUCKET": BUCKET},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}{SIGN_PATH}", 60)
        return run_wrk(f"http://127.0.0.1:{port}", args)
    finally:
        stop(process)


def bench_venv_gunicorn(moto: MotoServer, args) -> dict:
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [
            str(gunicorn),
            "-c",
            "uploader/gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "uploader:create_app()",
        ],
        cwd=ROOT,
        env={**os.environ, **uploader_env(moto.url)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", 60)
        return run_wrk(f"http://127.0.0.1:{port}", args)
    finally:
        stop(process)


def python_image() -> str:
    if os.environ.get("PYTHON_IMAGE"):
        return os.environ["PYTHON_IMAGE"]
    result = subprocess.run(
        [str(ROOT / "scripts/ensure-docker.sh")], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def bench_container(moto: MotoServer, args) -> dict:
    """The image as compose runs it; host networking, so wrk measures gunicorn, not Docker's port proxy."""
    subprocess.run(
        [
            "docker",
            "build",
            "-q",
            "--build-arg",
            f"PYTHON_IMAGE={python_image()}",
            "-t",
            IMAGE,
            "-f",
            "uploader/Dockerfile",
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    port = free_port()
    name = f"motostack-bench-uploader-{port}"
    env_args = [f"--env={name}={value}" for name, value in uploader_env(moto.url).items()]
    subprocess.run(
        [
            "docker",
            "run",
            "-d",
            "--rm",
            "--name",
            name,
            "--network",
            "host",
            f"--env=GUNICORN_CMD_ARGS=--bind=127.0.0.1:{port}",
            *env_args,
            IMAGE,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", 120)
        return run_wrk(f"http://127.0.0.1:{port}", args)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def print_table(rows: list[tuple[str, float, float | None, float | None]], args) -> None:
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"\nGET {SIGN_PATH}   wrk -t{args.threads} -c{args.connections} -d{args.duration}s")
    print(f"{os.cpu_count()} CPUs, load average at the end {load} (other work lowers every figure)")
    print(f"{'setup':<78} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    print("-" * 106)
    for label, rate, p50, p99 in rows:
        p50_text = f"{p50:8.2f}" if p50 is not None else f"{'':>8}"
        p99_text = f"{p99:8.2f}" if p99 is not None else f"{'':>8}"
        print(f"{label:<78} {rate:9,.0f} {p50_text} {p99_text}")
    print(GOAL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.uploader", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--no-docker", action="store_true", help="measure gunicorn from the dev venv instead")
    parser.add_argument("--skip-reference", action="store_true", help="do not measure the baseline")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench.uploader: wrk is missing; install it (Debian: apt-get install -y wrk)", file=sys.stderr)
        return 2
    use_docker = not args.no_docker and shutil.which("docker") is not None
    if use_docker and subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        print("bench.uploader: no Docker engine answers; measuring gunicorn from the venv", file=sys.stderr)
        use_docker = False

    moto = MotoServer()
    moto.start()
    rows: list[tuple[str, float, float | None, float | None]] = list(REFERENCE_FIGURES)
    measured = []
    try:
        if not args.skip_reference:
            result = bench_reference(moto, args)
            measured.append(
                ("measured: reused client, gunicorn 2 workers, no validation (issue's 2nd)", result)
            )
        if use_docker:
            result = bench_container(moto, args)
            measured.append(("measured: uploader image, gunicorn 2 sync workers, all validation", result))
        else:
            result = bench_venv_gunicorn(moto, args)
            measured.append(
                ("measured: uploader from the venv, gunicorn 2 sync workers, all validation", result)
            )
    finally:
        moto.stop()
    for label, result in measured:
        if result["non_2xx"] or result["socket_errors"]:
            label += f" [non-2xx {result['non_2xx']}; socket errors {result['socket_errors'] or 0}]"
        rows.append((label, result["rate"], result["p50"], result["p99"]))
    print_table(rows, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
