"""Object Lock enforced as S3 enforces it (moto_gateway/s3_features/object_lock.py), against a real gateway
with boto3. Pages: S3 User Guide "Locking objects with Object Lock"
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html) and the S3 API Reference pages named
in each test."""

from __future__ import annotations

import datetime
import json

import pytest
from botocore.exceptions import ClientError

from tests.moto_gateway.access_support import (
    accounts_server,  # noqa: F401 (fixture)
    alice,
    gateway,  # noqa: F401 (fixture)
    new_bucket,
    owner,
)

LATER = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=30)
MUCH_LATER = LATER + datetime.timedelta(days=30)


def refused(call, **kwargs) -> tuple[int, str]:
    with pytest.raises(ClientError) as error:
        call(**kwargs)
    return error.value.response["ResponseMetadata"]["HTTPStatusCode"], error.value.response["Error"]["Code"]


def lock_bucket(s3, name: str) -> str:
    return new_bucket(s3, name, ObjectLockEnabledForBucket=True)


def put_locked(s3, bucket: str, key: str, mode: str = "GOVERNANCE", body: bytes = b"x") -> str:
    return s3.put_object(
        Bucket=bucket, Key=key, Body=body, ObjectLockMode=mode, ObjectLockRetainUntilDate=LATER
    )["VersionId"]


def test_a_retained_version_is_not_deleted_and_governance_gives_way_to_the_bypass(gateway):  # noqa: F811
    """DeleteObject (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html) of a retained
    version: 403 AccessDenied; without a versionId it adds a delete marker; x-amz-bypass-governance-retention
    lets the owner delete a GOVERNANCE version; an overwrite adds a version and keeps the locked one."""
    s3 = owner(gateway)
    bucket = lock_bucket(s3, "locked")
    version = put_locked(s3, bucket, "k")
    assert refused(s3.delete_object, Bucket=bucket, Key="k", VersionId=version) == (403, "AccessDenied")
    newer = s3.put_object(Bucket=bucket, Key="k", Body=b"newer")["VersionId"]
    marker = s3.delete_object(Bucket=bucket, Key="k")
    assert marker["DeleteMarker"] is True
    versions = {v["VersionId"] for v in s3.list_object_versions(Bucket=bucket)["Versions"]}
    assert versions == {version, newer}
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=version)["Body"].read() == b"x"
    s3.delete_object(Bucket=bucket, Key="k", VersionId=version, BypassGovernanceRetention=True)
    assert version not in {v["VersionId"] for v in s3.list_object_versions(Bucket=bucket)["Versions"]}


def test_compliance_is_never_bypassed_and_only_lengthened(gateway):  # noqa: F811
    """PutObjectRetention (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectRetention.html) and
    "Retention modes": COMPLIANCE cannot be shortened, removed or changed to GOVERNANCE, even with the
    bypass; it can be lengthened. GOVERNANCE can be lengthened, and shortened or changed only with it."""
    s3 = owner(gateway)
    bucket = lock_bucket(s3, "compliance")
    version = put_locked(s3, bucket, "c", mode="COMPLIANCE")
    call = dict(Bucket=bucket, Key="c", VersionId=version)
    assert refused(s3.delete_object, **call, BypassGovernanceRetention=True) == (403, "AccessDenied")
    shorter = {"Mode": "COMPLIANCE", "RetainUntilDate": LATER - datetime.timedelta(days=1)}
    assert refused(s3.put_object_retention, **call, Retention=shorter, BypassGovernanceRetention=True) == (
        403, "AccessDenied")
    to_governance = {"Mode": "GOVERNANCE", "RetainUntilDate": MUCH_LATER}
    assert refused(s3.put_object_retention, **call, Retention=to_governance) == (403, "AccessDenied")
    s3.put_object_retention(**call, Retention={"Mode": "COMPLIANCE", "RetainUntilDate": MUCH_LATER})
    stored = s3.get_object_retention(**call)["Retention"]
    assert (stored["Mode"], stored["RetainUntilDate"].date()) == ("COMPLIANCE", MUCH_LATER.date())
    governed = put_locked(s3, bucket, "g")
    call = dict(Bucket=bucket, Key="g", VersionId=governed)
    assert refused(s3.put_object_retention, **call, Retention=shorter | {"Mode": "GOVERNANCE"}) == (
        403, "AccessDenied")
    assert refused(s3.put_object_retention, **call, Retention=to_governance | {"Mode": "COMPLIANCE"}) == (
        403, "AccessDenied")
    s3.put_object_retention(**call, Retention=to_governance | {"Mode": "COMPLIANCE"}, BypassGovernanceRetention=True)
    assert s3.get_object_retention(**call)["Retention"]["Mode"] == "COMPLIANCE"


def test_a_legal_hold_keeps_a_version_until_it_is_off(gateway):  # noqa: F811
    """PutObjectLegalHold (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectLegalHold.html): a
    version under a legal hold is not deleted, bypass or not, until the hold is OFF; Status is ON or OFF."""
    s3 = owner(gateway)
    bucket = lock_bucket(s3, "held")
    version = s3.put_object(Bucket=bucket, Key="h", Body=b"x", ObjectLockLegalHoldStatus="ON")["VersionId"]
    call = dict(Bucket=bucket, Key="h", VersionId=version)
    assert s3.get_object_legal_hold(**call)["LegalHold"]["Status"] == "ON"
    assert refused(s3.delete_object, **call, BypassGovernanceRetention=True) == (403, "AccessDenied")
    assert refused(s3.put_object_legal_hold, **call, LegalHold={"Status": "abc"}) == (400, "MalformedXML")
    s3.put_object_legal_hold(**call, LegalHold={"Status": "OFF"})
    s3.delete_object(**call)
    assert "Versions" not in s3.list_object_versions(Bucket=bucket)


def test_default_retention_applies_to_every_new_version(gateway):  # noqa: F811
    """PutObjectLockConfiguration
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectLockConfiguration.html): a default
    retention is given to every new version that names none, a legal hold or a multipart upload included;
    a retention named at CreateMultipartUpload is the completed object's."""
    s3 = owner(gateway)
    bucket = lock_bucket(s3, "defaults")
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 2}}})
    today = datetime.datetime.now(datetime.timezone.utc)
    for extra in ({}, {"ObjectLockLegalHoldStatus": "ON"}):
        head = s3.head_object(Bucket=bucket, Key="d", VersionId=s3.put_object(
            Bucket=bucket, Key="d", Body=b"x", **extra)["VersionId"])
        assert head["ObjectLockMode"] == "GOVERNANCE"
        assert abs(head["ObjectLockRetainUntilDate"] - today - datetime.timedelta(days=2)) < datetime.timedelta(
            minutes=5)
    upload = s3.create_multipart_upload(
        Bucket=bucket, Key="m", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=LATER)["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=1, Body=b"p")
    done = s3.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    call = dict(Bucket=bucket, Key="m", VersionId=done["VersionId"])
    assert s3.get_object_retention(**call)["Retention"]["Mode"] == "COMPLIANCE"
    assert refused(s3.delete_object, **call, BypassGovernanceRetention=True) == (403, "AccessDenied")


def test_lock_settings_on_a_bucket_created_without_lock_are_refused(gateway):  # noqa: F811
    """PutObjectRetention / PutObjectLegalHold / PutObject's x-amz-object-lock-* headers on a bucket without
    Object Lock: 400 InvalidRequest; PutObjectLockConfiguration on an unversioned bucket: 409
    InvalidBucketState; a version without a retention: 404 NoSuchObjectLockConfiguration."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "unlocked")
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    retention = {"Mode": "GOVERNANCE", "RetainUntilDate": LATER}
    assert refused(s3.put_object_retention, Bucket=bucket, Key="k", Retention=retention) == (400, "InvalidRequest")
    assert refused(s3.get_object_retention, Bucket=bucket, Key="k") == (400, "InvalidRequest")
    assert refused(s3.put_object_legal_hold, Bucket=bucket, Key="k", LegalHold={"Status": "ON"}) == (
        400, "InvalidRequest")
    assert refused(s3.get_object_legal_hold, Bucket=bucket, Key="k") == (400, "InvalidRequest")
    assert refused(s3.put_object, Bucket=bucket, Key="k2", Body=b"x", ObjectLockMode="GOVERNANCE",
                   ObjectLockRetainUntilDate=LATER) == (400, "InvalidRequest")
    configuration = {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}}
    assert refused(s3.put_object_lock_configuration, Bucket=bucket, ObjectLockConfiguration=configuration) == (
        409, "InvalidBucketState")
    locked = lock_bucket(s3, "lockedbucket")
    s3.put_object(Bucket=locked, Key="plain", Body=b"x")
    assert refused(s3.get_object_retention, Bucket=locked, Key="plain") == (404, "NoSuchObjectLockConfiguration")
    assert refused(s3.get_object_legal_hold, Bucket=locked, Key="plain") == (404, "NoSuchObjectLockConfiguration")
    assert refused(s3.put_bucket_versioning, Bucket=locked, VersioningConfiguration={"Status": "Suspended"}) == (
        409, "InvalidBucketState")


@pytest.mark.parametrize(
    ("retention", "code"),
    [
        ({"Mode": "governance", "Days": 1}, "MalformedXML"),
        ({"Mode": "GOVERNANCE", "Days": 1, "Years": 1}, "MalformedXML"),
        ({"Mode": "GOVERNANCE", "Days": 0}, "InvalidRetentionPeriod"),
        ({"Mode": "COMPLIANCE", "Years": -1}, "InvalidRetentionPeriod"),
    ],
)
def test_lock_configuration_is_validated(gateway, retention, code):  # noqa: F811
    """PutObjectLockConfiguration / DefaultRetention
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DefaultRetention.html): a mode as spelt, Days or
    Years (not both), a positive period; and it may be set on a versioned bucket that already has objects."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "validated")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="before", Body=b"x")
    configuration = {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": retention}}
    assert refused(s3.put_object_lock_configuration, Bucket=bucket, ObjectLockConfiguration=configuration)[1] == code
    good = {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 3}}}
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=good)
    assert s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]["Rule"] == good["Rule"]


def test_delete_objects_reports_each_locked_version(gateway):  # noqa: F811
    """DeleteObjects (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html): a locked
    version is an Error (AccessDenied) in the result, the others are deleted; with the bypass, GOVERNANCE
    versions are deleted too."""
    s3 = owner(gateway)
    bucket = lock_bucket(s3, "multi")
    locked = put_locked(s3, bucket, "locked")
    free = s3.put_object(Bucket=bucket, Key="free", Body=b"x")["VersionId"]
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": "locked", "VersionId": locked}, {"Key": "free", "VersionId": free}]})
    assert [(d["Key"], d["VersionId"]) for d in result["Deleted"]] == [("free", free)]
    assert [(e["Key"], e["VersionId"], e["Code"]) for e in result["Errors"]] == [("locked", locked, "AccessDenied")]
    only_locked = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "locked", "VersionId": locked}]})
    assert [e["Code"] for e in only_locked["Errors"]] == ["AccessDenied"]
    bypassed = s3.delete_objects(Bucket=bucket, BypassGovernanceRetention=True,
                                 Delete={"Objects": [{"Key": "locked", "VersionId": locked}]})
    assert [d["Key"] for d in bypassed["Deleted"]] == ["locked"]
    assert "Versions" not in s3.list_object_versions(Bucket=bucket)


def test_the_bypass_needs_its_permission(gateway):  # noqa: F811
    """"Bypassing governance mode" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html
    #object-lock-managing-bypass): the bypass works only for a principal allowed s3:BypassGovernanceRetention;
    a bucket policy that allows another account s3:DeleteObjectVersion alone does not let it bypass."""
    s3, other = owner(gateway), alice(gateway)
    bucket = lock_bucket(s3, "permission")
    version = put_locked(s3, bucket, "k")
    statement = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                 "Action": ["s3:DeleteObjectVersion"], "Resource": f"arn:aws:s3:::{bucket}/*"}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    call = dict(Bucket=bucket, Key="k", VersionId=version, BypassGovernanceRetention=True)
    assert refused(other.delete_object, **call) == (403, "AccessDenied")
    statement["Action"].append("s3:BypassGovernanceRetention")
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    other.delete_object(**call)
    assert "Versions" not in s3.list_object_versions(Bucket=bucket)


def test_reading_a_retention_needs_its_own_permission(gateway):  # noqa: F811
    """GetObjectRetention (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectRetention.html) is
    authorised as s3:GetObjectRetention, not as the GetObject Moto's router would fall back to: another
    account allowed to read the object's bytes is refused its retention until the policy names that action."""
    s3, other = owner(gateway), alice(gateway)
    bucket = lock_bucket(s3, "read-retention")
    version = put_locked(s3, bucket, "k")
    statement = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                 "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": f"arn:aws:s3:::{bucket}/*"}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    assert other.get_object(Bucket=bucket, Key="k", VersionId=version)["Body"].read() == b"x"
    call = dict(Bucket=bucket, Key="k", VersionId=version)
    assert refused(other.get_object_retention, **call) == (403, "AccessDenied")
    statement["Action"].append("s3:GetObjectRetention")
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    assert other.get_object_retention(**call)["Retention"]["Mode"] == "GOVERNANCE"
