"""PUT and GET throughput through the gateway against bare Moto (`python -m moto.server`), in one run.

    python -m bench.gateway [--rounds 5] [--quick]

Starts three servers on free loopback ports: bare Moto, the gateway as shipped (validation on, header
signatures not verified) and the gateway verifying header signatures too. Each round runs every workload
against every server in turn (interleaved, so drift hits all alike); the table shows the median per server.
Workloads: boto3 put_object/get_object (header-signed) and presigned PUT/GET URLs sent with `requests`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

import requests

from tests.conftest import REGION
from tests.moto_gateway.helpers import client
from tests.moto_server import MotoServer

SERVERS = {
    "bare Moto": dict(command=[sys.executable, "-m", "moto.server", "-H", "127.0.0.1"]),
    "gateway": dict(env={"GATEWAY_VALIDATION": "true", "GATEWAY_VERIFY_HEADER_SIGNATURES": "false"}),
    "gateway+headers": dict(env={"GATEWAY_VALIDATION": "true", "GATEWAY_VERIFY_HEADER_SIGNATURES": "true"}),
}


def start(name: str) -> MotoServer:
    spec = SERVERS[name]
    server = MotoServer(env=spec.get("env"))
    if "command" in spec:
        server.command = [*spec["command"], "-p", str(server.port)]
    server.start()
    return server


class Workload:
    """One kind of request at one size against one server, timed as operations per second."""

    def __init__(self, server: MotoServer, size: int, count: int):
        self.s3 = client(server.url)
        self.http = requests.Session()
        self.size, self.count = size, count
        self.body = os.urandom(size)
        self.key = f"bench-{size}"
        self.s3.put_object(Bucket="bench", Key=self.key, Body=self.body)
        self.put_url = self.s3.generate_presigned_url("put_object", Params={"Bucket": "bench", "Key": self.key}, ExpiresIn=3600)
        self.get_url = self.s3.generate_presigned_url("get_object", Params={"Bucket": "bench", "Key": self.key}, ExpiresIn=3600)

    def boto3_put(self) -> None:
        self.s3.put_object(Bucket="bench", Key=self.key, Body=self.body)

    def boto3_get(self) -> None:
        assert len(self.s3.get_object(Bucket="bench", Key=self.key)["Body"].read()) == self.size

    def presigned_put(self) -> None:
        self.http.put(self.put_url, data=self.body, timeout=60).raise_for_status()

    def presigned_get(self) -> None:
        response = self.http.get(self.get_url, timeout=60)
        response.raise_for_status()
        assert len(response.content) == self.size

    def ops_per_second(self, operation: Callable[[], None]) -> float:
        operation()  # warm the connection
        started = time.perf_counter()
        for _ in range(self.count):
            operation()
        return self.count / (time.perf_counter() - started)


def human(size: int) -> str:
    return f"{size // (1024 * 1024)} MiB" if size >= 1024 * 1024 else f"{size // 1024} KiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="fewer operations (a smoke run, noisy figures)")
    args = parser.parse_args()
    scale = 0.2 if args.quick else 1.0
    sizes = [(1024, int(200 * scale)), (1024 * 1024, int(40 * scale)), (16 * 1024 * 1024, max(2, int(6 * scale)))]
    operations = ["boto3_put", "boto3_get", "presigned_put", "presigned_get"]
    servers = {name: start(name) for name in SERVERS}
    try:
        workloads = {}
        for name, server in servers.items():
            client(server.url).create_bucket(Bucket="bench", CreateBucketConfiguration={"LocationConstraint": REGION})
            workloads[name] = {size: Workload(server, size, count) for size, count in sizes}
        results: dict[tuple[str, int, str], list[float]] = {}
        for round_number in range(args.rounds):
            print(f"round {round_number + 1}/{args.rounds}", file=sys.stderr)
            for operation in operations:
                for size, _ in sizes:
                    for name in servers:
                        workload = workloads[name][size]
                        results.setdefault((operation, size, name), []).append(
                            workload.ops_per_second(getattr(workload, operation))
                        )
    finally:
        for server in servers.values():
            server.stop()

    names = list(SERVERS)
    header = f"{'operation':<15}{'size':>8}" + "".join(f"{name + ' op/s':>22}" for name in names)
    header += "".join(f"{name + ' vs bare':>26}" for name in names[1:])
    print(f"median of {args.rounds} rounds, sequential requests from one client, {os.cpu_count()} CPUs")
    print(header)
    print("-" * len(header))
    for operation in operations:
        for size, _ in sizes:
            medians = {name: statistics.median(results[(operation, size, name)]) for name in names}
            line = f"{operation:<15}{human(size):>8}" + "".join(f"{medians[name]:>22.1f}" for name in names)
            line += "".join(f"{(medians[name] / medians['bare Moto'] - 1) * 100:>+25.1f}%" for name in names[1:])
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
