"""The change feed: which requests it records, its long poll, gaps and boot id, through a real gateway."""

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
import requests

from moto_gateway.state.changes import ChangeLog, classify, deleted_keys
from tests.waiting import wait_until
from testkit.clients import REGION, make_test_client
from testkit.servers import MotoServer


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("PUT", "/b1/k", {}, ("put", "b1", "k")),
        ("PUT", "/b1/dir/k", {"x-id": ["PutObject"]}, ("put", "b1", "dir/k")),
        ("PUT", "/b1/k", {"partNumber": ["1"], "uploadId": ["u"]}, None),
        ("PUT", "/b1/k", {"tagging": [""]}, None),
        ("POST", "/b1/k", {"uploadId": ["u"]}, ("put", "b1", "k")),
        ("POST", "/b1/k", {"uploads": [""]}, None),
        ("DELETE", "/b1/k", {}, ("delete", "b1", "k")),
        ("DELETE", "/b1/k", {"uploadId": ["u"]}, None),
        ("PUT", "/b1", {}, ("create-bucket", "b1", None)),
        ("PUT", "/b1", {"cors": [""]}, ("bucket-cors", "b1", None)),
        ("DELETE", "/b1", {"cors": [""]}, ("bucket-cors", "b1", None)),
        ("PUT", "/b1", {"tagging": [""]}, None),
        ("DELETE", "/b1", {}, ("delete-bucket", "b1", None)),
        ("POST", "/b1", {"delete": [""]}, ("delete-objects", "b1", None)),
        ("POST", "/b1", {}, ("post-upload", "b1", None)),
        ("GET", "/b1/k", {}, None),
        ("POST", "/moto-api/reset", {}, None),
        ("GET", "/_changes", {}, None),
    ],
)
def test_classify(method, path, query, expected):
    assert classify(method, path, query) == expected


def test_deleted_keys_come_from_the_response():
    body = (b'<?xml version="1.0"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            b"<Deleted><Key>a/b</Key></Deleted><Deleted><Key>c</Key></Deleted>"
            b"<Error><Key>x</Key><Code>AccessDenied</Code></Error></DeleteResult>")
    assert deleted_keys(body)[:2] == ["a/b", "c"]
    assert deleted_keys(b"not xml") == []


def test_log_is_bounded_and_reports_gaps():
    log = ChangeLog(capacity=3, boot_id="boot")
    for index in range(5):
        log.append("put", "b1", f"k{index}")
    page = log.read(after=2, wait=0)
    assert page["gap"] is False and [e["key"] for e in page["events"]] == ["k2", "k3", "k4"]
    assert log.read(after=1, wait=0)["gap"] is True, "events 2.. were dropped: the reader missed one"
    assert log.read(after=9, wait=0)["gap"] is True, "a sequence number from another boot"
    assert log.read(after=5, wait=0) == {"boot_id": "boot", "last_seq": 5, "first_seq": 3, "gap": False, "events": []}


def test_long_poll_returns_as_soon_as_an_event_arrives():
    log = ChangeLog()
    threading.Timer(0.3, log.append, ("put", "b1", "late")).start()
    started = time.monotonic()
    page = log.read(after=0, wait=10)
    assert [e["key"] for e in page["events"]] == ["late"]
    assert 0.2 < time.monotonic() - started < 5


def feed(url, after=0, wait=0):
    with urllib.request.urlopen(f"{url}/_changes?after={after}&wait={wait}", timeout=wait + 10) as response:
        return json.loads(response.read())


def test_gateway_records_every_successful_mutation(moto, s3):
    start = feed(moto.url)["last_seq"]
    s3.create_bucket(Bucket="feed-bucket", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    s3.put_object(Bucket="feed-bucket", Key="a b/ü+x", Body=b"1")
    s3.copy_object(Bucket="feed-bucket", Key="copy", CopySource={"Bucket": "feed-bucket", "Key": "a b/ü+x"})
    s3.delete_objects(Bucket="feed-bucket", Delete={"Objects": [{"Key": "copy"}]})
    upload = s3.create_multipart_upload(Bucket="feed-bucket", Key="mp")
    part = s3.upload_part(Bucket="feed-bucket", Key="mp", UploadId=upload["UploadId"], PartNumber=1, Body=b"x")
    s3.complete_multipart_upload(Bucket="feed-bucket", Key="mp", UploadId=upload["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    post = s3.generate_presigned_post("feed-bucket", "posted.txt")
    assert requests.post(post["url"], data=post["fields"], files={"file": ("p.txt", b"hi")}).status_code == 204
    s3.delete_object(Bucket="feed-bucket", Key="mp")
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket="feed-bucket", Key="nope")
    with pytest.raises(s3.exceptions.ClientError):
        s3.put_object(Bucket="no-such-bucket", Key="k", Body=b"1")
    s3.delete_object(Bucket="feed-bucket", Key="posted.txt")
    s3.delete_object(Bucket="feed-bucket", Key="a b/ü+x")
    s3.delete_bucket(Bucket="feed-bucket")
    events = [(e["op"], e["key"]) for e in feed(moto.url, after=start)["events"]]
    assert events == [
        ("create-bucket", None), ("put", "a b/ü+x"), ("put", "copy"), ("delete", "copy"), ("put", "mp"),
        ("put", "posted.txt"), ("delete", "mp"), ("delete", "posted.txt"), ("delete", "a b/ü+x"),
        ("delete-bucket", None),
    ]


def test_boot_id_is_in_health_and_feed_and_changes_with_a_restart():
    server = MotoServer()
    server.start()
    try:
        with urllib.request.urlopen(f"{server.url}/_health") as response:
            health = json.loads(response.read())
        assert health["boot_id"] == feed(server.url)["boot_id"] and health["change_feed"] is True
        server.restart()
        assert feed(server.url)["boot_id"] != health["boot_id"]
    finally:
        server.stop()


def test_bad_feed_parameters_are_a_400_with_a_message(moto):
    for query in ("after=x", "after=-1", "wait=31", "wait=soon"):
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(f"{moto.url}/_changes?{query}")
        assert error.value.code == 400
        assert "after must be" in json.loads(error.value.read())["error"]


def test_put_events_carry_the_version_written(moto, s3):
    """ETag, size, content type and last-modified of the version each put wrote: no HEAD needed."""
    start = feed(moto.url)["last_seq"]
    s3.create_bucket(Bucket="version-bucket", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    put = s3.put_object(Bucket="version-bucket", Key="dir/a.txt", Body=b"12345", ContentType="text/plain")
    s3.copy_object(Bucket="version-bucket", Key="b.bin", CopySource={"Bucket": "version-bucket", "Key": "dir/a.txt"},
                   ContentType="application/x-thing", MetadataDirective="REPLACE")
    upload = s3.create_multipart_upload(Bucket="version-bucket", Key="mp")
    part = s3.upload_part(Bucket="version-bucket", Key="mp", UploadId=upload["UploadId"], PartNumber=1,
                          Body=b"x" * 7)
    completed = s3.complete_multipart_upload(Bucket="version-bucket", Key="mp", UploadId=upload["UploadId"],
                                             MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    s3.delete_object(Bucket="version-bucket", Key="mp")
    events = {(e["op"], e["key"]): e for e in feed(moto.url, after=start)["events"]}
    first = events[("put", "dir/a.txt")]
    head = s3.head_object(Bucket="version-bucket", Key="dir/a.txt")
    assert (first["etag"], first["size"], first["content_type"]) == (put["ETag"], 5, "text/plain")
    assert first["last_modified"].startswith(head["LastModified"].strftime("%Y-%m-%dT%H:%M:%S"))
    copied = events[("put", "b.bin")]
    assert (copied["etag"], copied["size"], copied["content_type"]) == (put["ETag"], 5, "application/x-thing")
    assert (events[("put", "mp")]["etag"], events[("put", "mp")]["size"]) == (completed["ETag"], 7)
    assert "etag" not in events[("delete", "mp")], "a delete carries no version"


def test_a_put_whose_version_cannot_be_read_still_goes_out_without_it():
    from moto_gateway.state.changes import ChangeRecorder

    def moto_app(environ, start_response):
        start_response("200 OK", [("ETag", '"x"')])
        return [b""]

    def broken(bucket, key):
        raise RuntimeError("backend moved")

    log = ChangeLog(boot_id="b")
    recorder = ChangeRecorder(moto_app, log, describe=broken)
    list(recorder({"REQUEST_METHOD": "PUT", "PATH_INFO": "/b1/k", "QUERY_STRING": ""}, lambda *a: None))
    log.append("reset", "b1")
    events = log.read(after=0, wait=0)["events"]
    assert [(e["op"], e["key"]) for e in events] == [("put", "k"), ("reset", None)]
    assert "etag" not in events[0]


def test_waiting_polls_cannot_take_every_thread():
    """GATEWAY_MAX_WAITING_POLLS: with 4 threads and at most 2 waiting polls, a third waiting poll is answered
    at once with 503 and Retry-After, S3 requests are still served while the two wait, a poll that does not
    wait is always answered, and the waiting polls return as soon as a change arrives."""
    server = MotoServer(env={"GATEWAY_THREADS": "4", "GATEWAY_MAX_WAITING_POLLS": "2"})
    server.start()
    try:
        s3 = make_test_client(server.url)
        s3.create_bucket(Bucket="polls", CreateBucketConfiguration={"LocationConstraint": REGION})
        last = requests.get(f"{server.url}/_changes?after=0", timeout=10).json()["last_seq"]
        answers: list[requests.Response] = []

        def poll_until_admitted() -> None:
            url = f"{server.url}/_changes?after={last}&wait=20"
            while (answer := requests.get(url, timeout=30)).status_code == 503:
                time.sleep(0.05)  # the probe below holds a slot for a moment
            answers.append(answer)

        pollers = [threading.Thread(target=poll_until_admitted) for _ in range(2)]
        for poller in pollers:
            poller.start()
        probe = f"{server.url}/_changes?after={last}&wait=0.2"
        wait_until(lambda: requests.get(probe, timeout=10).status_code == 503, 15, "both polls waiting")
        started = time.monotonic()
        refused = requests.get(f"{server.url}/_changes?after={last}&wait=20", timeout=10)
        assert (refused.status_code, refused.headers["Retry-After"]) == (503, "1")
        assert requests.get(f"{server.url}/_changes?after={last}&wait=0", timeout=10).status_code == 200
        assert s3.list_objects_v2(Bucket="polls")["KeyCount"] == 0
        assert time.monotonic() - started < 5
        s3.put_object(Bucket="polls", Key="wake", Body=b"1")
        for poller in pollers:
            poller.join(timeout=15)
        assert sorted(answer.status_code for answer in answers) == [200, 200]
        assert all(answer.json()["events"][0]["key"] == "wake" for answer in answers)
    finally:
        server.stop()
