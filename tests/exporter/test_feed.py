"""The exporter following the gateway's change feed, against real gateway processes."""

import hashlib
import os
import random
import sys
import threading
import time

import pytest

from exporter.feed import GatewayClient, batch_events, remote_from_event
from exporter.plan import RemoteObject
from testkit.clients import make_test_client
from tests.exporter.test_cli import exporter_process, get_json, stop_process
from testkit.servers import MotoServer, free_port
from tests.waiting import wait_until

REGION = {"LocationConstraint": "ap-northeast-1"}


def test_object_events_of_known_buckets_become_keys_to_sync():
    batch = batch_events(
        [{"op": "put", "bucket": "b1", "key": "k1"}, {"op": "delete", "bucket": "b1", "key": "k2"},
         {"op": "put", "bucket": "b2", "key": "x"}],
        known_buckets={"b1", "b2"},
    )
    assert batch.keys_by_bucket == {"b1": {"k1", "k2"}, "b2": {"x"}} and batch.full_pass_because is None


@pytest.mark.parametrize(
    "event",
    [{"op": "create-bucket", "bucket": "b9", "key": None}, {"op": "bucket-put", "bucket": "b1", "key": None},
     {"op": "put", "bucket": "unknown", "key": "k"}, {"op": "delete-bucket", "bucket": "b1", "key": None},
     {"op": "bucket-cors", "bucket": "b1", "key": None}, {"op": "reset", "bucket": "b1", "key": None},
     {"op": "snapshot-restore", "bucket": "b1", "key": None}, {"op": "some-future-op", "bucket": "b1", "key": "k"}],
)
def test_bucket_events_and_unknown_buckets_ask_for_a_full_pass(event):
    assert batch_events([event], known_buckets={"b1"}).full_pass_because


def test_repeated_changes_of_a_key_coalesce_and_carry_the_version():
    events = [
        {"op": "put", "bucket": "b1", "key": "k", "etag": '"1"', "size": 1, "time": 100.0},
        {"op": "delete", "bucket": "b1", "key": "k", "time": 101.0},
        {"op": "put", "bucket": "b1", "key": "k", "etag": '"3"', "size": 3, "time": 102.0},
        {"op": "put", "bucket": "b1", "key": "old-gateway", "time": 103.0},
        {"op": "delete", "bucket": "b1", "key": "gone", "time": 104.0},
    ]
    batch = batch_events(events, known_buckets={"b1"})
    assert batch.oldest == 100.0
    remotes = {key: remote_from_event(event) for (_bucket, key), event in batch.latest.items()}
    assert remotes == {"k": RemoteObject("k", '"3"', 3), "old-gateway": False, "gone": None}


def mirror_of(export_dir, bucket):
    root = export_dir / bucket
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in root.rglob("*")
        if path.is_file()
    }


def s3_of(client, bucket):
    contents = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            contents[item["Key"]] = hashlib.sha256(body).hexdigest()
    return contents


@pytest.fixture
def feed_moto(exporter_env):
    servers = []

    def start(**env):
        server = MotoServer(env=env)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def follow(exporter_env, moto, **extra):
    """An exporter whose full passes are far apart: whatever arrives quickly came through the feed."""
    health_port = free_port()
    env = {**exporter_env, "AWS_ENDPOINT_URL": moto.url, "EXPORT_INTERVAL": "60", "FEED_FULL_PASS_INTERVAL": "600",
           "HEALTH_PORT": str(health_port), "DELETE_SYNC": "true", **extra}
    process = exporter_process(env)
    wait_until(lambda: _healthy(health_port), 60, "the exporter to be healthy")
    return process, health_port


def _healthy(port):
    try:
        return get_json(f"http://127.0.0.1:{port}/healthz")[0] == 200
    except OSError:
        return False


def test_a_put_shows_up_within_a_second_and_a_delete_goes(feed_moto, exporter_env, export_dir):
    moto = feed_moto()
    client = make_test_client(moto.url)
    client.create_bucket(Bucket="live-bucket", CreateBucketConfiguration=REGION)
    process, _ = follow(exporter_env, moto)
    try:
        client.put_object(Bucket="live-bucket", Key="fresh/file.txt", Body=b"now")
        put_at = time.monotonic()
        wait_until(lambda: (export_dir / "live-bucket/fresh/file.txt").exists(), 5, "the put to reach the mirror")
        assert time.monotonic() - put_at < 2.0
        assert (export_dir / "live-bucket/fresh/file.txt").read_bytes() == b"now"
        client.delete_object(Bucket="live-bucket", Key="fresh/file.txt")
        wait_until(lambda: not (export_dir / "live-bucket/fresh").exists(), 5, "the delete to reach the mirror")
        client.create_bucket(Bucket="new-bucket", CreateBucketConfiguration=REGION)
        client.put_object(Bucket="new-bucket", Key="k", Body=b"v")
        wait_until(lambda: (export_dir / "new-bucket/k").exists(), 5, "a new bucket's object in the mirror")
    finally:
        stop_process(process)
    assert process.returncode == 0
    assert "following the change feed" in process.stdout.read()


def test_a_burst_of_concurrent_puts_and_deletes_ends_byte_for_byte_equal(feed_moto, exporter_env, export_dir):
    moto = feed_moto()
    client = make_test_client(moto.url)
    client.create_bucket(Bucket="busy-bucket", CreateBucketConfiguration=REGION)
    process, health_port = follow(exporter_env, moto)

    def writer(seed):
        rng = random.Random(seed)
        own = make_test_client(moto.url)
        for _ in range(250):
            key = f"w/{rng.randint(0, 120)}.bin"
            if rng.random() < 0.3:
                own.delete_object(Bucket="busy-bucket", Key=key)
            else:
                own.put_object(Bucket="busy-bucket", Key=key, Body=os.urandom(rng.randint(0, 3000)))

    try:
        threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        expected = s3_of(client, "busy-bucket")
        try:
            wait_until(lambda: mirror_of(export_dir, "busy-bucket") == expected, 60, "the mirror to equal S3")
        except AssertionError:
            assert mirror_of(export_dir, "busy-bucket") == expected
        status = get_json(f"http://127.0.0.1:{health_port}/status")[1]
        assert status["change_syncs"] >= 5 and status["passes"] <= 2, "kept in step by the feed, not by passes"
    finally:
        stop_process(process)


def test_a_gap_in_the_feed_means_a_full_pass(feed_moto, exporter_env, export_dir):
    moto = feed_moto(GATEWAY_CHANGE_LOG_SIZE="5")
    client = make_test_client(moto.url)
    client.create_bucket(Bucket="gap-bucket", CreateBucketConfiguration=REGION)
    process, _ = follow(exporter_env, moto)
    try:
        stop_process_briefly = process.pid
        os.kill(stop_process_briefly, 19)  # SIGSTOP: the exporter misses the feed while 50 events pass
        try:
            for index in range(50):
                client.put_object(Bucket="gap-bucket", Key=f"g/{index}", Body=b"x" * index)
        finally:
            os.kill(stop_process_briefly, 18)  # SIGCONT
        wait_until(lambda: len(mirror_of(export_dir, "gap-bucket")) == 50, 30, "the full pass after the gap")
    finally:
        stop_process(process)
    assert "events were missed, doing a full pass" in process.stdout.read()


def test_a_moto_restart_seen_in_the_feed_restores_at_once(feed_moto, exporter_env, export_dir):
    moto = feed_moto()
    client = make_test_client(moto.url)
    client.create_bucket(Bucket="durable-bucket", CreateBucketConfiguration=REGION)
    client.put_object(Bucket="durable-bucket", Key="keep.txt", Body=b"kept", ContentType="text/plain")
    process, _ = follow(exporter_env, moto)
    try:
        moto.restart()
        client = make_test_client(moto.url)

        def restored():
            try:
                return client.get_object(Bucket="durable-bucket", Key="keep.txt")["Body"].read() == b"kept"
            except Exception:  # noqa: BLE001 (not back yet)
                return False

        wait_until(restored, 30, "the restore after the restart")
        assert (export_dir / "durable-bucket/keep.txt").read_bytes() == b"kept"
    finally:
        stop_process(process)
    assert "boot id changed" in process.stdout.read()


def test_the_gateway_client_marks_the_first_page_after_a_new_boot_id_wherever_it_was_seen(feed_moto):
    """The client is the one holder of the boot id: a restart seen first in /_health still marks the next
    feed page, so the loop's sequence number is never taken for one of the new Moto's."""
    moto = feed_moto()
    client = GatewayClient(moto.url)
    first = client.read(after=0, wait=0)
    assert first is not None and not first.restarted and client.boot_id == first.boot_id
    assert not client.read(after=first.last_seq, wait=0).restarted
    moto.restart()
    assert client.current_boot_id() not in (None, first.boot_id)
    assert client.boot_id != first.boot_id
    page = client.read(after=first.last_seq, wait=0)
    assert page.restarted and page.boot_id == client.boot_id
    assert not client.read(after=page.last_seq, wait=0).restarted, "marked once"
    moto.restart()
    assert client.read(after=page.last_seq, wait=0).restarted, "and a restart seen in the feed itself"


def test_without_a_feed_the_exporter_polls(exporter_env, export_dir):
    port = free_port()
    plain = MotoServer(port=port, command=[sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)])
    plain.start()
    try:
        client = make_test_client(plain.url)
        client.create_bucket(Bucket="plain-bucket", CreateBucketConfiguration=REGION)
        process = exporter_process({**exporter_env, "AWS_ENDPOINT_URL": plain.url, "EXPORT_INTERVAL": "1",
                                    "HEALTH_PORT": "0"})
        try:
            client.put_object(Bucket="plain-bucket", Key="polled.txt", Body=b"p")
            wait_until(lambda: (export_dir / "plain-bucket/polled.txt").exists(), 20, "the object mirrored by polling")
        finally:
            stop_process(process)
        assert "no change feed at" in process.stdout.read()
    finally:
        plain.stop()
