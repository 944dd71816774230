"""`python -m bench [NAME ...]`: run the benchmarks (all by default), each printing its own table.

Names: exporter_sync, restore, snapshots, feed, scale, load, gateway, endpoint, uploader, console,
adversarial, large_bodies, durability, state_pages. Each can also run alone with its own options, e.g.
`python -m bench.exporter_sync --objects 500`.
"""

import importlib.util
import subprocess
import sys

BENCHMARKS = [
    "exporter_sync", "restore", "snapshots", "feed", "scale", "load", "gateway", "endpoint", "uploader",
    "console", "adversarial", "large_bodies", "durability", "state_pages",
]


def main(argv: list[str]) -> int:
    names = argv or BENCHMARKS
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        if importlib.util.find_spec(f"bench.{name}") is None:
            continue
        print(f"\n=== bench.{name}", flush=True)
        if subprocess.run([sys.executable, "-m", f"bench.{name}"]).returncode != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
