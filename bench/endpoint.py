"""Requests per second of the S3 endpoint: bare Moto, the moto service and s3rver side by side.

    python -m bench.endpoint [--rounds 3] [--seconds 2] [--quick] [--connections 1,8,32] [--baseline DIR]

Servers, each on a free loopback port: bare `python -m moto.server` (same Moto version), the moto service
(`python -m moto_gateway`, validation and change feed on, as shipped) and s3rver (npm, another emulator
users pick; `cd bench && npm install --no-save s3rver@3.7.1` puts it in bench/node_modules, ignored by git;
skipped with a note when missing). `--baseline DIR` adds the moto service of another checkout of this
repository (e.g. `git worktree add /tmp/motostack-main main`) as one more server in the same interleaved
rounds: a before/after comparison of a change in one run.

Load: wrk (Debian) with bench/wrk/request.lua, which signs nothing: every request is a presigned URL
(SigV4 in the query, made once by boto3), so the gateway checks its signature on every request. Requests:
1 KiB GetObject, PutObject, DeleteObject, ListObjectsV2 of 100 keys; at each number of connections,
with keep-alive and with `Connection: close` (wrk cannot time HEAD: it waits for the body a HEAD answer's
Content-Length announces). Each round runs every cell against every server
in turn (interleaved), the table shows medians of requests/s and of wrk's p50/p99 latency. A second table
runs a multi-process boto3 client (header-signed requests, what users' code sends, keep-alive), HEAD
included.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from testkit.clients import make_test_client
from testkit.servers import ROOT, MotoServer, free_port

WRK_SCRIPT = ROOT / "bench" / "wrk" / "request.lua"
S3RVER_BIN = ROOT / "bench" / "node_modules" / ".bin" / "s3rver"
BUCKET = "bench"
BODY_BYTES = 1024
LISTED_KEYS = 100
OPERATIONS = ["GET", "HEAD", "PUT", "DELETE", "LIST"]
WRK_OPERATIONS = ["GET", "PUT", "DELETE", "LIST"]
"""wrk cannot time HEAD: its parser waits for the body a HEAD answer's Content-Length announces."""


@dataclass
class Target:
    """A running server and the presigned URL of each operation against it."""

    name: str
    url: str
    key: str
    secret: str
    stop: object
    urls: dict[str, tuple[str, str]] = field(default_factory=dict)

    def client(self):
        return make_test_client(self.url, key=self.key, secret=self.secret)


def start_moto(name: str, bare: bool, checkout: Path | None = None) -> Target:
    server = MotoServer(env={"GATEWAY_ALLOW_ANONYMOUS": "true"}, checkout=checkout)
    if bare:
        server.command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(server.port)]
    server.start()
    return Target(name, server.url, "test", "test", server.stop)


def start_s3rver() -> Target | None:
    if not S3RVER_BIN.exists():
        missing = S3RVER_BIN.relative_to(ROOT)
        print(f"s3rver skipped: {missing} missing (see the module docstring)", file=sys.stderr)
        return None
    port = free_port()
    folder = tempfile.mkdtemp(prefix="bench-s3rver-")
    process = subprocess.Popen(
        [str(S3RVER_BIN), "-d", folder, "-a", "127.0.0.1", "-p", str(port), "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def stop() -> None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)

    target = Target("s3rver", f"http://127.0.0.1:{port}", "S3RVER", "S3RVER", stop)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            target.client().list_buckets()
            return target
        except Exception:  # noqa: BLE001 (not up yet)
            time.sleep(0.2)
    stop()
    raise RuntimeError("s3rver did not start within 30 s")


def prepare(target: Target) -> None:
    s3 = target.client()
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    body = os.urandom(BODY_BYTES)
    for index in range(LISTED_KEYS):
        s3.put_object(Bucket=BUCKET, Key=f"list/{index:03d}", Body=body)
    s3.put_object(Bucket=BUCKET, Key="get", Body=body)

    def presign(method: str, **params) -> str:
        return s3.generate_presigned_url(method, Params={"Bucket": BUCKET, **params}, ExpiresIn=7200)

    target.urls = {
        "GET": ("GET", presign("get_object", Key="get")),
        "PUT": ("PUT", presign("put_object", Key="put")),
        "DELETE": ("DELETE", presign("delete_object", Key="deleted")),
        "LIST": ("GET", presign("list_objects_v2", Prefix="list/")),
    }


def run_wrk(target: Target, operation: str, connections: int, close: bool, seconds: int) -> dict:
    method, url = target.urls[operation]
    env = {
        **os.environ,
        "WRK_METHOD": method,
        "WRK_BODY_BYTES": str(BODY_BYTES if operation == "PUT" else 0),
        "WRK_CONNECTION_CLOSE": "1" if close else "0",
    }
    command = [
        "wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
        "-s", str(WRK_SCRIPT), url,
    ]
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    result = json.loads(output.strip().splitlines()[-1])
    result["rps"] = (result["requests"] - result["non2xx"] - result["socket_errors"]) / result["seconds"]
    return result


def boto3_worker(url: str, key: str, secret: str, operation: str, seconds: float, counts) -> None:
    s3 = make_test_client(url, key=key, secret=secret)
    body = os.urandom(BODY_BYTES)
    deadline = time.monotonic() + seconds
    done = 0
    calls = {
        "GET": lambda: s3.get_object(Bucket=BUCKET, Key="get")["Body"].read(),
        "HEAD": lambda: s3.head_object(Bucket=BUCKET, Key="get"),
        "PUT": lambda: s3.put_object(Bucket=BUCKET, Key=f"boto3/{os.getpid()}", Body=body),
        "DELETE": lambda: s3.delete_object(Bucket=BUCKET, Key=f"deleted/{os.getpid()}"),
        "LIST": lambda: s3.list_objects_v2(Bucket=BUCKET, Prefix="list/"),
    }
    call = calls[operation]
    while time.monotonic() < deadline:
        call()
        done += 1
    counts.put(done)


def run_boto3(target: Target, operation: str, processes: int, seconds: float) -> float:
    counts = multiprocessing.get_context("spawn").Queue()
    workers = [
        multiprocessing.get_context("spawn").Process(
            target=boto3_worker, args=(target.url, target.key, target.secret, operation, seconds, counts)
        )
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    total = sum(counts.get(timeout=seconds + 60) for _ in workers)
    for worker in workers:
        worker.join()
    return total / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=2, help="length of each wrk run")
    parser.add_argument("--connections", default="1,8,32")
    parser.add_argument("--operations", default=",".join(WRK_OPERATIONS), help="wrk requests")
    parser.add_argument("--boto3-processes", type=int, default=4, help="0 skips the boto3 table")
    parser.add_argument("--quick", action="store_true", help="one round of 1 s runs (a smoke run)")
    parser.add_argument("--baseline", type=Path, help="another checkout whose moto service runs alongside")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install wrk", file=sys.stderr)
        return 2
    rounds, seconds = (1, 1) if args.quick else (args.rounds, args.seconds)
    connection_counts = [int(count) for count in args.connections.split(",")]
    operations = args.operations.split(",")
    targets: list[Target] = []
    try:
        targets.append(start_moto("bare Moto", bare=True))
        targets.append(start_moto("moto service", bare=False))
        if args.baseline:
            targets.append(start_moto("baseline service", bare=False, checkout=args.baseline.resolve()))
        s3rver = start_s3rver()
        if s3rver:
            targets.append(s3rver)
        for target in targets:
            prepare(target)
        cells = [
            (op, conns, close) for op in operations for conns in connection_counts for close in (False, True)
        ]
        results: dict[tuple, list[dict]] = {}
        boto3_results: dict[tuple, list[float]] = {}
        for round_number in range(rounds):
            print(f"round {round_number + 1}/{rounds}", file=sys.stderr)
            for cell in cells:
                for target in targets:
                    results.setdefault((*cell, target.name), []).append(run_wrk(target, *cell, seconds))
            for operation in OPERATIONS if args.boto3_processes else []:
                for target in targets:
                    boto3_results.setdefault((operation, target.name), []).append(
                        run_boto3(target, operation, args.boto3_processes, seconds)
                    )
    finally:
        for target in targets:
            target.stop()

    names = [target.name for target in targets]
    print(
        f"\nwrk, presigned URLs, 1 KiB bodies, median of {rounds} rounds of {seconds:g} s, "
        f"{os.cpu_count()} CPUs (shared: figures are noisy); rps = 2xx answers per second"
    )
    header = "| request | conns | connection | " + " | ".join(f"{name} rps (p50/p99 ms)" for name in names)
    header += " | service / bare |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for operation, conns, close in cells:
        row = {name: results[(operation, conns, close, name)] for name in names}
        medians = {
            name: (
                statistics.median(r["rps"] for r in runs),
                statistics.median(r["p50_ms"] for r in runs),
                statistics.median(r["p99_ms"] for r in runs),
                sum(r["non2xx"] + r["socket_errors"] for r in runs),
            )
            for name, runs in row.items()
        }
        cells_text = " | ".join(
            f"{rps:,.0f} ({p50:.1f}/{p99:.1f})" + (f" [{bad} failed]" if bad else "")
            for rps, p50, p99, bad in medians.values()
        )
        ratio = medians["moto service"][0] / max(medians["bare Moto"][0], 1e-9)
        mode = "close" if close else "keep-alive"
        print(f"| {operation} | {conns} | {mode} | {cells_text} | {ratio:.2f}x |")
    if not args.boto3_processes:
        return 0
    print(
        f"\nboto3, {args.boto3_processes} processes, header-signed, 1 KiB, median of {rounds} rounds (ops/s)"
    )
    print("| request | " + " | ".join(names) + " | service / bare |")
    print("|" + "---|" * (len(names) + 2))
    for operation in OPERATIONS:
        medians = {name: statistics.median(boto3_results[(operation, name)]) for name in names}
        line = " | ".join(f"{medians[name]:,.0f}" for name in names)
        print(f"| {operation} | {line} | {medians['moto service'] / medians['bare Moto']:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
