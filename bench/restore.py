"""Restoring a restarted Moto from the mirror vs a 16-thread boto3 upload of the same objects.

    python -m bench.restore [--objects 2000] [--size 4096]

Both run in this process against the same Moto (restarted empty before each), so only the upload
strategy differs: the exporter's restore (EXPORT_CONCURRENCY threads, headers and metadata put back)
and a plain ThreadPoolExecutor(16) of put_object calls.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.common import MotoServer, fill, make_test_client, print_table
from common.s3 import make_s3_client
from exporter.settings import ExporterSettings
from exporter.sync import Exporter

BUCKETS = ["restore-one", "restore-two"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=2000, help="objects in all (2 buckets)")
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    moto = MotoServer()
    moto.start()
    work = Path(tempfile.mkdtemp(prefix="bench-restore-"))
    os.environ.update(AWS_ENDPOINT_URL=moto.url, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                      REQUIRED_BUCKETS="", LOG_LEVEL="WARNING")
    try:
        fill(make_test_client(moto.url), BUCKETS, args.objects // len(BUCKETS), args.size)
        settings = ExporterSettings(export_dir=work / "mirror")
        exporter = Exporter(settings, make_s3_client(settings, max_pool_connections=20), threading.Event())
        exporter.run_pass()
        files = [(bucket, key, work / "mirror" / bucket / entry.path)
                 for bucket in exporter.store.buckets() for key, entry in exporter.store.entries(bucket)]
        restore_times, phase_times, upload_times = [], [], []
        for _ in range(args.rounds):
            moto.restart()
            started = time.perf_counter()
            stats = exporter.run_pass()
            restore_times.append(time.perf_counter() - started)
            phase_times.append(exporter.last_restore.seconds)
            assert stats.restored == len(files) and stats.downloads == 0, stats

            moto.restart()
            client = make_test_client(moto.url)
            for bucket in BUCKETS:
                client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
            started = time.perf_counter()
            with ThreadPoolExecutor(16) as pool:
                list(pool.map(lambda item: client.put_object(Bucket=item[0], Key=item[1], Body=item[2].read_bytes()),
                              files))
            upload_times.append(time.perf_counter() - started)
        exporter.close()
        restore, phase, upload = min(restore_times), min(phase_times), min(upload_times)
        print_table(
            f"Restoring {len(files)} objects of {args.size} B into an empty Moto (best of {args.rounds})",
            ["method", "seconds", "objects/s", "vs 16-thread upload"],
            [
                ["16-thread boto3 put_object", f"{upload:.2f}", f"{len(files) / upload:.0f}", "1.00x"],
                [f"exporter restore alone ({settings.export_concurrency} threads)",
                 f"{phase:.2f}", f"{len(files) / phase:.0f}", f"{phase / upload:.2f}x"],
                ["exporter pass: detect, restore, then sync",
                 f"{restore:.2f}", f"{len(files) / restore:.0f}", f"{restore / upload:.2f}x"],
            ],
        )
    finally:
        moto.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
