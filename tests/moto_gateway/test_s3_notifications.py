"""S3 event notifications as AWS sends them, to webhooks and to SQS (moto_gateway/s3_features/notifications.py,
moto_patches/notification_events.py). Pages: S3 User Guide, "Supported event types"
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-event-types-and-destinations.html)
and "Event message structure" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html)."""

from __future__ import annotations

import json

import boto3
import pytest
import requests

from testkit.clients import REGION
from testkit.events import EventCapture
from tests.moto_gateway.access_support import (
    accounts_server,  # noqa: F401 (fixture)
    gateway,  # noqa: F401 (fixture)
    new_bucket,
    owner,
)
from tests.waiting import wait_until


@pytest.fixture
def events(gateway):  # noqa: F811
    capture = EventCapture(gateway.url)
    yield capture
    capture.close()


def complete(s3, bucket: str, key: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"part")
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})


def test_event_names_are_the_ones_aws_sends(gateway, events):  # noqa: F811
    """"Supported event types": PUT, POST, COPY and CompleteMultipartUpload are each their own
    ObjectCreated event (a completed multipart upload only CompleteMultipartUpload, not also Put);
    a DeleteObject that adds a delete marker is ObjectRemoved:DeleteMarkerCreated, one that removes the
    object ObjectRemoved:Delete; PutObjectTagging is ObjectTagging:Put (a PutObject is no tagging event)."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "named")
    s3.put_object(Bucket=bucket, Key="put", Body=b"x")
    form = s3.generate_presigned_post(bucket, "posted")
    assert requests.post(form["url"], data=form["fields"], files={"file": b"y"}, timeout=10).status_code == 204
    s3.copy_object(Bucket=bucket, Key="copied", CopySource={"Bucket": bucket, "Key": "put"})
    complete(s3, bucket, "multi")
    s3.delete_object(Bucket=bucket, Key="put")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.delete_object(Bucket=bucket, Key="copied")
    s3.put_object_tagging(Bucket=bucket, Key="posted", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    events.wait_for(7)
    assert events.names() == [
        "ObjectCreated:Put", "ObjectCreated:Post", "ObjectCreated:Copy", "ObjectCreated:CompleteMultipartUpload",
        "ObjectRemoved:Delete", "ObjectRemoved:DeleteMarkerCreated", "ObjectTagging:Put",
    ]


def test_a_record_has_the_fields_aws_writes(gateway, events):  # noqa: F811
    """"Event message structure": eventVersion 2.1, eventSource aws:s3, awsRegion, eventTime, eventName,
    userIdentity, requestParameters.sourceIPAddress, responseElements, and s3 with the bucket (name, ARN,
    owner) and the object (URL-encoded key, size, eTag, versionId in a versioned bucket, sequencer)."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "fields")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    written = s3.put_object(Bucket=bucket, Key="a b/ü", Body=b"hello")
    (record,) = events.wait_for(1)
    assert (record["eventVersion"], record["eventSource"], record["awsRegion"]) == ("2.1", "aws:s3", REGION)
    assert record["eventTime"].endswith("Z") and record["requestParameters"]["sourceIPAddress"] == "127.0.0.1"
    assert record["userIdentity"]["principalId"] == "AWS:123456789012"
    assert "x-amz-request-id" in record["responseElements"]
    assert record["s3"]["bucket"] == {"name": bucket, "ownerIdentity": {"principalId": "123456789012"},
                                      "arn": f"arn:aws:s3:::{bucket}"}
    obj = record["s3"]["object"]
    assert (obj["key"], obj["size"], obj["eTag"]) == ("a+b%2F%C3%BC", 5, written["ETag"].strip('"'))
    assert obj["versionId"] == written["VersionId"] and obj["sequencer"]


def test_sqs_gets_only_the_complete_multipart_upload_event(gateway):  # noqa: F811
    """A bucket's QueueConfiguration receives the same records: one CompleteMultipartUpload for a completed
    multipart upload (Moto also sent an ObjectCreated:Put)."""
    s3 = owner(gateway)
    sqs = boto3.client("sqs", endpoint_url=gateway.url, region_name=REGION, aws_access_key_id="test",
                       aws_secret_access_key="test")
    queue_url = sqs.create_queue(QueueName="s3-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bucket = new_bucket(s3, "queued")
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
    complete(s3, bucket, "multi")
    received: list[str] = []

    def drained() -> bool:
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            received.extend(r["eventName"] for r in json.loads(message["Body"]).get("Records", []))
        return bool(received)

    wait_until(drained, 10, "the queue's first message")
    drained()
    assert received == ["ObjectCreated:CompleteMultipartUpload"]


def test_webhooks_are_registered_filtered_and_refused_when_malformed(gateway):  # noqa: F811
    """/_events/webhooks: a webhook names its buckets and event patterns; a malformed one is a 400."""
    s3 = owner(gateway)
    new_bucket(s3, "watched")
    new_bucket(s3, "ignored")
    capture = EventCapture(gateway.url, buckets=["watched"], events=["s3:ObjectRemoved:*"])
    try:
        s3.put_object(Bucket="watched", Key="k", Body=b"x")
        s3.delete_object(Bucket="ignored", Key="nothing")
        s3.delete_object(Bucket="watched", Key="k")
        (record,) = capture.wait_for(1)
        assert (record["eventName"], record["s3"]["bucket"]["name"]) == ("ObjectRemoved:Delete", "watched")
        listed = requests.get(f"{gateway.url}/_events/webhooks", timeout=10).json()["webhooks"]
        assert [w["id"] for w in listed] == [capture.webhook_id]
    finally:
        capture.close()
    assert requests.get(f"{gateway.url}/_events/webhooks", timeout=10).json()["webhooks"] == []
    for bad in ({"url": "ftp://x"}, {"buckets": []}, {"url": "http://x", "events": [1]}):
        assert requests.post(f"{gateway.url}/_events/webhooks", json=bad, timeout=10).status_code == 400


def test_each_deleted_version_is_announced(gateway, events):  # noqa: F811
    """"Supported event types", s3:ObjectRemoved:Delete: a DeleteObject of a version (versionId) deletes it
    permanently and is announced naming that version, also while other versions remain (Moto announced only
    the last one, naming the current version)."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "versionsgone")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"1")["VersionId"]
    second = s3.put_object(Bucket=bucket, Key="k", Body=b"22")["VersionId"]
    s3.delete_object(Bucket=bucket, Key="k", VersionId=first)
    s3.delete_object(Bucket=bucket, Key="k", VersionId=second)
    records = events.wait_for(4)
    deletions = [(r["eventName"], r["s3"]["object"].get("versionId")) for r in records[2:]]
    assert deletions == [("ObjectRemoved:Delete", first), ("ObjectRemoved:Delete", second)]
