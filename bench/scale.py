"""The mirror at scale: what a pass and a change cost at 10,000 and 100,000 objects (issue 11).

    python -m bench.scale [--sizes 10000,100000] [--size 1024] [--puts 100] [--rounds 3]

For each size: a gateway (`bench.preloaded_gateway`) starts with that many 1 KiB objects in one bucket,
put through Moto's backend in-process (seconds instead of minutes; see that module), then:

* full pass: `python -m exporter --once` into an empty folder, wall time and peak RSS (process start
  included);
* no-change pass: `python -m exporter --once` again, against a bare paginated boto3 listing of the same
  bucket (process start included in both), interleaved rounds, medians;
* the daemon following the change feed (default settings): put->file latency p50/p95/max over --puts
  puts 100 ms apart, exporter CPU per change (CPU over the puts minus the idle rate, per put), RSS;
* restore: the gateway restarted empty, `python -m exporter --once` puts every object back.

The machine is shared: figures are noisy; compare the rows of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.common import ROOT, MotoServer, make_test_client, merged_env, percentile, print_table, wait_for
from bench.exporter_sync import AWS_ENV, LISTING
from testkit.servers import free_port

BUCKET = "scale-bench"
TICKS = os.sysconf("SC_CLK_TCK")


def run_measured(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=merged_env(env), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    stderr = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed: {stderr[-1500:]}")
    return elapsed, usage.ru_maxrss / 1024


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mib(pid: int) -> tuple[float, float]:
    """Current and peak RSS of a running process."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return json.loads(response.read())["healthy"]
    except (OSError, ValueError):
        return False




def follow_feed(moto: MotoServer, env: dict[str, str], export_dir: Path, puts: int) -> dict[str, float]:
    """The daemon at default settings on the feed: latency and CPU per change, RSS."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "exporter"], cwd=ROOT,
                               env=merged_env({**env, "HEALTH_PORT": str(port)}),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = make_test_client(moto.url)
    try:
        if wait_for(lambda: healthy(port), 1800, 0.2) is None:
            raise RuntimeError("the exporter never became healthy")
        time.sleep(2)
        idle_from, idle_started = cpu_seconds(process.pid), time.perf_counter()
        time.sleep(5)
        idle_rate = (cpu_seconds(process.pid) - idle_from) / (time.perf_counter() - idle_started)
        latencies = []
        cpu_from, started = cpu_seconds(process.pid), time.perf_counter()
        for index in range(puts):
            key = f"fresh/{index:04d}.txt"
            client.put_object(Bucket=BUCKET, Key=key, Body=b"new %d" % index)
            latency = wait_for(lambda: (export_dir / BUCKET / key).exists(), 30)
            latencies.append(latency if latency is not None else float("inf"))
            time.sleep(0.1)
        time.sleep(1)
        spent = cpu_seconds(process.pid) - cpu_from - idle_rate * (time.perf_counter() - started)
        rss, peak = rss_mib(process.pid)
        return {"p50": percentile(latencies, 0.5), "p95": percentile(latencies, 0.95), "max": max(latencies),
                "cpu_ms": max(0.0, spent) / puts * 1000, "rss": rss, "peak": peak, "idle": idle_rate * 100}
    finally:
        process.terminate()
        process.wait(timeout=60)


def measure(objects: int, size: int, puts: int, rounds: int, work: Path) -> dict[str, float]:
    moto = MotoServer(command=[sys.executable, "-m", "bench.preloaded_gateway"],
                      env={"BENCH_PRELOAD": f"bucket={BUCKET},objects={objects},size={size}"})
    moto.start(timeout=600)
    export_dir = work / f"mirror-{objects}"
    shutil.rmtree(export_dir, ignore_errors=True)
    env = {**AWS_ENV, "AWS_ENDPOINT_URL": moto.url, "EXPORT_DIR": str(export_dir), "REQUIRED_BUCKETS": "",
           "LOG_LEVEL": "WARNING"}
    once = [sys.executable, "-m", "exporter", "--once"]
    listing = [sys.executable, "-c", LISTING]
    result: dict[str, float] = {"objects": objects}
    try:
        print(f"{objects} objects: full pass ...", flush=True)
        result["full"], result["full_peak"] = run_measured(once, env)
        no_change, bare = [], []
        for _ in range(rounds):
            no_change.append(run_measured(once, env)[0])
            bare.append(run_measured(listing, {**AWS_ENV, "AWS_ENDPOINT_URL": moto.url})[0])
        result["no_change"], result["listing"] = statistics.median(no_change), statistics.median(bare)
        print(f"  full {result['full']:.1f} s (peak {result['full_peak']:.0f} MiB), no-change "
              f"{result['no_change']:.2f} s, bare listing {result['listing']:.2f} s", flush=True)
        feed = follow_feed(moto, env, export_dir, puts)
        result.update({f"feed_{name}": value for name, value in feed.items()})
        print(f"  feed: p50 {feed['p50']:.3f} s, p95 {feed['p95']:.3f} s, CPU/change {feed['cpu_ms']:.1f} ms, "
              f"RSS {feed['rss']:.0f} MiB (peak {feed['peak']:.0f})", flush=True)
        moto.env.pop("BENCH_PRELOAD", None)
        moto.restart()
        result["restore"], result["restore_peak"] = run_measured(once, env)
        restored = make_test_client(moto.url).list_objects_v2(Bucket=BUCKET, MaxKeys=1)["KeyCount"]
        if not restored:
            raise RuntimeError("the restore put nothing back")
        print(f"  restore {result['restore']:.1f} s", flush=True)
    finally:
        moto.stop()
        shutil.rmtree(export_dir, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000", help="object counts, comma-separated")
    parser.add_argument("--size", type=int, default=1024, help="bytes per object")
    parser.add_argument("--puts", type=int, default=100, help="puts on the feed for latency and CPU")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved no-change/listing rounds")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        results = [measure(int(count), args.size, args.puts, args.rounds, work) for count in args.sizes.split(",")]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(
        f"Exporter at scale ({args.size} B objects, one bucket; goals at 100,000: CPU/change <= 5 ms, "
        "p95 <= 0.2 s, RSS <= 150 MiB, no-change <= 1.2x listing)",
        ["objects", "full pass (s)", "full-pass peak RSS (MiB)", "no-change (s)", "bare listing (s)", "ratio",
         "put->file p50 / p95 / max (s)", "CPU per change (ms)", "daemon RSS / peak (MiB)", "restore (s)"],
        [[f"{r['objects']:,}", f"{r['full']:.1f}", f"{r['full_peak']:.0f}", f"{r['no_change']:.2f}",
          f"{r['listing']:.2f}", f"{r['no_change'] / r['listing']:.2f}x",
          f"{r['feed_p50']:.3f} / {r['feed_p95']:.3f} / {r['feed_max']:.3f}", f"{r['feed_cpu_ms']:.1f}",
          f"{r['feed_rss']:.0f} / {r['feed_peak']:.0f}", f"{r['restore']:.1f}"] for r in results],
    )


if __name__ == "__main__":
    main()
