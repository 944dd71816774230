"""`python -m bench.preloaded_gateway`: the moto service (`moto_gateway.__main__.main`), with objects put
straight into Moto's in-process backend before it starts serving. Benchmarks only.

    BENCH_PRELOAD="bucket=scale-bench,objects=100000,size=1024,region=ap-northeast-1"

Putting 100,000 objects through HTTP takes minutes on a busy 2-core machine; through Moto's backend
(`s3_backends[account]["aws"].put_object`, the call Moto's own PutObject handler ends in) it takes
seconds. The objects are then exactly what a PutObject would have left (ETag, size, last-modified), but
the change feed has no events for them: a benchmark starts the exporter after the preload, so its first
full pass is what picks them up, as it would after any start.
"""

from __future__ import annotations

import os
import sys
import time


def preload(spec: str) -> None:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    options = dict(part.split("=", 1) for part in spec.split(",") if part)
    bucket, count, size = options["bucket"], int(options["objects"]), int(options.get("size", 1024))
    region = options.get("region", "ap-northeast-1")
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    started = time.monotonic()
    backend.create_bucket(bucket, region)
    body = os.urandom(size)
    for index in range(count):
        backend.put_object(bucket, object_key(index), body)
    print(f"preloaded {count} objects of {size} B into {bucket} in {time.monotonic() - started:.1f} s",
          file=sys.stderr, flush=True)


def object_key(index: int) -> str:
    return f"data/{index // 1000:03d}/object-{index:06d}.bin"


def main() -> int:
    spec = os.environ.get("BENCH_PRELOAD", "")
    if spec:
        preload(spec)
    from moto_gateway.__main__ import main as serve

    return serve()


if __name__ == "__main__":
    raise SystemExit(main())
