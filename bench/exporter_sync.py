"""Exporter vs `aws s3 sync` vs `rclone sync`: a full pass and a no-change pass over the same Moto data.

    python -m bench.exporter_sync [--objects 1000] [--size 4096] [--big-mib 256] [--rounds 1] [--tools NAME...]

Defaults: 2 buckets x 1,000 objects of 4 KiB (the issue's setup), then one 256 MiB object for peak memory.
Every full pass writes into a folder of its own, and no folder is deleted before the end: on ext4, files
created within about 30 s of deleting many others cost the kernel a scan of every recently deleted inode
(`recently_deleted` in `find_inode_bit`, perf), which had made the tool that ran after a cleanup up to 5x
slower than the same tool on a quiet disk.
The exporter runs twice: with the gateway's bulk API (the default where /_health advertises it) and with
BULK_TRANSFERS=false (the S3 API, as against real S3 or plain Moto). The goal for the bulk path: a first
mirror >= 10x faster than `rclone sync --transfers 8` at 2 x 5,000 objects of 4 KiB (--objects 5000).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.common import MotoServer, fill, fresh_dir, make_test_client, peak_rss_mib, print_table, timed, venv_bin

BUCKETS = ["bench-one", "bench-two"]
AWS_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "ap-northeast-1"}
LISTING = """
import boto3, os
from botocore.config import Config
c = boto3.session.Session().client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="ap-northeast-1",
    config=Config(s3={"addressing_style": "path"}))
for b in c.list_buckets()["Buckets"]:
    for page in c.get_paginator("list_objects_v2").paginate(Bucket=b["Name"]):
        pass
"""


@dataclass
class Tool:
    name: str
    commands: list[list[str]]
    env: dict[str, str]
    dest: Path | None

    def run(self) -> float:
        return sum(timed(command, self.env) for command in self.commands)

    def reset(self) -> None:
        if self.dest:
            fresh_dir(self.dest)


def make_tools(endpoint: str, work: Path, buckets: list[str]) -> list[Tool]:
    rclone_env = {
        "RCLONE_CONFIG_MOTO_TYPE": "s3", "RCLONE_CONFIG_MOTO_PROVIDER": "Other",
        "RCLONE_CONFIG_MOTO_ENDPOINT": endpoint, "RCLONE_CONFIG_MOTO_ACCESS_KEY_ID": "test",
        "RCLONE_CONFIG_MOTO_SECRET_ACCESS_KEY": "test", "RCLONE_CONFIG_MOTO_REGION": "ap-northeast-1",
        "RCLONE_CONFIG_MOTO_FORCE_PATH_STYLE": "true",
        "AWS_CA_BUNDLE": None,  # rclone refuses a custom CA bundle on a plain-http endpoint
    }
    exporter_env = {**AWS_ENV, "AWS_ENDPOINT_URL": endpoint, "EXPORT_DIR": str(work / "exporter"),
                    "REQUIRED_BUCKETS": "", "LOG_LEVEL": "WARNING"}
    return [
        Tool("motostack exporter --once (bulk API)", [[sys.executable, "-m", "exporter", "--once"]], exporter_env,
             work / "exporter"),
        Tool("motostack exporter --once (S3 API only)", [[sys.executable, "-m", "exporter", "--once"]],
             {**exporter_env, "EXPORT_DIR": str(work / "exporter-s3"), "BULK_TRANSFERS": "false"},
             work / "exporter-s3"),
        Tool("aws s3 sync (awscli)", [
            [venv_bin("aws"), "--endpoint-url", endpoint, "s3", "sync", "--only-show-errors",
             f"s3://{bucket}", str(work / "aws" / bucket)] for bucket in buckets
        ], AWS_ENV, work / "aws"),
        Tool("rclone sync --transfers 8", [
            ["rclone", "sync", "--transfers", "8", f"moto:{bucket}", str(work / "rclone" / bucket)]
            for bucket in buckets
        ], rclone_env, work / "rclone"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=1000, help="objects per bucket (2 buckets)")
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=1, help="full passes per tool (interleaved) to take the median of")
    parser.add_argument("--repeat", type=int, default=3, help="no-change passes to take the median of")
    parser.add_argument("--big-mib", type=int, default=256, help="size of the object for peak memory; 0 skips")
    parser.add_argument("--tools", nargs="+", default=[], help="run only the tools whose name contains one of these")
    args = parser.parse_args()
    if not shutil.which("rclone"):
        sys.exit("rclone is missing: apt-get install rclone")
    moto = MotoServer()
    moto.start()
    work = Path(tempfile.mkdtemp(prefix="bench-exporter-"))
    try:
        client = make_test_client(moto.url)
        print(f"filling Moto: {len(BUCKETS)} buckets x {args.objects} objects of {args.size} B ...", flush=True)
        fill(client, BUCKETS, args.objects, args.size)
        full_times: dict[str, list[float]] = {}
        no_change_times: dict[str, list[float]] = {}
        for round_number in range(args.rounds):  # interleaved: the machine's load changes alike for every tool
            tools = [tool for tool in make_tools(moto.url, work / f"round-{round_number}", BUCKETS)
                     if not args.tools or any(part in tool.name for part in args.tools)]
            for tool in tools:
                tool.reset()
                os.sync()  # no tool pays for the writeback of the one before it
                full_times.setdefault(tool.name, []).append(tool.run())
                no_change_times.setdefault(tool.name, [])
                print(f"  {tool.name}: full {full_times[tool.name][-1]:.2f} s", flush=True)
        for _ in range(args.repeat):
            for tool in tools:
                no_change_times[tool.name].append(tool.run())
        fulls = {name: statistics.median(times) for name, times in full_times.items()}
        rows = [[tool.name, f"{fulls[tool.name]:.2f}", f"{statistics.median(no_change_times[tool.name]):.2f}"]
                for tool in tools]
        rclone = fulls.get("rclone sync --transfers 8")
        for row in rows:
            row.append(f"{rclone / fulls[row[0]]:.1f}x" if rclone else "-")
        listing = statistics.median(
            timed([sys.executable, "-c", LISTING], {**AWS_ENV, "AWS_ENDPOINT_URL": moto.url})
            for _ in range(args.repeat)
        )
        rows.append(["bare paginated listing (boto3)", "-", f"{listing:.2f}", "-"])
        print_table(
            f"Full and no-change pass, {len(BUCKETS) * args.objects} objects of {args.size} B, one Moto server",
            ["tool", f"full pass (s, median of {args.rounds})", "no-change pass (s, median)", "full pass vs rclone"],
            rows,
        )
        if args.big_mib:
            moto.reset()
            put_big_object(client, args.big_mib)
            memory = []
            for tool in make_tools(moto.url, work, ["bench-big"]):
                tool.reset()
                peak = max(peak_rss_mib(command, tool.env) for command in tool.commands)
                memory.append([tool.name, f"{peak:.0f}"])
            print_table(f"Peak RSS exporting one {args.big_mib} MiB object", ["tool", "peak RSS (MiB)"], memory)
    finally:
        moto.stop()
        shutil.rmtree(work, ignore_errors=True)


def put_big_object(client, mib: int) -> None:
    """A multipart upload of `mib` MiB in 16 MiB parts, so the test data never sits in memory whole."""
    client.create_bucket(Bucket="bench-big", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    part_body = b"\x5a" * (16 * 1024 * 1024)
    upload = client.create_multipart_upload(Bucket="bench-big", Key="big.bin")
    parts = []
    for number in range(1, max(1, mib // 16) + 1):
        part = client.upload_part(Bucket="bench-big", Key="big.bin", UploadId=upload["UploadId"],
                                  PartNumber=number, Body=part_body)
        parts.append({"PartNumber": number, "ETag": part["ETag"]})
    client.complete_multipart_upload(Bucket="bench-big", Key="big.bin", UploadId=upload["UploadId"],
                                     MultipartUpload={"Parts": parts})


if __name__ == "__main__":
    main()
