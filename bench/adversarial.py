"""Issue 17's catalogue and a few thousand generated malformed requests against a real gateway process.

    python -m bench.adversarial [--generated 3000] [--seed 17] [--rounds 3] [--quick]

Reports the 5xx count (goal 0) with the first offenders, the peak RSS growth of the server process over
its warmed-up resident size, and requests/s of ordinary boto3 PUT+GET traffic before and after the attack,
each round alternating with a control server that is never attacked (medians; the endpoint must still
serve at its normal rate, i.e. as fast as the control). Case 1 (a chunk size of
`ffffffffffffffffffff`) is sent only when the server is not werkzeug's development server, which cannot
survive it (the production server is gwfast's part of the issue); the report says when it was skipped.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import socket
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from bench.common import print_table
from testkit.clients import REGION, make_test_client
from testkit.servers import MotoServer

BUCKET = "target"
CREDS = BotoCredentials("test", "test")
SUBRESOURCES = [
    "cors", "lifecycle", "tagging", "acl", "notification", "encryption", "logging", "publicAccessBlock",
    "ownershipControls", "website", "versioning", "replication", "accelerate", "requestPayment", "object-lock",
    "policy", "delete", "uploads", "uploadId=x", "restore", "select&select-type=2", "inventory&id=x",
    "metrics&id=x", "analytics&id=x", "intelligent-tiering&id=x", "legal-hold", "retention", "location",
]  # fmt: skip
XML_ROOTS = [
    "CORSConfiguration", "LifecycleConfiguration", "Tagging", "AccessControlPolicy", "Delete",
    "CompleteMultipartUpload", "CreateBucketConfiguration", "WebsiteConfiguration", "VersioningConfiguration",
]  # fmt: skip


def raw_request(
    method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b"", chunked: bool = False
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if not chunked:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + body


def signed(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    """The request as botocore signs it (SigV4 header), serialised for a raw socket."""
    request = AWSRequest(method=method, url=f"http://127.0.0.1{path}", data=body, headers=headers or {})
    S3SigV4Auth(CREDS, "s3", REGION).add_auth(request)
    prepared = request.prepare()
    target = prepared.url.split("127.0.0.1", 1)[1]
    wanted = {name: value for name, value in prepared.headers.items() if name.lower() != "host"}
    return raw_request(method, target, wanted, body)


def form(fields: list[tuple[str, bytes, str | None]], boundary: str = "adv") -> bytes:
    parts = []
    for name, value, filename in fields:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        parts.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


def catalogue(with_case_1: bool) -> Iterator[tuple[str, bytes]]:
    """Issue 17's table, one or more requests a case (case 9 is sent by `concurrent_puts`)."""
    if with_case_1:
        yield "1 chunked POST ffff..", raw_request("POST", f"/{BUCKET}", {"Transfer-Encoding": "chunked", "Content-Type": "multipart/form-data; boundary=x"}, b"ffffffffffffffffffff\r\n", chunked=True)  # noqa: E501
        yield "1 chunked PUT ffff..", raw_request("PUT", f"/{BUCKET}/k", {"Transfer-Encoding": "chunked"}, b"ffffffffffffffffffff\r\n", chunked=True)  # noqa: E501
    yield "2 boundary-less 8 MiB form", raw_request("POST", f"/{BUCKET}", {"Content-Type": "multipart/form-data; boundary=nothere"}, b"x" * (8 * 1024 * 1024))  # noqa: E501
    v4 = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test/20260101/ap-northeast-1/s3/aws4_request&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00"  # noqa: E501
    yield "3 presigned year 0", raw_request("GET", f"/{BUCKET}/k?{v4}&X-Amz-Date=00000101T000000Z")
    yield "4 SigV2 Expires -1e15", raw_request("GET", f"/{BUCKET}/k?AWSAccessKeyId=test&Expires=-1000000000000000&Signature=x")  # noqa: E501
    deep = base64.b64encode(b'{"expiration":"2099-01-01T00:00:00Z","conditions":' + b"[" * 5000 + b"]" * 5000 + b"}")
    yield "5 policy 5000 deep", raw_request("POST", f"/{BUCKET}", {"Content-Type": "multipart/form-data; boundary=adv"}, form([("key", b"k", None), ("AWSAccessKeyId", b"test", None), ("policy", deep, None), ("signature", b"x", None), ("file", b"x", "f")]))  # noqa: E501
    for size in (b"zz", b"-5"):
        yield f"6 chunked PUT {size!r}", raw_request("PUT", f"/{BUCKET}/k", {"Transfer-Encoding": "chunked"}, size + b"\r\nabc\r\n0\r\n\r\n", chunked=True)  # noqa: E501
        yield f"6 chunked POST {size!r}", raw_request("POST", f"/{BUCKET}", {"Transfer-Encoding": "chunked", "Content-Type": "multipart/form-data; boundary=x"}, size + b"\r\nabc\r\n0\r\n\r\n", chunked=True)  # noqa: E501
        yield f"6 aws-chunked PUT {size!r}", raw_request("PUT", f"/{BUCKET}/k", {"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "Content-Encoding": "aws-chunked"}, size + b"\r\nabc\r\n0\r\n\r\n")  # noqa: E501
        yield f"6 signed aws-chunked PUT {size!r}", raw_request("PUT", f"/{BUCKET}/k", {"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "x-amz-decoded-content-length": "3"}, size + b";chunk-signature=0\r\nabc\r\n")  # noqa: E501
    yield "7 garbage policy signed", signed("PUT", f"/{BUCKET}?policy", b"garbage")
    yield "7 garbage policy unsigned", raw_request("PUT", f"/{BUCKET}?policy", {}, b"garbage")
    yield "7 GetObject after", signed("GET", f"/{BUCKET}/existing")
    for sub in SUBRESOURCES:
        for body in (b"garbage", b"<a>", b"<Wrong/>", b"", b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>"):
            for path in (f"/{BUCKET}", f"/{BUCKET}/existing"):
                for method in ("PUT", "POST"):
                    yield f"8 {method} {path}?{sub}", signed(method, f"{path}?{sub}", body)
    yield "10 presigned list prefix k\\n", b""  # sent by `boto_cases`
    for key in ("k\n", "a\tb", "%", "+", "?", "#", "ü", "x" * 1024):
        yield f"11 PUT key {key[:8]!r}", signed("PUT", f"/{BUCKET}/{quote(key.encode(), safe='')}", b"v")
        yield f"11 GET key {key[:8]!r}", signed("GET", f"/{BUCKET}/{quote(key.encode(), safe='')}")
    yield "12 SigV4 with Date only", signed("GET", f"/{BUCKET}", headers={"Date": "Mon, 30 Nov 2026 00:00:00 GMT"})
    yield "13 form-typed PUT", signed("PUT", f"/{BUCKET}/form", b"a=1&b=2", {"Content-Type": "application/x-www-form-urlencoded"})  # noqa: E501
    yield "14 anonymous PutObject", raw_request("PUT", f"/{BUCKET}/anon", {}, b"x")
    yield "14 anonymous public-read-write ACL", raw_request("PUT", f"/{BUCKET}?acl", {"x-amz-acl": "public-read-write"})
    yield "15 fields as file parts", raw_request("POST", f"/{BUCKET}", {"Content-Type": "multipart/form-data; boundary=adv"}, form([("key", b"k", "blob"), ("policy", b"e30=", "blob"), ("file", b"x" * 70000, "f")]))  # noqa: E501
    yield "16 redirect, no policy", raw_request("POST", f"/{BUCKET}", {"Content-Type": "multipart/form-data; boundary=adv"}, form([("key", b"k", None), ("success_action_redirect", b"http://x/", None), ("file", b"x", "f")]))  # noqa: E501
    yield "POST to a key", raw_request("POST", f"/{BUCKET}/some/key", {"Content-Type": "multipart/form-data; boundary=adv"}, form([("key", b"k", None), ("file", b"x", "f")]))  # noqa: E501


GARBAGE_HEADERS = {
    "Authorization": ["AWS4-HMAC-SHA256 Credential=test/2026/x/s3/aws4_request, SignedHeaders=host, Signature=zz", "AWS test:", "AWS ", "AWS4-HMAC-SHA256", "Bearer x", "AWS4-HMAC-SHA256 Credential=test/20260101/ap-northeast-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + "0" * 64],  # noqa: E501
    "x-amz-date": ["0", "99999999T999999Z", "20260101T000000Z\n", "Mon, 32 Foo 2026", ""],
    "Date": ["yesterday", "Mon, 30 Nov 2026 00:00:00 GMT", "9" * 50],
    "x-amz-content-sha256": ["STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "zz", "UNSIGNED-PAYLOAD"],  # noqa: E501
    "x-amz-decoded-content-length": ["-1", "99999999999999999999", "x"],
    "Content-Type": ["multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=b", "application/x-www-form-urlencoded", "application/xml", "text/plain; charset=\x01"],  # noqa: E501
    "Content-MD5": ["x", "AAAA", ""],
    "x-amz-copy-source": ["/", "nobucket/x", f"/{BUCKET}/%ff%fe", "\n"],
    "Range": ["bytes=-", "bytes=9-1", "bytes=0-99999999999999999999", "x"],
    "x-amz-tagging": ["a", "=&=&", "k=" + "v" * 300],
    "x-amz-meta-\u00e9": ["x"],
}
QUERY_PARAMS = [
    "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature",
    "AWSAccessKeyId", "Expires", "Signature", "prefix", "max-keys", "list-type", "continuation-token", "partNumber",
    "uploadId", "versionId", "delimiter", "encoding-type", "response-content-type",
]  # fmt: skip


def random_text(rng: random.Random, size: int) -> str:
    alphabet = "aZ09-_.~%+?#&=;/\\ \t\n\r\x00ü日🎉\"'<>{}[]"
    return "".join(rng.choice(alphabet) for _ in range(size))


def random_body(rng: random.Random) -> bytes:
    root = rng.choice(XML_ROOTS)
    choices = [
        lambda: b"",
        lambda: rng.randbytes(rng.randint(1, 4096)),
        lambda: f"<{root}>".encode() + b"<a>" * rng.randint(1, 300),
        lambda: f"<{root}>{random_text(rng, 40)}</{root}>".encode("utf-8", "surrogatepass"),
        lambda: f'<{root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><{random_text(rng, 5)}/></{root}>'.encode(
            "utf-8", "surrogatepass"
        ),
        lambda: json.dumps({"Version": rng.choice(["2012-10-17", 1, None]), "Statement": rng.choice([[], [{}], "x", [{"Effect": "Allow"}]])}).encode(),  # noqa: E501
        lambda: b"[" * rng.randint(100, 20000),
        lambda: form([(random_text(rng, 4), rng.randbytes(rng.randint(0, 64)), rng.choice([None, "f"])) for _ in range(rng.randint(0, 5))], "b"),  # noqa: E501
    ]
    return rng.choice(choices)()


def generated(count: int, seed: int) -> Iterator[tuple[str, bytes]]:
    """Random but reproducible mutations of S3 requests: methods, paths, queries, headers, bodies."""
    rng = random.Random(seed)
    for number in range(count):
        method = rng.choice(["GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS", "PATCH"])
        path = rng.choice(["/", f"/{BUCKET}", f"/{BUCKET}/", f"/{BUCKET}/existing", f"/{BUCKET}/" + quote(random_text(rng, 12).encode("utf-8", "surrogatepass"), safe="/"), "/nobucket/k", "/" + quote(random_text(rng, 8).encode("utf-8", "surrogatepass"))])  # noqa: E501
        query = "&".join(
            rng.choice([rng.choice(SUBRESOURCES), f"{rng.choice(QUERY_PARAMS)}={quote(random_text(rng, rng.randint(0, 30)).encode('utf-8', 'surrogatepass'))}"])  # noqa: E501
            for _ in range(rng.randint(0, 4))
        )
        headers = {name: rng.choice(values) for name, values in GARBAGE_HEADERS.items() if rng.random() < 0.2}
        body = random_body(rng) if method in ("PUT", "POST") or rng.random() < 0.1 else b""
        target = path + (f"?{query}" if query else "")
        if rng.random() < 0.3:
            yield f"gen {number} signed", signed(method, target, body, {k: v for k, v in headers.items() if "\n" not in v and k != "Authorization"})  # noqa: E501
        else:
            yield f"gen {number}", raw_request(method, target, {k: v.replace("\n", "") for k, v in headers.items()}, body)  # noqa: E501


def exchange(port: int, request: bytes, timeout: float = 15) -> int:
    """Sends one raw request; the answer's status (0: no answer before the connection closed)."""
    answer = bytearray()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            try:
                sock.sendall(request)
                sock.shutdown(socket.SHUT_WR)
            except OSError:  # refused before the whole body was sent: the answer may be waiting
                pass
            while len(answer) < 16 and (chunk := sock.recv(4096)):
                answer += chunk
    except OSError:
        pass
    parts = bytes(answer).split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


class RssSampler:
    """Samples the server process's resident size every 20 ms from /proc; keeps the peak."""

    def __init__(self, pid: int):
        self.path = Path(f"/proc/{pid}/status")
        self.peak = self.now()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> float:
        for line in self.path.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.now())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def ordinary_rate(s3, operations: int) -> float:
    """PUT+GET of a 1 KiB object, in requests per second."""
    body = b"o" * 1024
    started = time.perf_counter()
    for number in range(operations // 2):
        s3.put_object(Bucket=BUCKET, Key=f"rate/{number % 50}", Body=body)
        s3.get_object(Bucket=BUCKET, Key=f"rate/{number % 50}")["Body"].read()
    return operations / (time.perf_counter() - started)


def interleaved(s3, control_s3, operations: int, rounds: int) -> tuple[list[float], list[float]]:
    """Rounds alternating between the attacked server and the control, so that load drift hits both."""
    rates: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        rates[0].append(ordinary_rate(s3, operations))
        rates[1].append(ordinary_rate(control_s3, operations))
    return rates


def concurrent_puts(url: str, threads: int = 8, per_thread: int = 40) -> Counter:
    """Case 9: many writers to one key; the statuses they saw (no retries: botocore would hide 5xx)."""
    import boto3
    from botocore.config import Config

    s3 = boto3.session.Session().client(
        "s3",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}, max_pool_connections=threads),
    )
    statuses: Counter = Counter()
    lock = threading.Lock()

    def writer(number: int) -> None:
        for index in range(per_thread):
            try:
                s3.put_object(Bucket=BUCKET, Key="contended", Body=f"{number}-{index}".encode() * 1000)
                status = 200
            except Exception as exc:  # botocore ClientError carries the status
                status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            with lock:
                statuses[status] += 1

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(writer, range(threads)))
    return statuses


def server_is_werkzeug(url: str) -> bool:
    import requests

    return "werkzeug" in requests.get(f"{url}/_health", timeout=10).headers.get("Server", "").lower()


def attack(server: MotoServer, requests_: list[tuple[str, bytes]], workers: int = 4) -> tuple[Counter, list[str]]:
    statuses: Counter = Counter()
    offenders: list[str] = []

    def send(item: tuple[str, bytes]) -> tuple[str, int]:
        name, request = item
        return name, exchange(server.port, request) if request else 200

    with ThreadPoolExecutor(workers) as pool:
        for name, status in pool.map(send, requests_):
            statuses[status] += 1
            if status >= 500:
                offenders.append(f"{name}: {status}")
                if name.startswith("gen"):
                    request = dict(requests_)[name]
                    offenders[-1] += " " + repr(request.split(b"\r\n", 1)[0][:100])
    return statuses, offenders


def boto_cases(s3) -> None:
    """Cases sent through boto3 itself (10: presigned ListObjectsV2 with a newline prefix)."""
    import requests

    url = s3.generate_presigned_url("list_objects_v2", Params={"Bucket": BUCKET, "Prefix": "k\n"})
    status = requests.get(url, timeout=10).status_code
    if status != 200:
        raise SystemExit(f"case 10: presigned list with prefix 'k\\n' answered {status}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--generated", type=int, default=3000, help="generated malformed requests")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of ordinary traffic before and after")
    parser.add_argument("--quick", action="store_true", help="300 generated requests, 1 round, fewer operations")
    args = parser.parse_args(argv)
    if args.quick:
        args.generated, args.rounds = 300, 1
    operations = 100 if args.quick else 400
    server, control = MotoServer(), MotoServer()  # control: never attacked, measured in the same rounds
    server.start()
    control.start()
    try:
        s3, control_s3 = make_test_client(server.url), make_test_client(control.url)
        for client in (s3, control_s3):
            client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
            ordinary_rate(client, 100)  # warm-up: imports, Moto's lazy app
        s3.put_object(Bucket=BUCKET, Key="existing", Body=b"kept")
        s3.put_object(Bucket=BUCKET, Key="sentinel/untouched", Body=b"kept")  # no generated request names it
        before, control_before = interleaved(s3, control_s3, operations, args.rounds)
        werkzeug = server_is_werkzeug(server.url)
        sampler = RssSampler(server.process.pid)
        baseline = sampler.now()
        catalogue_requests = list(catalogue(with_case_1=not werkzeug))
        generated_requests = list(generated(args.generated, args.seed))
        started = time.perf_counter()
        with sampler:
            boto_cases(s3)
            statuses, offenders = attack(server, catalogue_requests)
            case_9 = concurrent_puts(server.url)
            generated_statuses, generated_offenders = attack(server, generated_requests)
        attack_seconds = time.perf_counter() - started
        after, control_after = interleaved(s3, control_s3, operations, args.rounds)
        body_after = s3.get_object(Bucket=BUCKET, Key="sentinel/untouched")["Body"].read()
    finally:
        server.stop()
        control.stop()
    five_xx = sum(count for status, count in (statuses + generated_statuses).items() if status >= 500)
    five_xx += sum(count for status, count in case_9.items() if status >= 500)
    rows = [
        ["catalogue requests", str(len(catalogue_requests)), fmt_statuses(statuses)],
        ["case 9 (8 x 40 PUTs, one key)", str(sum(case_9.values())), fmt_statuses(case_9)],
        ["generated requests", str(len(generated_requests)), fmt_statuses(generated_statuses)],
    ]
    print_table("Answers by status (0: connection closed without an answer)", ["set", "requests", "statuses"], rows)
    print_table(
        "Figures",
        ["figure", "value"],
        [
            ["5xx answers (goal 0)", str(five_xx)],
            ["peak RSS growth over warmed-up baseline", f"{sampler.peak - baseline:.1f} MiB (baseline {baseline:.0f} MiB)"],
            ["attack duration", f"{attack_seconds:.1f} s"],
            [
                "ordinary PUT+GET req/s before: attacked / control server (medians)",
                f"{statistics.median(before):.0f} / {statistics.median(control_before):.0f}",
            ],
            [
                "ordinary PUT+GET req/s after: attacked / control server (medians)",
                f"{statistics.median(after):.0f} / {statistics.median(control_after):.0f}",
            ],
            ["case 1 (chunk size ffff...)", "skipped: werkzeug dev server" if werkzeug else "sent"],
            ["object written before the attack intact", str(body_after == b"kept")],
        ],
    )
    kinds = Counter(" ".join(word for word in offender.split() if not word.isdigit()) for offender in offenders + generated_offenders)
    for kind, count in kinds.most_common(30):
        print(f"5xx x{count}: {kind}")
    causes = Counter(failure_causes(server.log_path.read_text(errors="replace")))
    for cause, count in causes.most_common(15):
        print(f"logged x{count}: {cause}")
    return 0


def failure_causes(log_text: str) -> Iterator[str]:
    """The exception line ending each traceback the gateway logged for a failure inside."""
    lines = log_text.splitlines()
    for number, line in enumerate(lines):
        if line.startswith("Traceback") and number and " ERROR " in lines[number - 1]:
            following = lines[number + 1 :]
            end = next((text for text in following if text and not text.startswith((" ", "Traceback", "During", "The above"))), "")
            yield end[:160]


def fmt_statuses(statuses: Counter) -> str:
    return " ".join(f"{status}x{count}" for status, count in sorted(statuses.items()))


if __name__ == "__main__":
    raise SystemExit(main())
