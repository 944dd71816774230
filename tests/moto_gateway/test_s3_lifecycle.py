"""Lifecycle validated and carried out as S3 does it (moto_gateway/s3_features/lifecycle.py). Pages: S3 User
Guide, "Lifecycle configuration elements" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/
intro-lifecycle-rules.html) and "Expiring objects"; S3 API Reference, PutBucketLifecycleConfiguration."""

from __future__ import annotations

import datetime

import pytest
import requests
from botocore.exceptions import ClientError

from moto_gateway.s3_features.lifecycle import Rule, Selector, Version, due, plan_key
from testkit.clients import REGION, make_test_client
from testkit.events import EventCapture
from testkit.servers import MotoServer
from tests.waiting import wait_until

DAY_SECONDS = 1  # GATEWAY_LIFECYCLE_DAY_SECONDS: a lifecycle day is one second


@pytest.fixture(scope="module")
def fast_days():
    server = MotoServer(env={"GATEWAY_LIFECYCLE_DAY_SECONDS": str(DAY_SECONDS)})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3(fast_days):
    fast_days.reset()
    return make_test_client(fast_days.url)


def bucket(s3, name: str, versioned: bool = False, **kwargs) -> str:
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}, **kwargs)
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def configure(s3, name: str, *rules: dict) -> None:
    s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": list(rules)})


def refused(s3, *rules: dict) -> str:
    with pytest.raises(ClientError) as error:
        configure(s3, "rules", *rules)
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error.value.response["Error"]["Code"]


def test_the_day_arithmetic_rounds_up_to_the_next_midnight_utc():
    """"Expiring objects": an object created 1/15/2014 10:30 AM UTC with a 3-day rule expires 1/19/2014
    00:00 UTC (the time plus the days, rounded up to the next midnight)."""
    created = datetime.datetime(2014, 1, 15, 10, 30, tzinfo=datetime.timezone.utc).timestamp()
    expected = datetime.datetime(2014, 1, 19, tzinfo=datetime.timezone.utc).timestamp()
    assert due(created, 3, 86400) == expected
    assert due(expected, 1, 86400) == expected + 86400  # exactly midnight stays on it


def test_a_plan_keeps_newer_noncurrent_versions_and_locked_ones():
    """NoncurrentVersionExpiration: NewerNoncurrentVersions newest noncurrent versions are kept; a version
    under Object Lock is never deleted by lifecycle ("Managing Object Lock": lifecycle respects it)."""
    rule = Rule("r", True, Selector(), noncurrent_days=1, newer_noncurrent=1)
    versions = [Version("v1", 0, False), Version("v2", 10, False, locked=True), Version("v3", 20, False),
                Version("v4", 30, False)]
    actions = plan_key([rule], "k", versions, True, dict, now=10 * 86400, day_seconds=86400)
    assert [(a.kind, a.version_id) for a in actions] == [("delete-version", "v1")]


def test_rules_are_validated_as_s3_validates_them(s3):
    """PutBucketLifecycleConfiguration and LifecycleRule: an ID of at most 255 characters, unique; Status
    Enabled or Disabled; positive Days; a Date at midnight UTC; at least one action; no overlapping legacy
    prefixes for one action; no tag filter with AbortIncompleteMultipartUpload."""
    bucket(s3, "rules")
    expire = {"Expiration": {"Days": 1}}
    assert refused(s3, {"ID": "x" * 256, "Filter": {"Prefix": ""}, "Status": "Enabled", **expire}) == (
        "InvalidArgument")
    same = {"ID": "same", "Filter": {"Prefix": "a/"}, "Status": "Enabled", **expire}
    assert refused(s3, same, same | {"Filter": {"Prefix": "b/"}}) == "InvalidArgument"
    assert refused(s3, {"ID": "s", "Filter": {"Prefix": ""}, "Status": "enabled", **expire}) == "MalformedXML"
    assert refused(s3, {"ID": "d", "Filter": {"Prefix": ""}, "Status": "Enabled", "Expiration": {"Days": 0}}) == (
        "InvalidArgument")
    noon = datetime.datetime(2030, 1, 1, 12, tzinfo=datetime.timezone.utc)
    assert refused(s3, {"ID": "t", "Filter": {"Prefix": ""}, "Status": "Enabled", "Expiration": {"Date": noon}}) == (
        "InvalidArgument")
    assert refused(s3, {"ID": "n", "Filter": {"Prefix": ""}, "Status": "Enabled"}) == "InvalidRequest"
    assert refused(s3, {"ID": "o1", "Prefix": "logs/", "Status": "Enabled", **expire},
                   {"ID": "o2", "Prefix": "logs/old/", "Status": "Enabled", **expire}) == "InvalidRequest"
    assert refused(s3, {"ID": "m", "Filter": {"Tag": {"Key": "a", "Value": "b"}}, "Status": "Enabled",
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}) == "InvalidArgument"
    configure(s3, "rules", {"ID": "ok", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled", **expire},
              {"ID": "ok2", "Filter": {"Prefix": "tmp/old/"}, "Status": "Enabled", **expire})


def feed_deletions(server: MotoServer, bucket_name: str) -> list[str]:
    events = requests.get(f"{server.url}/_changes?after=0", timeout=10).json()["events"]
    return [e["key"] for e in events if e["op"] == "delete" and e["bucket"] == bucket_name]


def test_current_versions_expire_and_the_feed_records_it(s3, fast_days):
    """Expiration (Days) of current versions in an unversioned bucket deletes them once their day has come;
    a key outside the rule's filter stays; the change feed records each deletion (so the mirror follows), and
    the event is LifecycleExpiration:Delete ("Supported event types")."""
    events = EventCapture(fast_days.url, buckets=["expiring"], events=["s3:LifecycleExpiration:*"])
    bucket(s3, "expiring")
    configure(s3, "expiring", {"ID": "tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled",
                               "Expiration": {"Days": 1}})
    s3.put_object(Bucket="expiring", Key="tmp/a", Body=b"a")
    s3.put_object(Bucket="expiring", Key="keep/b", Body=b"b")
    wait_until(lambda: "tmp/a" in feed_deletions(fast_days, "expiring"), 30, "tmp/a's expiration in the feed")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="expiring")["Contents"]] == ["keep/b"]
    try:
        (record,) = events.wait_for(1)
        assert (record["eventName"], record["s3"]["object"]["key"]) == ("LifecycleExpiration:Delete", "tmp%2Fa")
    finally:
        events.close()


def test_versioned_expiration_noncurrent_versions_and_expired_delete_markers(s3):
    """In a versioned bucket, Expiration adds a delete marker; NoncurrentVersionExpiration removes the
    version it made noncurrent; ExpiredObjectDeleteMarker then removes the marker left alone, until the key
    has no version at all. A version under a legal hold is kept through all of it."""
    bucket(s3, "versions", versioned=True)
    configure(
        s3, "versions",
        {"ID": "current", "Filter": {"Prefix": ""}, "Status": "Enabled", "Expiration": {"Days": 1}},
        {"ID": "old", "Filter": {"Prefix": ""}, "Status": "Enabled",
         "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
        {"ID": "markers", "Filter": {"Prefix": ""}, "Status": "Enabled",
         "Expiration": {"ExpiredObjectDeleteMarker": True}},
    )
    s3.put_object(Bucket="versions", Key="k", Body=b"x")
    wait_until(lambda: "Versions" not in s3.list_object_versions(Bucket="versions")
               and "DeleteMarkers" not in s3.list_object_versions(Bucket="versions"), 30, "every version gone")


def test_a_locked_version_outlives_its_rule(s3):
    """Lifecycle and Object Lock ("How S3 Object Lock works"): the rule adds a delete marker over the
    locked version, and the locked version itself stays."""
    bucket(s3, "lockedlc", ObjectLockEnabledForBucket=True)
    configure(s3, "lockedlc",
              {"ID": "all", "Filter": {"Prefix": ""}, "Status": "Enabled", "Expiration": {"Days": 1},
               "NoncurrentVersionExpiration": {"NoncurrentDays": 1}})
    version = s3.put_object(Bucket="lockedlc", Key="k", Body=b"x", ObjectLockLegalHoldStatus="ON")["VersionId"]
    wait_until(lambda: s3.list_object_versions(Bucket="lockedlc").get("DeleteMarkers"), 30, "a delete marker")
    other = s3.put_object(Bucket="lockedlc", Key="free", Body=b"y")["VersionId"]
    wait_until(lambda: other not in {v["VersionId"] for v in
                                     s3.list_object_versions(Bucket="lockedlc").get("Versions", [])},
               30, "the unlocked version's expiry")
    assert version in {v["VersionId"] for v in s3.list_object_versions(Bucket="lockedlc")["Versions"]}


def test_incomplete_multipart_uploads_are_aborted(s3):
    """AbortIncompleteMultipartUpload: an upload not completed DaysAfterInitiation days after it was
    initiated is aborted (its parts go with it); one outside the filter stays."""
    bucket(s3, "uploads")
    configure(s3, "uploads", {"ID": "abort", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled",
                              "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}})
    s3.create_multipart_upload(Bucket="uploads", Key="tmp/big")
    kept = s3.create_multipart_upload(Bucket="uploads", Key="keep/big")["UploadId"]
    wait_until(lambda: [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="uploads").get("Uploads", [])]
               == [kept], 30, "the tmp/ upload aborted")
