"""PUT and GET throughput through the gateway against bare Moto (`python -m moto.server`), in one run.

    python -m bench.gateway [--rounds 7] [--quick]

Starts three servers on free loopback ports: bare Moto, the gateway as shipped (validation on, header
signatures not verified) and the gateway verifying header signatures too. Each round runs every workload
against every server in turn (interleaved, so drift hits all alike); the table shows the median per server.
Workloads: boto3 put_object/get_object (header-signed) and presigned PUT/GET URLs sent with `requests`.
A second table times the gateway's own work per request in-process (no sockets, no Moto), which is what
the end-to-end figures cannot resolve on a busy 2-CPU machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from moto_gateway.signing.layer import ValidatingMiddleware
from moto_gateway.signing.presigned import Credentials
from testkit.clients import REGION
from testkit.clients import make_test_client as client
from testkit.servers import MotoServer

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
        self.put_url = self.s3.generate_presigned_url(
            "put_object", Params={"Bucket": "bench", "Key": self.key}, ExpiresIn=3600
        )
        self.get_url = self.s3.generate_presigned_url(
            "get_object", Params={"Bucket": "bench", "Key": self.key}, ExpiresIn=3600
        )

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


def environ_for(url: str, method: str, headers: dict, body: bytes) -> dict:
    parts = requests.utils.urlparse(url)
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": requests.utils.unquote(parts.path),
        "RAW_URI": parts.path + (f"?{parts.query}" if parts.query else ""),
        "QUERY_STRING": parts.query,
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": parts.netloc,
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    return environ


def in_process_overhead(repeat: int = 2000) -> list[tuple[str, float, float]]:
    """Microseconds per request spent in the gateway layer (minus a bare app), per kind of request."""
    import io

    def inner(environ, start_response):
        stream = environ["wsgi.input"]
        while stream.read(1 << 20):
            pass
        return [b""]

    s3 = client("http://127.0.0.1:5000")
    plain = ValidatingMiddleware(inner, Credentials("test", "test"))
    verifying = ValidatingMiddleware(inner, Credentials("test", "test"), verify_header_signatures=True)
    one_mib = os.urandom(1024 * 1024)
    signed_put = AWSRequest(method="PUT", url="http://127.0.0.1:5000/bench/k", data=one_mib)
    S3SigV4Auth(BotoCredentials("test", "test"), "s3", REGION).add_auth(signed_put)
    cases = {
        "boto3 GET (passes through)": (
            "http://127.0.0.1:5000/bench/k",
            "GET",
            {
                "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/x/s3/aws4_request, "
                "SignedHeaders=host, Signature=00"
            },
            b"",
            plain,
        ),
        "presigned GET (SigV4 checked)": (
            s3.generate_presigned_url("get_object", Params={"Bucket": "bench", "Key": "k"}),
            "GET",
            {},
            b"",
            plain,
        ),
        "presigned PUT 1 MiB (checked)": (
            s3.generate_presigned_url("put_object", Params={"Bucket": "bench", "Key": "k"}),
            "PUT",
            {},
            one_mib,
            plain,
        ),
        "boto3 PUT 1 MiB (header verified)": (
            signed_put.url,
            "PUT",
            dict(signed_put.headers.items()),
            one_mib,
            verifying,
        ),
    }
    rows = []
    for label, (url, method, headers, body, layer) in cases.items():
        timings = {}
        for name, app in (("bare", inner), ("gateway", layer)):
            started = time.perf_counter()
            for _ in range(repeat if not body else repeat // 20):
                environ = environ_for(url, method, headers, body)
                environ["wsgi.input"] = io.BytesIO(body)
                app(environ, lambda status, response_headers: None)
            timings[name] = (time.perf_counter() - started) / (repeat if not body else repeat // 20) * 1e6
        rows.append((label, timings["bare"], timings["gateway"] - timings["bare"]))
    return rows


def human(size: int) -> str:
    return f"{size // (1024 * 1024)} MiB" if size >= 1024 * 1024 else f"{size // 1024} KiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="fewer operations (a smoke run, noisy figures)")
    args = parser.parse_args()
    scale = 0.2 if args.quick else 1.0
    sizes = [
        (1024, int(150 * scale)),
        (1024 * 1024, int(30 * scale)),
        (16 * 1024 * 1024, max(2, int(4 * scale))),
    ]
    operations = ["boto3_put", "boto3_get", "presigned_put", "presigned_get"]
    servers = {name: start(name) for name in SERVERS}
    try:
        workloads = {}
        for name, server in servers.items():
            client(server.url).create_bucket(
                Bucket="bench", CreateBucketConfiguration={"LocationConstraint": REGION}
            )
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
            line += "".join(
                f"{(medians[name] / medians['bare Moto'] - 1) * 100:>+25.1f}%" for name in names[1:]
            )
            print(line)
    print()
    print(f"{'gateway work per request, in-process':<40}{'bare app us':>14}{'gateway adds us':>18}")
    for label, bare, added in in_process_overhead():
        print(f"{label:<40}{bare:>14.1f}{added:>18.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
