"""PutBucketLogging / GetBucketLogging as S3 validates them (s3_features/bucket_logging.py and Moto's own
checks), against a real gateway with boto3. Pages: S3 User Guide "Logging requests with server access
logging" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerLogs.html), "Permissions for log
delivery" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html) and S3
API Reference, PutBucketLogging
(https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLogging.html)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from testkit.clients import REGION, make_test_client
from tests.moto_gateway.access_support import (
    accounts_server,  # noqa: F401 (fixture)
    alice,
    gateway,  # noqa: F401 (fixture)
    new_bucket,
    owner,
)


def refused(call, **kwargs) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as error:
        call(**kwargs)
    answer = error.value.response
    return answer["ResponseMetadata"]["HTTPStatusCode"], answer["Error"]["Code"], answer["Error"]["Message"]


def log_target(s3, name: str, region: str = REGION, **create) -> str:
    """A bucket whose policy lets the logging service write to it (the way S3 recommends to grant it)."""
    bucket = name
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}, **create)
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    return bucket


def logging_to(target: str, **more) -> dict:
    return {"LoggingEnabled": {"TargetBucket": target, "TargetPrefix": "logs/", **more}}


def test_the_target_bucket_is_the_owners_in_the_same_region(gateway):  # noqa: F811
    """"Both the source and destination buckets must be in the same AWS Region and owned by the same
    account": a target of another account is 400 InvalidTargetBucketForLogging ("The owner for the bucket to
    be logged and the target bucket must be the same."), one that does not exist is too, one in another
    Region is 403 CrossLocationLoggingProhibited; the owner's target in the Region is kept and read back, and
    an empty status turns logging off."""
    s3 = owner(gateway)
    source = new_bucket(s3, "source")
    log_target(s3, "logs")
    log_target(alice(gateway), "alices-logs")
    status, code, message = refused(
        s3.put_bucket_logging, Bucket=source, BucketLoggingStatus=logging_to("alices-logs")
    )
    assert (status, code) == (400, "InvalidTargetBucketForLogging")
    assert message == "The owner for the bucket to be logged and the target bucket must be the same."
    assert refused(s3.put_bucket_logging, Bucket=source, BucketLoggingStatus=logging_to("absent"))[:2] == (
        400, "InvalidTargetBucketForLogging")
    log_target(make_test_client(gateway.url, region="eu-west-1"), "eu-logs", region="eu-west-1")
    assert refused(s3.put_bucket_logging, Bucket=source, BucketLoggingStatus=logging_to("eu-logs"))[:2] == (
        403, "CrossLocationLoggingProhibited")
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=source)
    s3.put_bucket_logging(Bucket=source, BucketLoggingStatus=logging_to("logs"))
    kept = s3.get_bucket_logging(Bucket=source)["LoggingEnabled"]
    assert kept == {"TargetBucket": "logs", "TargetPrefix": "logs/"}
    s3.put_bucket_logging(Bucket=source, BucketLoggingStatus={})
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=source)


def test_no_target_grants_for_a_bucket_owner_enforced_target(gateway):  # noqa: F811
    """PutBucketLogging, TargetGrants: "Buckets that use the bucket owner enforced setting for Object
    Ownership don't support target grants": 400 AccessControlListNotSupported; the same target without grants
    is accepted."""
    s3 = owner(gateway)
    source = new_bucket(s3, "source")
    log_target(s3, "enforced-logs", ObjectOwnership="BucketOwnerEnforced")
    grants = [{"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
               "Permission": "READ"}]
    status, code, _message = refused(
        s3.put_bucket_logging,
        Bucket=source, BucketLoggingStatus=logging_to("enforced-logs", TargetGrants=grants),
    )
    assert (status, code) == (400, "AccessControlListNotSupported")
    s3.put_bucket_logging(Bucket=source, BucketLoggingStatus=logging_to("enforced-logs"))
