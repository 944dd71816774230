"""Object Ownership as S3 enforces it (access/decide.py, access/layer.py, s3_features/object_ownership.py),
against a real gateway with boto3. Page: S3 User Guide "Controlling ownership of objects and disabling ACLs
for your bucket" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html) and its
"Troubleshooting" page
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-ownership-error-responses.html)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from testkit.clients import REGION
from tests.moto_gateway.access_support import (
    ALICE,
    accounts_server,  # noqa: F401 (fixture)
    alice,
    gateway,  # noqa: F401 (fixture)
    new_bucket,
    owner,
)


def refused(call, **kwargs) -> tuple[int, str]:
    with pytest.raises(ClientError) as error:
        call(**kwargs)
    return error.value.response["ResponseMetadata"]["HTTPStatusCode"], error.value.response["Error"]["Code"]


def shared_with_alice(s3, ownership: str) -> str:
    """A bucket of the default account with that Object Ownership, whose policy lets alice write and read."""
    bucket = new_bucket(s3, f"own-{ownership.lower()}", ObjectOwnership=ownership)
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ALICE[2]}:root"},
        "Action": ["s3:PutObject", "s3:GetObject"],
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    return bucket


def test_bucket_owner_enforced_refuses_acls_and_owns_every_object(gateway):  # noqa: F811
    """BucketOwnerEnforced: a PUT with an ACL other than bucket-owner-full-control is 400
    AccessControlListNotSupported ("The bucket does not allow ACLs"), so is PutObjectAcl; without an ACL or
    with bucket-owner-full-control another account's object is owned by the bucket owner, who reads it."""
    s3, other = owner(gateway), alice(gateway)
    bucket = shared_with_alice(s3, "BucketOwnerEnforced")
    assert refused(other.put_object, Bucket=bucket, Key="k", Body=b"x", ACL="public-read") == (
        400, "AccessControlListNotSupported")
    assert refused(s3.put_object_acl, Bucket=bucket, Key="k", ACL="public-read") == (
        400, "AccessControlListNotSupported")
    other.put_object(Bucket=bucket, Key="plain", Body=b"plain")
    other.put_object(Bucket=bucket, Key="full", Body=b"full", ACL="bucket-owner-full-control")
    bucket_owner = s3.get_bucket_acl(Bucket=bucket)["Owner"]["ID"]
    for key in ("plain", "full"):
        assert s3.get_object_acl(Bucket=bucket, Key=key)["Owner"]["ID"] == bucket_owner
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()


def test_bucket_owner_preferred_takes_objects_written_with_full_control(gateway):  # noqa: F811
    """BucketOwnerPreferred: another account's object written with bucket-owner-full-control is owned by the
    bucket owner; without it the writer keeps it, and the bucket owner may not read it through its ACL."""
    s3, other = owner(gateway), alice(gateway)
    bucket = shared_with_alice(s3, "BucketOwnerPreferred")
    other.put_object(Bucket=bucket, Key="full", Body=b"full", ACL="bucket-owner-full-control")
    other.put_object(Bucket=bucket, Key="kept", Body=b"kept")
    bucket_owner = s3.get_bucket_acl(Bucket=bucket)["Owner"]["ID"]
    assert s3.get_object_acl(Bucket=bucket, Key="full")["Owner"]["ID"] == bucket_owner
    assert s3.get_object(Bucket=bucket, Key="full")["Body"].read() == b"full"
    assert refused(s3.get_object, Bucket=bucket, Key="kept") == (403, "AccessDenied")


def test_enforced_ownership_needs_a_bucket_acl_for_the_owner_only(gateway):  # noqa: F811
    """"Troubleshooting", InvalidBucketAclWithObjectOwnership: a CreateBucket that sets BucketOwnerEnforced
    with a bucket ACL granting access to others, or a PutBucketOwnershipControls that sets it on a bucket
    whose ACL does, is 400 InvalidBucketAclWithObjectOwnership; a private ACL is fine, and so is the same
    bucket once its ACL is reset to private."""
    s3 = owner(gateway)
    where = {"CreateBucketConfiguration": {"LocationConstraint": REGION}}
    enforced = {"ObjectOwnership": "BucketOwnerEnforced"}
    assert refused(s3.create_bucket, Bucket="public", ACL="public-read", **enforced, **where) == (
        400, "InvalidBucketAclWithObjectOwnership")
    assert refused(
        s3.create_bucket, Bucket="granted", GrantRead=f"id={'1' * 64}", **enforced, **where
    ) == (400, "InvalidBucketAclWithObjectOwnership")
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket="public")
    s3.create_bucket(Bucket="private", ACL="private", **enforced, **where)
    new_bucket(s3, "readable", ACL="public-read", ObjectOwnership="ObjectWriter")
    controls = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert refused(s3.put_bucket_ownership_controls, Bucket="readable", OwnershipControls=controls) == (
        400, "InvalidBucketAclWithObjectOwnership")
    s3.put_bucket_acl(Bucket="readable", ACL="private")
    s3.put_bucket_ownership_controls(Bucket="readable", OwnershipControls=controls)
    other_account = new_bucket(alice(gateway), "alices", ObjectOwnership="ObjectWriter")
    alice(gateway).put_bucket_ownership_controls(Bucket=other_account, OwnershipControls=controls)
