"""Helpers shared by the benchmarks: a Moto server, timing, peak memory of a child process, a table."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from testkit.clients import make_test_client
from testkit.servers import ROOT, MotoServer

__all__ = [
    "ROOT", "MotoServer", "make_test_client", "fill", "timed", "peak_rss_mib", "print_table", "venv_bin",
    "wait_for", "percentile",
]


def venv_bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def fill(client, buckets: list[str], per_bucket: int, size: int, region: str = "ap-northeast-1") -> None:
    """Create buckets and put `per_bucket` objects of `size` bytes in each, 16 at a time."""
    body = os.urandom(size)
    for bucket in buckets:
        client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    jobs = [(bucket, f"data/{index // 100:03d}/object-{index:05d}.bin") for bucket in buckets for index in range(per_bucket)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda job: client.put_object(Bucket=job[0], Key=job[1], Body=body), jobs))


def merged_env(env: dict[str, str | None] | None) -> dict[str, str]:
    """The current environment with `env` applied; a None value removes the variable."""
    merged = {**os.environ, **(env or {})}
    return {name: value for name, value in merged.items() if value is not None}


def timed(command: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=merged_env(env), capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed ({result.returncode}): {result.stderr[-1500:]}")
    return elapsed


def peak_rss_mib(command: list[str], env: dict[str, str] | None = None) -> float:
    """Peak resident memory of `command` (and its children), measured by a fresh wrapper process."""
    wrapper = (
        "import resource, subprocess, sys\n"
        "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", wrapper, *command], cwd=ROOT, env=merged_env(env),
        capture_output=True, text=True, check=True,
    ).stdout.split()
    if output[1] != "0":
        raise RuntimeError(f"{' '.join(command[:4])} failed while measuring memory")
    return int(output[0]) / 1024


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * width for width in widths)
    print(f"\n{title}")
    print("  ".join(str(cell).ljust(width) for cell, width in zip(header, widths)))
    print(line)
    for row in rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))


def wait_for(predicate, timeout: float, poll: float = 0.002) -> float | None:
    """Seconds until `predicate()` holds, polled every `poll` s; None after `timeout` s."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if predicate():
            return time.perf_counter() - started
        time.sleep(poll)
    return None


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]
