"""The mirror under a busy test suite's load (issue 18): many clients putting and deleting at once.

    python -m bench.load [--clients 20] [--seconds 30] [--rate 150] [--objects 0]

A gateway and the exporter daemon (default settings, DELETE_SYNC=true, following the change feed);
--clients threads, each with its own boto3 client, together send --rate operations per second for
--seconds: 60% puts of new keys (1-4 KiB), 15% overwrites of one of the client's keys, 25% deletes of
one. A watcher notes, for each put, when its file first holds the bytes just put (put->file lag; a put
overwritten or deleted before it shows is not counted). After the load: how long until the mirror equals
what the clients were told S3 holds (convergence). /healthz is sampled twice a second throughout.
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
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.common import ROOT, MotoServer, make_test_client, merged_env, percentile, print_table, wait_for
from bench.exporter_sync import AWS_ENV
from testkit.servers import free_port

BUCKET = "load-bench"


class Watcher:
    """Puts not yet seen in the mirror, checked every few milliseconds."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lock = threading.Lock()
        self.pending: dict[str, tuple[float, bytes]] = {}
        self.lags: list[float] = []
        self.stop = threading.Event()

    def put(self, key: str, body: bytes, at: float) -> None:
        with self.lock:
            self.pending[key] = (at, body)

    def deleted(self, key: str) -> None:
        with self.lock:
            self.pending.pop(key, None)

    def run(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                items = list(self.pending.items())
            for key, (at, body) in items:
                try:
                    seen = (self.root / key).read_bytes() == body
                except OSError:
                    seen = False
                if seen:
                    now = time.perf_counter()
                    with self.lock:
                        if self.pending.get(key, (None,))[0] == at:
                            del self.pending[key]
                            self.lags.append(now - at)
            time.sleep(0.005)


def client_loop(index: int, url: str, interval: float, until: float, watcher: Watcher, state: dict[str, bytes],
                counts: dict[str, int], lock: threading.Lock) -> None:
    client = make_test_client(url)
    rng = random.Random(index)
    mine: list[str] = []
    serial = 0
    next_at = time.perf_counter() + rng.uniform(0, interval)
    while True:
        now = time.perf_counter()
        if now >= until:
            return
        if next_at > now:
            time.sleep(next_at - now)
        next_at += interval
        roll = rng.random()
        if mine and roll < 0.25:
            key = mine.pop(rng.randrange(len(mine)))
            client.delete_object(Bucket=BUCKET, Key=key)
            watcher.deleted(key)
            with lock:
                state.pop(key, None)
                counts["delete"] += 1
            continue
        if mine and roll < 0.40:
            key = rng.choice(mine)
        else:
            serial += 1
            key = f"load/c{index:02d}/k{serial:06d}"
            mine.append(key)
        body = os.urandom(rng.randint(1024, 4096))
        client.put_object(Bucket=BUCKET, Key=key, Body=body)
        watcher.put(key, body, time.perf_counter())
        with lock:
            state[key] = body
            counts["put"] += 1


def mirror_equals(root: Path, state: dict[str, bytes]) -> bool:
    files = {str(path.relative_to(root)): path for path in root.rglob("*") if path.is_file()}
    if files.keys() != state.keys():
        return False
    return all(files[key].read_bytes() == body for key, body in state.items())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rate", type=float, default=150, help="operations per second, all clients together")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    moto = MotoServer()
    moto.start()
    port = free_port()
    export_dir = work / "mirror"
    env = {**AWS_ENV, "AWS_ENDPOINT_URL": moto.url, "EXPORT_DIR": str(export_dir), "REQUIRED_BUCKETS": "",
           "LOG_LEVEL": "WARNING", "DELETE_SYNC": "true", "HEALTH_PORT": str(port)}
    exporter = None
    try:
        make_test_client(moto.url).create_bucket(Bucket=BUCKET,
                                                 CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
        exporter = subprocess.Popen([sys.executable, "-m", "exporter"], cwd=ROOT, env=merged_env(env),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if wait_for(lambda: health(port) == 200, 120, 0.1) is None:
            raise RuntimeError("the exporter never became healthy")
        watcher = Watcher(export_dir / BUCKET)
        threading.Thread(target=watcher.run, daemon=True).start()
        state: dict[str, bytes] = {}
        counts = {"put": 0, "delete": 0}
        lock = threading.Lock()
        samples: list[int] = []
        started = time.perf_counter()
        until = started + args.seconds
        clients = [threading.Thread(target=client_loop, args=(i, moto.url, args.clients / args.rate, until, watcher,
                                                               state, counts, lock)) for i in range(args.clients)]
        for thread in clients:
            thread.start()
        while any(thread.is_alive() for thread in clients):
            samples.append(health(port))
            time.sleep(0.5)
        ended = time.perf_counter()
        with watcher.lock:
            unseen_at_end = len(watcher.pending)
            during = list(watcher.lags)
        converged = wait_for(lambda: mirror_equals(export_dir / BUCKET, state), 120, 0.05)
        watcher.stop.set()
        lags = watcher.lags
        ops = counts["put"] + counts["delete"]
        print_table(
            f"{args.clients} clients, {args.seconds:g} s, asked {args.rate:g} ops/s "
            f"(goals: put->file p95 <= 2 s, max <= 5 s, mirror equal to S3 within 2 s after the load)",
            ["ops/s done", "puts", "deletes", "put->file p50 / p95 / max (s)", "puts unseen at load end",
             "converged after load (s)", "/healthz 200 during load"],
            [[f"{ops / (ended - started):.0f}", str(counts["put"]), str(counts["delete"]),
              f"{statistics.median(lags):.3f} / {percentile(lags, 0.95):.3f} / {max(lags):.3f}",
              f"{unseen_at_end} ({len(during)} seen during)",
              "never (120 s)" if converged is None else f"{converged:.2f}",
              f"{samples.count(200)}/{len(samples)}"]],
        )
    finally:
        if exporter is not None:
            exporter.terminate()
            exporter.wait(timeout=60)
        moto.stop()
        shutil.rmtree(work, ignore_errors=True)


def health(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


if __name__ == "__main__":
    main()
