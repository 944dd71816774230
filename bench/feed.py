"""Put-to-file latency and idle cost: the exporter following the change feed vs polling.

    python -m bench.feed [--objects 10000] [--puts 100] [--idle-seconds 30]

Starts a gateway, fills one bucket with --objects objects, then runs `python -m exporter` at default
settings twice: following the change feed (CHANGE_FEED=true, the default) and polling (CHANGE_FEED=false,
EXPORT_INTERVAL=15, the reference behaviour). For each: the latency from a put_object's return to its file
existing (p50, p95, max over --puts puts 200 ms apart with the feed; 5 puts at random moments when
polling), and the CPU the idle exporter uses (from
/proc, over --idle-seconds after the initial full pass), for the object counts in --idle-counts.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, MotoServer, make_test_client, merged_env, percentile, print_table, wait_for

BUCKET = "feed-bench"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def start_exporter(moto: MotoServer, export_dir: Path, follow_feed: bool) -> subprocess.Popen:
    env = {"AWS_ENDPOINT_URL": moto.url, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "EXPORT_DIR": str(export_dir), "REQUIRED_BUCKETS": "", "HEALTH_PORT": "0", "LOG_LEVEL": "WARNING",
           "CHANGE_FEED": "true" if follow_feed else "false"}
    return subprocess.Popen([sys.executable, "-m", "exporter"], cwd=ROOT, env=merged_env(env),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)



def measure(moto: MotoServer, client, objects: int, follow_feed: bool, puts: int, idle_seconds: float,
            work: Path) -> tuple[list[float], float]:
    export_dir = work / ("feed" if follow_feed else "poll")
    shutil.rmtree(export_dir, ignore_errors=True)
    process = start_exporter(moto, export_dir, follow_feed)
    try:
        if wait_for(lambda: len(list((export_dir / BUCKET).glob("data/*/*"))) >= objects, 900, 0.5) is None:
            raise RuntimeError("the initial pass never finished")
        time.sleep(3)
        idle_start = cpu_seconds(process.pid)
        time.sleep(idle_seconds)
        idle = (cpu_seconds(process.pid) - idle_start) / idle_seconds * 100
        latencies = []
        rng = random.Random(puts)
        for index in range(puts):
            key = f"fresh/{'feed' if follow_feed else 'poll'}-{objects}-{index}.txt"
            client.put_object(Bucket=BUCKET, Key=key, Body=b"new")
            latency = wait_for(lambda: (export_dir / BUCKET / key).exists(), 40)
            latencies.append(latency if latency is not None else float("inf"))
            # Polling: puts at random moments of the 15 s cycle, or every put would land just after a pass.
            time.sleep(0.2 if follow_feed else rng.uniform(0, 15))
        return latencies, idle
    finally:
        process.terminate()
        process.wait(timeout=30)



def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=10000, help="objects in the bucket for the latency runs")
    parser.add_argument("--idle-counts", default="1000,10000", help="object counts for the idle-cost table")
    parser.add_argument("--puts", type=int, default=100)
    parser.add_argument("--idle-seconds", type=float, default=30)
    args = parser.parse_args()
    counts = sorted({int(count) for count in args.idle_counts.split(",")} | {args.objects})
    moto = MotoServer()
    moto.start()
    work = Path(tempfile.mkdtemp(prefix="bench-feed-"))
    try:
        client = make_test_client(moto.url)
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
        latency_rows, idle_rows, filled = [], [], 0
        for count in counts:
            print(f"filling to {count} objects ...", flush=True)
            fill_more(client, filled, count)
            filled = count
            for follow_feed in (True, False):
                mode = "change feed (default)" if follow_feed else "polling, EXPORT_INTERVAL=15"
                # Polling takes up to EXPORT_INTERVAL per put: a few puts show it; the feed gets all of them.
                puts = args.puts if count == args.objects and follow_feed else 5
                latencies, idle = measure(moto, client, count, follow_feed, puts, args.idle_seconds, work)
                print(f"  {count} objects, {mode}: p50 {statistics.median(latencies):.3f} s, idle {idle:.2f}% "
                      f"of a core", flush=True)
                idle_rows.append([f"{count}", mode, f"{idle:.2f}"])
                if count == args.objects:
                    latency_rows.append([mode, f"{percentile(latencies, 0.5):.3f}", f"{percentile(latencies, 0.95):.3f}",
                                         f"{max(latencies):.3f}"])
        print_table(f"Put-to-file latency, {args.objects} objects in the bucket, {args.puts} puts",
                    ["exporter", "p50 (s)", "p95 (s)", "max (s)"], latency_rows)
        print_table(f"Idle exporter CPU over {args.idle_seconds:g} s", ["objects", "exporter", "% of one core"],
                    idle_rows)
    finally:
        moto.stop()
        shutil.rmtree(work, ignore_errors=True)


def fill_more(client, have: int, want: int) -> None:
    from concurrent.futures import ThreadPoolExecutor

    body = os.urandom(256)
    keys = [f"data/{index // 1000:03d}/object-{index:06d}" for index in range(have, want)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda key: client.put_object(Bucket=BUCKET, Key=key, Body=body), keys))


if __name__ == "__main__":
    main()
