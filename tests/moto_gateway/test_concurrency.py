"""Concurrent clients against a real gateway process: nothing lost, doubled, torn or answered 5xx.

One test hammers one key from 8 writers while readers read it (issue 17 case 9: Moto answered 500 "I/O
operation on closed file" to some of 320 PUTs). The other runs 20 clients doing mixed PUT, GET, DELETE,
copy, multipart uploads and listings for a bounded time, then requires S3's state to equal what the
clients were told, and every mutation they were told succeeded to be in the change feed exactly once.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from testkit.clients import REGION

BUCKET = "busy-bucket"


def unretried_client(url: str):
    """boto3 as users make it, but with no retries: a 5xx must show, not be retried away."""
    return boto3.session.Session().client(
        "s3",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(
            s3={"addressing_style": "path"},
            retries={"total_max_attempts": 1},
            max_pool_connections=4,
            read_timeout=60,
        ),
    )


def feed_position(url: str) -> int:
    with urllib.request.urlopen(f"{url}/_changes?after=0&wait=0", timeout=10) as response:
        return json.loads(response.read())["last_seq"]


def feed_after(url: str, after: int) -> dict:
    with urllib.request.urlopen(f"{url}/_changes?after={after}&wait=0", timeout=10) as response:
        return json.loads(response.read())


def test_eight_writers_to_one_key_get_no_5xx_and_readers_see_whole_bodies(moto):
    s3 = unretried_client(moto.url)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    bodies = {
        (writer, index): hashlib.sha256(f"{writer}/{index}".encode()).digest() * (2048 + 97 * index)
        for writer in range(8)
        for index in range(40)
    }
    written = set(hashlib.md5(body).hexdigest() for body in bodies.values())
    s3.put_object(Bucket=BUCKET, Key="hot", Body=bodies[(0, 0)])
    failures: list[str] = []
    writers_done = threading.Event()
    reads = Counter()

    def write(writer: int) -> None:
        client = unretried_client(moto.url)
        for index in range(40):
            try:
                client.put_object(Bucket=BUCKET, Key="hot", Body=bodies[(writer, index)])
            except ClientError as exc:
                failures.append(f"PUT {exc.response['ResponseMetadata']['HTTPStatusCode']}: {exc}")

    def read() -> None:
        client = unretried_client(moto.url)
        while not writers_done.is_set():
            try:
                body = client.get_object(Bucket=BUCKET, Key="hot")["Body"].read()
            except ClientError as exc:
                failures.append(f"GET {exc.response['ResponseMetadata']['HTTPStatusCode']}: {exc}")
                continue
            reads["total"] += 1
            if hashlib.md5(body).hexdigest() not in written:
                failures.append(f"GET returned {len(body)} bytes that no writer PUT")

    with ThreadPoolExecutor(12) as pool:
        readers = [pool.submit(read) for _ in range(4)]
        for future in [pool.submit(write, writer) for writer in range(8)]:
            future.result()
        writers_done.set()
        for future in readers:
            future.result()

    assert failures == []
    assert reads["total"] > 0
    final = s3.get_object(Bucket=BUCKET, Key="hot")["Body"].read()
    assert hashlib.md5(final).hexdigest() in written


class Client:
    """One simulated client with its own keys: it remembers what S3 told it about each of them."""

    def __init__(self, url: str, number: int, seed: int):
        self.s3 = unretried_client(url)
        self.number = number
        self.random = random.Random(seed)
        self.state: dict[str, str] = {}  # key -> md5 of the body S3 said it stored
        self.mutations: Counter = Counter()  # (op, key) told successful, as the change feed names them
        self.failures: list[str] = []
        self.done: Counter = Counter()  # actions that ran to the end

    def key(self) -> str:
        return f"client-{self.number:02d}/key-{self.random.randrange(6)}"

    def body(self) -> bytes:
        return self.random.randbytes(self.random.choice([0, 1, 1024, 70_000]))

    def step(self) -> None:
        action = self.random.choice(["put", "put", "get", "delete", "copy", "multipart", "list"])
        key = self.key()
        try:
            if getattr(self, action)(key) is not False:
                self.done[action] += 1
        except ClientError as exc:
            status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
            self.failures.append(f"{action} {key}: {status} {exc}")

    def put(self, key: str) -> None:
        body = self.body()
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        self.state[key] = hashlib.md5(body).hexdigest()
        self.mutations[("put", key)] += 1

    def get(self, key: str) -> None:
        if key not in self.state:
            return False
        body = self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        if hashlib.md5(body).hexdigest() != self.state[key]:
            self.failures.append(f"get {key}: not the body last stored")

    def list(self, key: str) -> None:
        """Every client's keys: Moto reads each listed key's body for its ETag while others overwrite."""
        self.s3.list_objects_v2(Bucket=BUCKET)

    def delete(self, key: str) -> None:
        self.s3.delete_object(Bucket=BUCKET, Key=key)
        self.state.pop(key, None)
        self.mutations[("delete", key)] += 1

    def copy(self, key: str) -> None:
        source = self.key()
        if source not in self.state or source == key:
            return False
        self.s3.copy_object(Bucket=BUCKET, Key=key, CopySource={"Bucket": BUCKET, "Key": source})
        self.state[key] = self.state[source]
        self.mutations[("put", key)] += 1

    def multipart(self, key: str) -> None:
        # Every part but the last has S3's 5 MiB minimum: one part in most uploads keeps the test quick.
        first = self.random.randbytes(5 * 1024 * 1024) if self.random.random() < 0.25 else b""
        last = self.body()
        upload_id = self.s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        parts = []
        for number, part in enumerate([first, last] if first else [last], start=1):
            etag = self.s3.upload_part(
                Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=number, Body=part
            )["ETag"]
            parts.append({"PartNumber": number, "ETag": etag})
        self.s3.complete_multipart_upload(
            Bucket=BUCKET, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
        self.state[key] = hashlib.md5(first + last).hexdigest()
        self.mutations[("put", key)] += 1


def test_twenty_clients_mixed_operations_end_in_the_state_they_were_told(moto):
    s3 = unretried_client(moto.url)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    start_seq = feed_position(moto.url)
    clients = [Client(moto.url, number, seed=1000 + number) for number in range(20)]
    deadline = time.monotonic() + 8

    def run(client: Client) -> None:
        while time.monotonic() < deadline:
            client.step()

    with ThreadPoolExecutor(len(clients)) as pool:
        for future in [pool.submit(run, client) for client in clients]:
            future.result()

    assert [failure for client in clients for failure in client.failures] == []
    told = {key: md5 for client in clients for key, md5 in client.state.items()}
    paginator = s3.get_paginator("list_objects_v2")
    listed = {item["Key"] for page in paginator.paginate(Bucket=BUCKET) for item in page.get("Contents", [])}
    assert listed == set(told)
    for key, md5 in told.items():
        body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert hashlib.md5(body).hexdigest() == md5, key

    feed = feed_after(moto.url, start_seq)
    assert not feed["gap"]
    recorded = Counter((event["op"], event["key"]) for event in feed["events"] if event["bucket"] == BUCKET)
    expected = sum((client.mutations for client in clients), Counter())
    done = sum((client.done for client in clients), Counter())
    assert all(done[action] >= 5 for action in ("put", "get", "delete", "copy", "multipart", "list")), done
    assert recorded == expected
