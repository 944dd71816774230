"""Restoring a restarted Moto from the mirror vs a 16-thread boto3 upload of the same objects.

    python -m bench.restore [--objects 2000] [--size 4096] [--rounds 3] [--bulk-only]

All run in this process against the same gateway (restarted empty before each), interleaved, so only
the upload strategy differs: the exporter's restore through the gateway's bulk API (one streamed tar),
the exporter's restore through the S3 API (BULK_TRANSFERS=false: EXPORT_CONCURRENCY threads of
put_object, headers and metadata put back), and a plain ThreadPoolExecutor(16) of put_object calls.
The issue's goal: the bulk restore >= 20x faster than the 16-thread upload at 10,000 objects of 4 KiB.
`--bulk-only` leaves out the S3-API restore (minutes at that size), keeping the comparison that the goal is about.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
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
    parser.add_argument("--bulk-only", action="store_true", help="leave out the exporter's S3-API restore")
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
        exporter.close()
        exporters = {
            bulk: Exporter(ExporterSettings(export_dir=work / "mirror", bulk_transfers=bulk),
                           make_s3_client(settings, max_pool_connections=20), threading.Event())
            for bulk in ((True,) if args.bulk_only else (True, False))
        }
        restore_times: dict[bool, list[float]] = {True: [], False: []}
        phase_times: dict[bool, list[float]] = {True: [], False: []}
        upload_times = []
        for _ in range(args.rounds):
            for bulk, exporter in exporters.items():
                moto.restart()
                started = time.perf_counter()
                stats = exporter.run_pass()
                restore_times[bulk].append(time.perf_counter() - started)
                phase_times[bulk].append(exporter.last_restore.seconds)
                assert stats.restored == len(files) and stats.downloads == 0 and not stats.errors, stats

            moto.restart()
            client = make_test_client(moto.url)
            for bucket in BUCKETS:
                client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
            started = time.perf_counter()
            with ThreadPoolExecutor(16) as pool:
                list(pool.map(lambda item: client.put_object(Bucket=item[0], Key=item[1], Body=item[2].read_bytes()),
                              files))
            upload_times.append(time.perf_counter() - started)
        for exporter in exporters.values():
            exporter.close()
        upload = statistics.median(upload_times)

        def row(name: str, seconds: float) -> list[str]:
            return [name, f"{seconds:.2f}", f"{len(files) / seconds:.0f}", f"{upload / seconds:.1f}x faster"]

        print_table(
            f"Restoring {len(files)} objects of {args.size} B into an empty Moto (median of {args.rounds}, interleaved)",
            ["method", "seconds", "objects/s", "vs 16-thread upload"],
            [
                ["16-thread boto3 put_object", f"{upload:.2f}", f"{len(files) / upload:.0f}", "1.0x"],
                row("exporter restore alone, bulk API", statistics.median(phase_times[True])),
                row("exporter pass (detect, restore, sync), bulk API", statistics.median(restore_times[True])),
                *([] if args.bulk_only else [
                    row(f"exporter restore alone, S3 API ({settings.export_concurrency} threads)",
                        statistics.median(phase_times[False])),
                    row("exporter pass (detect, restore, sync), S3 API", statistics.median(restore_times[False])),
                ]),
            ],
        )
    finally:
        moto.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
