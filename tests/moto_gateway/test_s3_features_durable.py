"""What issue 28's layers keep on Moto's objects survives a kill -9 of a gateway with GATEWAY_STATE_DIR
(issue 24's state folder): an SSE-C object still needs its key (only the salted HMAC was stored), Object
Lock still protects a version, and the lifecycle rules the gateway kept still act after the restart."""

from __future__ import annotations

import datetime

import pytest
import requests
from botocore.exceptions import ClientError

from testkit.clients import REGION, make_test_client
from testkit.events import EventCapture
from testkit.servers import MotoServer
from tests.waiting import wait_until

KEY = bytes(range(32))
ALICE_ID = "a1" * 32
CREDENTIALS = f"alice-key:alice-secret:111111111111:id={ALICE_ID}:name=alice"
LATER = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=30)


def failure(call, **kwargs) -> str:
    with pytest.raises(ClientError) as error:
        call(**kwargs)
    return error.value.response["Error"]["Code"]


def test_sse_c_lock_and_lifecycle_survive_a_crash(tmp_path):
    server = MotoServer(env={"GATEWAY_STATE_DIR": str(tmp_path), "GATEWAY_LIFECYCLE_DAY_SECONDS": "1"})
    server.start()
    try:
        s3 = make_test_client(server.url)
        s3.create_bucket(Bucket="kept", CreateBucketConfiguration={"LocationConstraint": REGION},
                         ObjectLockEnabledForBucket=True)
        s3.put_object(Bucket="kept", Key="secret", Body=b"s", SSECustomerAlgorithm="AES256", SSECustomerKey=KEY)
        locked = s3.put_object(Bucket="kept", Key="locked", Body=b"l", ObjectLockMode="COMPLIANCE",
                               ObjectLockRetainUntilDate=LATER)["VersionId"]
        s3.put_bucket_lifecycle_configuration(Bucket="kept", LifecycleConfiguration={"Rules": [
            {"ID": "tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled", "Expiration": {"Days": 1}}]})
        server.kill()
        server.start()
        s3 = make_test_client(server.url)
        wait_until(lambda: requests_ok(s3), 30, "the state folder loaded")
        assert failure(s3.get_object, Bucket="kept", Key="secret") == "InvalidRequest"
        read = s3.get_object(Bucket="kept", Key="secret", SSECustomerAlgorithm="AES256", SSECustomerKey=KEY)
        assert read["Body"].read() == b"s"
        assert failure(s3.delete_object, Bucket="kept", Key="locked", VersionId=locked) == "AccessDenied"
        rules = s3.get_bucket_lifecycle_configuration(Bucket="kept")["Rules"]
        assert [rule["ID"] for rule in rules] == ["tmp"]
        s3.put_object(Bucket="kept", Key="tmp/a", Body=b"x")  # the kept document's rule, not a new one
        wait_until(lambda: s3.list_object_versions(Bucket="kept", Prefix="tmp/").get("DeleteMarkers"), 30,
                   "the rule's delete marker after the restart")
    finally:
        server.stop()


def requests_ok(s3) -> bool:
    try:
        s3.head_bucket(Bucket="kept")
        return True
    except ClientError:
        return False


def test_the_writer_of_another_accounts_object_survives_a_crash(tmp_path):
    """S3 User Guide, "Controlling ownership of objects": with ObjectWriter the account that uploads an object
    owns it. Who that is lives on Moto's FakeKey (access/writers.py), so after a kill -9 the object is still
    the writer's: its ACL answer names the writer, and the bucket owner, granted nothing by that ACL, may not
    read it; an object written with bucket-owner-full-control still grants the bucket owner its ACL."""
    server = MotoServer(env={"GATEWAY_STATE_DIR": str(tmp_path), "GATEWAY_CREDENTIALS": CREDENTIALS})
    server.start()
    try:
        s3, alice = make_test_client(server.url), make_test_client(server.url, key="alice-key", secret="alice-secret")
        s3.create_bucket(Bucket="kept", CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_acl(Bucket="kept", GrantWrite=f"id={ALICE_ID}",
                          GrantFullControl=f"id={s3.get_bucket_acl(Bucket='kept')['Owner']['ID']}")
        alice.put_object(Bucket="kept", Key="alices", Body=b"a")
        alice.put_object(Bucket="kept", Key="handed", Body=b"h", ACL="bucket-owner-full-control")
        server.kill()
        server.start()
        s3, alice = make_test_client(server.url), make_test_client(server.url, key="alice-key", secret="alice-secret")
        wait_until(lambda: requests_ok(s3), 30, "the state folder loaded")
        assert alice.get_object_acl(Bucket="kept", Key="alices")["Owner"]["ID"] == ALICE_ID
        assert failure(s3.get_object_acl, Bucket="kept", Key="alices") == "AccessDenied"
        assert s3.get_object_acl(Bucket="kept", Key="handed")["Owner"]["ID"] == ALICE_ID
    finally:
        server.stop()


def test_registered_webhooks_survive_a_crash(tmp_path):
    """docs/s3-behaviour.md, "Event notifications": with GATEWAY_STATE_DIR a webhook registered at
    /_events/webhooks is kept in the state folder before the registration is answered, as a removal is, so
    after a kill -9 the gateway still delivers the bucket's events to it (S3 User Guide, "Amazon S3 Event
    Notifications": a notification configuration stays until it is changed) and no longer knows a removed one."""
    server = MotoServer(env={"GATEWAY_STATE_DIR": str(tmp_path)})
    server.start()
    capture = None
    try:
        s3 = make_test_client(server.url)
        s3.create_bucket(Bucket="kept", CreateBucketConfiguration={"LocationConstraint": REGION})
        capture = EventCapture(server.url, buckets=["kept"], events=["s3:ObjectCreated:*"])
        removed = EventCapture(server.url)
        removed.close()
        server.kill()
        server.start()
        s3 = make_test_client(server.url)
        wait_until(lambda: requests_ok(s3), 30, "the state folder loaded")
        listed = requests.get(f"{server.url}/_events/webhooks", timeout=10).json()["webhooks"]
        assert [(w["id"], w["buckets"], w["events"]) for w in listed] == [
            (capture.webhook_id, ["kept"], ["s3:ObjectCreated:*"])]
        s3.put_object(Bucket="kept", Key="after", Body=b"x")
        (record,) = capture.wait_for(1)
        assert (record["eventName"], record["s3"]["object"]["key"]) == ("ObjectCreated:Put", "after")
        gone = requests.delete(f"{server.url}/_events/webhooks/{capture.webhook_id}", timeout=10)
        assert gone.status_code == 204
    finally:
        if capture is not None:
            capture.server.shutdown()
            capture.server.server_close()
        server.stop()


def test_a_delete_that_crossed_an_upload_still_conflicts_after_a_crash(tmp_path):
    """CompleteMultipartUpload with If-None-Match answers 409 ConditionalRequestConflict after a delete of
    its key crossed the upload (s3_features/conditional_requests.py); the mark is stored with the delete,
    so a kill -9 between the delete and the completion keeps the answer S3 gives."""
    server = MotoServer(env={"GATEWAY_STATE_DIR": str(tmp_path)})
    server.start()
    try:
        s3 = make_test_client(server.url)
        s3.create_bucket(Bucket="crossed", CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket="crossed", Key="k", Body=b"old")
        upload = s3.create_multipart_upload(Bucket="crossed", Key="k")["UploadId"]
        part = s3.upload_part(Bucket="crossed", Key="k", UploadId=upload, PartNumber=1, Body=b"new")
        s3.delete_object(Bucket="crossed", Key="k")
        server.kill()
        server.start()
        s3 = make_test_client(server.url)
        wait_until(lambda: s3.list_multipart_uploads(Bucket="crossed").get("Uploads"), 30, "the folder loaded")
        with pytest.raises(ClientError) as error:
            s3.complete_multipart_upload(
                Bucket="crossed", Key="k", UploadId=upload, IfNoneMatch="*",
                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
            )
        assert error.value.response["Error"]["Code"] == "ConditionalRequestConflict"
    finally:
        server.stop()
