"""Tests of the photos application against motostack, as its developers would write them."""

from __future__ import annotations

import pytest
import requests
from botocore.exceptions import ClientError, ResponseStreamingError

import photos

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40


def test_saving_a_photo_survives_s3_throttling(motostack_env, s3, s3_faults, bucket):
    rule = s3_faults.add(operation="PutObject", bucket=bucket, status=503, code="SlowDown", count=3)
    key = photos.save_photo(photos.make_client(), bucket, JPEG)
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == JPEG
    assert s3_faults.get(rule["id"])["injected"] == 3  # three refusals, each retried


def test_without_retries_throttling_reaches_the_caller(motostack_env, s3_faults, bucket):
    s3_faults.add(operation="PutObject", bucket=bucket, status=503, code="SlowDown")
    with pytest.raises(ClientError) as raised:
        photos.save_photo(photos.make_client(max_attempts=1), bucket, JPEG)
    assert raised.value.response["Error"]["Code"] == "SlowDown"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503


def test_a_download_cut_short_is_an_error_not_a_short_photo(motostack_env, s3, s3_faults, bucket):
    key = photos.save_photo(s3, bucket, JPEG)
    # No `count`: on a shared stack other clients (the exporter's mirror) read the new object too, and
    # could use up a counted rule; this one holds until the test removes it.
    rule = s3_faults.add(operation="GetObject", bucket=bucket, cut_body_after=100)
    with pytest.raises(ResponseStreamingError):
        photos.load_photo(photos.make_client(), bucket, key)
    s3_faults.remove(rule["id"])
    assert photos.load_photo(photos.make_client(), bucket, key) == JPEG


def test_the_upload_form_refuses_a_file_too_large(s3, bucket):
    form = photos.upload_form(s3, bucket, "avatars/me.jpg", max_bytes=1024)
    too_large = requests.post(form["url"], data=form["fields"], files={"file": ("me.jpg", JPEG)}, timeout=30)
    assert too_large.status_code == 400
    assert "<Code>EntityTooLarge</Code>" in too_large.text
    small = requests.post(
        form["url"], data=form["fields"], files={"file": ("me.jpg", JPEG[:500])}, timeout=30
    )
    assert small.status_code == 204
    assert s3.get_object(Bucket=bucket, Key="avatars/me.jpg")["Body"].read() == JPEG[:500]


# Each isolated test starts from the seed (conftest.py: motostack_seed), whatever ran before it.


def test_isolated_removing_the_index(s3_isolated):
    s3_isolated.delete_object(Bucket="catalogue", Key="index.json")
    s3_isolated.put_object(Bucket="catalogue", Key="draft.json", Body=b"{}")
    s3_isolated.create_bucket(
        Bucket="scratch", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
    )
    keys = [item["Key"] for item in s3_isolated.list_objects_v2(Bucket="catalogue").get("Contents", [])]
    assert keys == ["draft.json"]


def test_isolated_the_index_is_there(s3_isolated):
    keys = [item["Key"] for item in s3_isolated.list_objects_v2(Bucket="catalogue").get("Contents", [])]
    assert keys == ["index.json"]
    assert "scratch" not in [b["Name"] for b in s3_isolated.list_buckets()["Buckets"]]
    s3_isolated.put_object(Bucket="catalogue", Key="index.json", Body=b'{"albums": ["changed"]}')


def test_isolated_the_index_is_unchanged(s3_isolated):
    body = s3_isolated.get_object(Bucket="catalogue", Key="index.json")["Body"].read()
    assert body == b'{"albums": []}'
