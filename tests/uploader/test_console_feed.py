"""The console's one follower of the gateway's change feed per process, against the session's gateway."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from uploader.console.feed import FeedFollower


def test_a_wait_returns_the_events_after_its_number(moto_server, s3):
    bucket = f"feed-{uuid.uuid4().hex[:12]}"
    follower = FeedFollower(moto_server.url)
    boot, seq = follower.position()
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    s3.put_object(Bucket=bucket, Key="p/x y", Body=b"1")
    events = []
    while not any(event.get("key") == "p/x y" for event in events):
        moved = follower.wait(boot, seq, 10)
        assert moved.boot == boot and moved.events is not None
        events += moved.events
        seq = moved.seq
    assert any(event["op"] == "create-bucket" and event["bucket"] == bucket for event in events)


def test_another_boot_id_means_reload(moto_server):
    follower = FeedFollower(moto_server.url)
    boot, seq = follower.position()
    moved = follower.wait("a-gateway-that-restarted", seq, 5)
    assert moved.boot == boot and moved.events is None


def test_many_pages_waiting_at_once_share_one_poll_of_the_gateway(moto_server, s3):
    """The gateway lets 4 polls wait at once; 20 pages waiting through one follower all see the change."""
    bucket = f"feed-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    follower = FeedFollower(moto_server.url)
    boot, seq = follower.position()
    follower.wait(boot, 2**62, 2)  # the follower has caught up: its position is known

    def wait_for_the_put(_):
        after = seq
        while True:
            moved = follower.wait(boot, after, 10)
            if any(event.get("key") == "shared" for event in moved.events or []):
                return True
            after = moved.seq

    with ThreadPoolExecutor(20) as pool:
        waiting = [pool.submit(wait_for_the_put, index) for index in range(20)]
        s3.put_object(Bucket=bucket, Key="shared", Body=b"1")
        assert all(future.result(timeout=30) for future in waiting)


def test_without_an_endpoint_there_is_no_feed():
    follower = FeedFollower(None)
    assert follower.position() is None and follower.wait("b", 0, 1) is None
