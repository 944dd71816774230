"""The fixtures this application's tests add to motostack's (s3, s3_faults, s3_isolated, ...)."""

from __future__ import annotations

import uuid

import pytest

REGION = "ap-northeast-1"


@pytest.fixture
def bucket(s3) -> str:
    """A bucket of this test's own (a unique name, so that tests can share a running stack), removed after."""
    name = f"photos-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    yield name
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=name, Key=item["Key"])
    s3.delete_bucket(Bucket=name)


@pytest.fixture(scope="session")
def motostack_seed(motostack_endpoint):
    """What every s3_isolated test starts from: a catalogue bucket with its index; removed at the end."""
    import boto3

    s3 = boto3.client(
        "s3", endpoint_url=motostack_endpoint, region_name=REGION,
        aws_access_key_id="test", aws_secret_access_key="test",
    )  # fmt: skip
    s3.create_bucket(Bucket="catalogue", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="catalogue", Key="index.json", Body=b'{"albums": []}')
    yield
    s3.delete_object(Bucket="catalogue", Key="index.json")
    s3.delete_bucket(Bucket="catalogue")
