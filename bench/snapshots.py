"""Snapshot and restore of all S3 state vs the ways a test suite resets S3 without them.

    python -m bench.snapshots [--sizes 100 10000] [--size 4096] [--rounds 5]

Per size, one gateway holds N objects of --size bytes in one bucket. Interleaved rounds time, as a
client sees them (HTTP round trip included): POST /_snapshots/<name>; POST /_snapshots/<name>/restore
after a tenth of the objects were overwritten, a tenth deleted and a bucket added; POST /_reset; and,
side by side, what a suite would do instead: Moto's own /moto-api/reset followed by a 16-thread boto3
upload of the same objects. Medians; the goals are <= 20 ms at 100 objects, <= 0.5 s at 10,000.
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from bench.common import MotoServer, fill, make_test_client, print_table

BUCKET = "snap-bench"


def post(url: str) -> float:
    started = time.perf_counter()
    response = requests.post(url, timeout=120)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed


def change_some(client, keys: list[str]) -> None:
    tenth = max(1, len(keys) // 10)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda key: client.put_object(Bucket=BUCKET, Key=key, Body=b"changed"), keys[:tenth]))
        list(pool.map(lambda key: client.delete_object(Bucket=BUCKET, Key=key), keys[tenth : 2 * tenth]))
    client.create_bucket(Bucket=f"{BUCKET}-later", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})


def measure(objects: int, size: int, rounds: int) -> list[list[str]]:
    server = MotoServer(env={"LOG_LEVEL": "WARNING"})
    server.start()
    try:
        client = make_test_client(server.url)
        fill(client, [BUCKET], objects, size)
        keys = [item["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
                for item in page.get("Contents", [])]
        body = b"\0" * size
        snapshot, restore, reset, reupload = [], [], [], []
        for index in range(rounds):
            snapshot.append(post(f"{server.url}/_snapshots/bench-{index}"))
            change_some(client, keys)
            restore.append(post(f"{server.url}/_snapshots/bench-{index}/restore"))
            assert client.list_objects_v2(Bucket=BUCKET)["KeyCount"] == min(objects, 1000)
            reset.append(post(f"{server.url}/_reset"))
            started = time.perf_counter()
            post(f"{server.url}/moto-api/reset")
            client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
            with ThreadPoolExecutor(16) as pool:
                list(pool.map(lambda key: client.put_object(Bucket=BUCKET, Key=key, Body=body), keys))
            reupload.append(time.perf_counter() - started)
            requests.delete(f"{server.url}/_snapshots/bench-{index}", timeout=30)

        def row(name: str, times: list[float], goal: str) -> list[str]:
            median = statistics.median(times)
            return [f"{objects:,}", name, f"{median * 1000:.1f}", f"{min(times) * 1000:.1f}", goal,
                    f"{statistics.median(reupload) / median:.0f}x"]

        goal = "<= 20 ms" if objects <= 100 else "<= 500 ms"
        return [
            row("POST /_snapshots/<name>", snapshot, goal),
            row("POST /_snapshots/<name>/restore", restore, goal),
            row("POST /_reset", reset, ""),
            row("/moto-api/reset + 16-thread boto3 re-upload", reupload, ""),
        ]
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rows = []
    for objects in args.sizes:
        rows += measure(objects, args.size, args.rounds)
    print_table(
        f"Snapshots of {args.size} B objects, median of {args.rounds} interleaved rounds (client-side, HTTP included)",
        ["objects", "operation", "median ms", "best ms", "goal", "vs re-upload"],
        rows,
    )


if __name__ == "__main__":
    main()
