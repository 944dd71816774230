"""What keeping S3's state on disk costs and what it buys (issue 24).

    python -m bench.durability [--rounds 3] [--seconds 3] [--objects 10000,100000] [--kills 10] [--quick]

1. Acknowledged writes lost under repeated kill -9: 4 client threads PUT new keys to a gateway with
   GATEWAY_STATE_DIR (fsync always, then batch); the process is killed (-9) at a random instant, restarted
   on the same folder, and every key whose PUT was answered 200 is looked up. `--kills` rounds each.
2. PUT of 1 KiB at 8 keep-alive connections (wrk, presigned URLs, as bench.endpoint): bare Moto, the
   memory-only gateway, and the gateway with GATEWAY_FSYNC=always, batch and off, interleaved rounds,
   medians. Goal: always >= 80% of the memory-only requests/s.
3. Restart time against object count: a state folder holding N objects of 1 KiB (put through
   /_bulk/import), the gateway killed (-9), then the time from starting the process to the first answered
   GetObject. Goal: 100,000 objects serving within 5 s.
4. State folder size against the bytes stored, at three object sizes: the folder holding only the bucket
   (the constant), then with the objects (what each costs beyond its bytes). Goal: at most 10% over,
   plus a small constant.
State folders are temporary folders on the disk that holds TMPDIR.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from botocore.exceptions import ClientError

from bench.common import MotoServer, make_test_client, print_table
from bench.endpoint import BUCKET, Target, run_wrk
from common.bulk_tar import BucketEntry, ObjectEntry, write_archive

REGION = {"LocationConstraint": "ap-northeast-1"}
LOADED = re.compile(r"snapshot\(s\) in ([0-9.]+) s \(([0-9.]+) s of CPU")
NO_RETRIES = {"max_attempts": 1, "mode": "standard"}


def gateway(env: dict[str, str], bare: bool = False) -> MotoServer:
    server = MotoServer(env={"GATEWAY_ALLOW_ANONYMOUS": "true", **env})
    if bare:
        server.command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(server.port)]
    server.start(timeout=120)
    return server


# ----- 1. writes lost under kill -9 ---------------------------------------------------------------------


def lost_under_kills(fsync: str, kills: int, work: Path) -> tuple[int, int]:
    folder = work / f"kills-{fsync}"
    server = gateway({"GATEWAY_STATE_DIR": str(folder), "GATEWAY_FSYNC": fsync})
    make_test_client(server.url).create_bucket(Bucket="kills", CreateBucketConfiguration=REGION)
    acknowledged: list[str] = []
    lock = threading.Lock()
    rng = random.Random(24)
    try:
        for round_number in range(kills):
            stop = threading.Event()
            clients = [make_test_client(server.url, retries=NO_RETRIES) for _ in range(4)]

            def writer(index: int, s3, stop=stop, round_number=round_number) -> None:
                counter = 0
                while not stop.is_set():
                    key = f"r{round_number}/w{index}/{counter}"
                    counter += 1
                    try:
                        s3.put_object(Bucket="kills", Key=key, Body=key.encode() * 8)
                    except Exception:  # noqa: BLE001 (killed under the request: not acknowledged)
                        return
                    with lock:
                        acknowledged.append(key)

            threads = [threading.Thread(target=writer, args=(i, c)) for i, c in enumerate(clients)]
            for thread in threads:
                thread.start()
            time.sleep(rng.uniform(0.2, 1.0))
            server.kill()
            stop.set()
            for thread in threads:
                thread.join(30)
            server.start(timeout=120)
        s3 = make_test_client(server.url)
        held = set()
        paginator = s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket="kills"):
            held.update(entry["Key"] for entry in page.get("Contents", []))
        return len(acknowledged), sum(1 for key in acknowledged if key not in held)
    finally:
        server.stop()


# ----- 2. PUT rate ---------------------------------------------------------------------------------------


def put_target(name: str, server: MotoServer) -> Target:
    s3 = make_test_client(server.url)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration=REGION)
    url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "put"}, ExpiresIn=7200)
    target = Target(name, server.url, "test", "test", server.stop)
    target.urls = {"PUT": ("PUT", url)}
    return target


def put_rates(rounds: int, seconds: int, work: Path) -> list[list[str]]:
    configurations = [
        ("bare Moto", {}, True),
        ("gateway, memory only", {}, False),
        (
            "gateway, fsync=always",
            {"GATEWAY_STATE_DIR": str(work / "rate-always"), "GATEWAY_FSYNC": "always"},
            False,
        ),
        (
            "gateway, fsync=batch",
            {"GATEWAY_STATE_DIR": str(work / "rate-batch"), "GATEWAY_FSYNC": "batch"},
            False,
        ),
        ("gateway, fsync=off", {"GATEWAY_STATE_DIR": str(work / "rate-off"), "GATEWAY_FSYNC": "off"}, False),
    ]
    targets = [put_target(name, gateway(env, bare)) for name, env, bare in configurations]
    results: dict[str, list[dict]] = {target.name: [] for target in targets}
    try:
        for target in targets:
            run_wrk(target, "PUT", 8, False, 1)  # warm-up
        for _ in range(rounds):
            for target in targets:
                results[target.name].append(run_wrk(target, "PUT", 8, False, seconds))
    finally:
        for target in targets:
            target.stop()
    memory = statistics.median(r["rps"] for r in results["gateway, memory only"])
    rows = []
    for target in targets:
        runs = results[target.name]
        rps = statistics.median(r["rps"] for r in runs)
        rows.append(
            [
                target.name,
                f"{rps:,.0f}",
                f"{statistics.median(r['p50_ms'] for r in runs):.1f}",
                f"{statistics.median(r['p99_ms'] for r in runs):.1f}",
                f"{rps / memory:.0%}",
            ]
        )
    return rows


# ----- 3. restart time, 4. size --------------------------------------------------------------------------


def populate(server: MotoServer, count: int, size: int, bucket: str = "restart") -> None:
    """`count` objects of `size` bytes through /_bulk/import, in imports of at most 64 MiB."""
    batch = max(1, min(count, (64 * 1024 * 1024) // max(size, 1), 20_000))
    for start in range(0, count, batch):
        answer = requests.post(
            f"{server.url}/_bulk/import",
            data=batch_archive(start, min(batch, count - start), size, bucket),
            timeout=600,
        )
        answer.raise_for_status()


def batch_archive(start: int, count: int, size: int, bucket: str) -> bytes:
    body = os.urandom(size)

    def members():
        yield BucketEntry(bucket, "ap-northeast-1")
        for index in range(start, start + count):
            yield ObjectEntry(bucket, f"data/{index // 1000:04d}/object-{index:06d}.bin", size), [body]

    return b"".join(write_archive(members()))


def restart_seconds(server: MotoServer, key: str) -> float:
    """kill -9, then the time from starting the process to the first S3 answer that is not a 5xx
    (HeadObject of `key`: 200 once loaded; 404 on a memory-only gateway, which has nothing to load)."""
    server.kill()
    s3 = make_test_client(server.url, retries=NO_RETRIES)
    started = time.perf_counter()
    with open(server.log_path, "ab") as log:  # the gateway logs how long its load took
        process = subprocess.Popen(
            server.command, cwd=server.checkout, env=server.env, stdout=log, stderr=subprocess.STDOUT
        )
    server.process = process
    while True:
        try:
            s3.head_object(Bucket="restart", Key=key)
            return time.perf_counter() - started
        except ClientError as exc:
            if exc.response["ResponseMetadata"]["HTTPStatusCode"] < 500:
                return time.perf_counter() - started
        except Exception:  # noqa: BLE001 (not bound yet)
            if process.poll() is not None:
                raise RuntimeError("the gateway exited during the restart") from None
        time.sleep(0.02)


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_blocks * 512 for path in folder.rglob("*") if path.is_file())


def restarts(counts: list[int], rounds: int, work: Path) -> list[list[str]]:
    rows = []
    for count in counts:
        folder = work / f"restart-{count}"
        server = gateway({"GATEWAY_STATE_DIR": str(folder)})
        try:
            populate(server, count, 1024)
            last = f"data/{(count - 1) // 1000:04d}/object-{count - 1:06d}.bin"
            times = [restart_seconds(server, last) for _ in range(rounds)]
            loads = LOADED.findall(server.log_path.read_text())[-rounds:]
            memory_only = gateway({})
            try:
                bare_start = [restart_seconds(memory_only, last) for _ in range(rounds)]
            finally:
                memory_only.stop()
            rows.append(
                [
                    f"{count:,}",
                    f"{statistics.median(times):.2f}",
                    f"{max(times):.2f}",
                    f"{statistics.median(bare_start):.2f}",
                    f"{statistics.median(float(wall) for wall, _cpu in loads):.2f}",
                    f"{statistics.median(float(cpu) for _wall, cpu in loads):.2f}",
                    f"{folder_bytes(folder) / 2**20:,.1f}",
                ]
            )
        finally:
            server.stop()
    return rows


def sizes(work: Path) -> list[list[str]]:
    """Each folder measured twice, stopped cleanly each time (the WAL folded in): holding only its bucket
    (the constant: a page per table), then holding the objects too (their cost, per object)."""
    rows = []
    for count, size in ((10_000, 1024), (2_000, 64 * 1024), (100, 1024 * 1024)):
        folder = work / f"size-{size}"
        server = gateway({"GATEWAY_STATE_DIR": str(folder)})
        try:
            make_test_client(server.url).create_bucket(Bucket="sizes", CreateBucketConfiguration=REGION)
            server.stop()
            constant = folder_bytes(folder)
            server.start(timeout=120)
            populate(server, count, size, bucket="sizes")
        finally:
            server.stop()
        stored = count * size
        on_disk = folder_bytes(folder)
        per_object = (on_disk - constant - stored) / count
        rows.append(
            [
                f"{count:,} x {size // 1024} KiB",
                f"{stored / 2**20:,.1f}",
                f"{on_disk / 2**20:,.1f}",
                f"{on_disk / stored - 1:+.0%}",
                f"{constant / 2**10:,.0f}",
                f"{per_object:,.0f}",
                f"{per_object / size:+.1%}",
            ]
        )
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--objects", default="10000,100000")
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="1 round of 1 s, 1,000 objects, 3 kills")
    parser.add_argument("--only", default="lost,put,restart,size")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.objects, args.kills = 1, 1, "1000", 3
    only = set(args.only.split(","))
    work = Path(tempfile.mkdtemp(prefix="bench-durability-"))
    try:
        if "lost" in only:
            rows = []
            for fsync in ("always", "batch"):
                acknowledged, lost = lost_under_kills(fsync, args.kills, work)
                rows.append([f"fsync={fsync}", str(args.kills), f"{acknowledged:,}", str(lost)])
            print_table(
                "Acknowledged PUTs lost under kill -9 (4 writers, killed at random instants)",
                ["gateway", "kills", "acknowledged", "lost"],
                rows,
            )
        if "put" in only:
            print_table(
                f"PUT 1 KiB, 8 keep-alive connections (wrk), medians of {args.rounds} interleaved rounds of "
                f"{args.seconds} s",
                ["server", "req/s", "p50 ms", "p99 ms", "vs memory-only"],
                put_rates(args.rounds, args.seconds, work),
            )
        if "restart" in only:
            counts = [int(value) for value in args.objects.split(",")]
            print_table(
                "Restart after kill -9: process start to the first answered HeadObject (1 KiB objects)",
                ["objects", "median s", "max s", "memory-only start s", "load s", "load CPU s", "folder MiB"],
                restarts(counts, args.rounds, work),
            )
        if "size" in only:
            print_table(
                "State folder size against the bytes stored",
                ["objects", "stored MiB", "folder MiB", "overhead", "constant KiB", "B per object",
                 "per object"],
                sizes(work),
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
