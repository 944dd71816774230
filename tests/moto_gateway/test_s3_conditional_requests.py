"""Conditional requests answered as S3 answers them (moto_gateway/s3_features/conditional_requests.py),
against a real gateway with boto3. Pages: S3 User Guide "Conditional requests"
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-requests.html) and "How to prevent object
overwrites with conditional writes"
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html), and the S3 API Reference
pages each test names."""

from __future__ import annotations

import datetime
import threading

import pytest
import requests
from botocore.exceptions import ClientError

from tests.moto_gateway.access_support import (
    accounts_server,  # noqa: F401 (fixture)
    gateway,  # noqa: F401 (fixture)
    new_bucket,
    owner,
    signed_headers,
)

DAY = datetime.timedelta(days=1)
MIB = 1024 * 1024


def refused(call, **kwargs) -> tuple[int, str]:
    with pytest.raises(ClientError) as error:
        call(**kwargs)
    return error.value.response["ResponseMetadata"]["HTTPStatusCode"], error.value.response["Error"]["Code"]


def status(call, **kwargs) -> int:
    try:
        return call(**kwargs)["ResponseMetadata"]["HTTPStatusCode"]
    except ClientError as error:
        return error.response["ResponseMetadata"]["HTTPStatusCode"]


def test_read_preconditions_follow_s3s_precedence(gateway):  # noqa: F811
    """GetObject and HeadObject (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html): If-Match
    true and If-Unmodified-Since false is 200 OK; If-None-Match false and If-Modified-Since true is 304 Not
    Modified; a sent If-None-Match that holds makes If-Modified-Since irrelevant (RFC 7232 section 6); an
    ETag matches with or without its quotes, on HEAD as on GET."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "cond")
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"hello")["ETag"]
    modified = s3.head_object(Bucket=bucket, Key="k")["LastModified"]
    for read in (s3.get_object, s3.head_object):
        call = dict(Bucket=bucket, Key="k")
        assert status(read, **call, IfMatch=etag, IfUnmodifiedSince=modified - DAY) == 200
        assert status(read, **call, IfMatch=etag.strip('"')) == 200
        assert status(read, **call, IfMatch='"other"', IfUnmodifiedSince=modified + DAY) == 412
        assert status(read, **call, IfUnmodifiedSince=modified - DAY) == 412
        assert status(read, **call, IfNoneMatch=etag, IfModifiedSince=modified - DAY) == 304
        assert status(read, **call, IfNoneMatch='"other"', IfModifiedSince=modified + DAY) == 200
        assert status(read, **call, IfModifiedSince=modified + DAY) == 304
        assert status(read, **call, IfMatch='"other"', IfNoneMatch=etag) == 412
    assert refused(s3.get_object, Bucket=bucket, Key="k", IfMatch='"other"') == (412, "PreconditionFailed")


def test_not_modified_has_no_body_and_names_the_object(gateway):  # noqa: F811
    """GetObject's 304 Not Modified (RFC 7232 section 4.1, which the S3 User Guide's "Conditional requests"
    follows): no body, the object's ETag and Last-Modified."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "cond")
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"hello")["ETag"]
    url = f"{gateway.url}/{bucket}/k"
    headers = signed_headers("GET", url, headers={"If-None-Match": etag})
    answer = requests.get(url, headers=headers, timeout=10)
    assert answer.status_code == 304
    assert answer.content == b""
    assert answer.headers["ETag"] == etag
    assert answer.headers["Last-Modified"]


def test_conditional_put_and_completion(gateway):  # noqa: F811
    """PutObject and CompleteMultipartUpload (S3 API Reference,
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html and API_CompleteMultipartUpload.html):
    `If-None-Match: *` is 412 when the key exists and writes when it does not (a delete marker is no object);
    `If-Match` is 412 on another ETag and 404 NoSuchKey without an object; the matching ETag writes."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "cond")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"one", IfNoneMatch="*")["ETag"]
    assert refused(s3.put_object, Bucket=bucket, Key="k", Body=b"two", IfNoneMatch="*") == (
        412, "PreconditionFailed")
    assert refused(s3.put_object, Bucket=bucket, Key="k", Body=b"two", IfMatch='"other"') == (
        412, "PreconditionFailed")
    assert refused(s3.put_object, Bucket=bucket, Key="absent", Body=b"x", IfMatch=etag) == (404, "NoSuchKey")
    s3.put_object(Bucket=bucket, Key="k", Body=b"two", IfMatch=etag)
    s3.delete_object(Bucket=bucket, Key="k")
    s3.put_object(Bucket=bucket, Key="k", Body=b"three", IfNoneMatch="*")

    def completion(key: str, **conditions):
        upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"part")
        parts = {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
        return dict(Bucket=bucket, Key=key, UploadId=upload, MultipartUpload=parts, **conditions)

    assert refused(s3.complete_multipart_upload, **completion("k", IfNoneMatch="*")) == (
        412, "PreconditionFailed")
    assert refused(s3.complete_multipart_upload, **completion("k", IfMatch='"other"')) == (
        412, "PreconditionFailed")
    assert refused(s3.complete_multipart_upload, **completion("new", IfMatch='"other"')) == (404, "NoSuchKey")
    current = s3.head_object(Bucket=bucket, Key="k")["ETag"]
    s3.complete_multipart_upload(**completion("k", IfMatch=current))
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"part"


def test_a_delete_during_a_conditional_upload_is_a_conflict(gateway):  # noqa: F811
    """S3 API Reference, CompleteMultipartUpload `If-None-Match`: "If a conflicting operation occurs during
    the upload S3 returns a 409 ConditionalRequestConflict response. On a 409 failure you should re-initiate
    the multipart upload"; the conflict here is a delete of the key that succeeded meanwhile (DeleteObject or
    DeleteObjects). An upload no delete crossed completes."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "cond")
    s3.put_object(Bucket=bucket, Key="k", Body=b"old")
    for delete in (
        lambda: s3.delete_object(Bucket=bucket, Key="k"),
        lambda: s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k"}]}),
    ):
        upload = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
        part = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload, PartNumber=1, Body=b"new")
        delete()
        completion = dict(
            Bucket=bucket, Key="k", UploadId=upload, IfNoneMatch="*",
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
        )
        assert refused(s3.complete_multipart_upload, **completion) == (409, "ConditionalRequestConflict")
        assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload, PartNumber=1, Body=b"new")
    s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload, IfNoneMatch="*",
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )


def test_copy_source_conditions_and_a_conditional_copy(gateway):  # noqa: F811
    """CopyObject (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html) and UploadPartCopy:
    x-amz-copy-source-if-match / -if-none-match / -if-modified-since / -if-unmodified-since on the source,
    each failure 412 PreconditionFailed; copy-source-if-match true overrides -if-unmodified-since false.
    CopyObject's own If-None-Match: * and If-Match guard the destination."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "cond")
    etag = s3.put_object(Bucket=bucket, Key="src", Body=b"source")["ETag"]
    modified = s3.head_object(Bucket=bucket, Key="src")["LastModified"]
    source = {"Bucket": bucket, "Key": "src"}
    failing = [
        {"CopySourceIfMatch": '"other"'},
        {"CopySourceIfNoneMatch": etag},
        {"CopySourceIfModifiedSince": modified + DAY},
        {"CopySourceIfUnmodifiedSince": modified - DAY},
    ]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="parts")["UploadId"]
    for conditions in failing:
        assert refused(s3.copy_object, Bucket=bucket, Key="dst", CopySource=source, **conditions) == (
            412, "PreconditionFailed"), conditions
        assert refused(
            s3.upload_part_copy, Bucket=bucket, Key="parts", UploadId=upload, PartNumber=1, CopySource=source,
            **conditions,
        ) == (412, "PreconditionFailed"), conditions
    s3.copy_object(
        Bucket=bucket, Key="dst", CopySource=source, CopySourceIfMatch=etag,
        CopySourceIfUnmodifiedSince=modified - DAY,
    )
    s3.copy_object(Bucket=bucket, Key="dst2", CopySource=source, CopySourceIfModifiedSince=modified - DAY)
    assert refused(s3.copy_object, Bucket=bucket, Key="dst", CopySource=source, IfNoneMatch="*") == (
        412, "PreconditionFailed")
    assert refused(s3.copy_object, Bucket=bucket, Key="dst", CopySource=source, IfMatch='"other"') == (
        412, "PreconditionFailed")
    s3.copy_object(Bucket=bucket, Key="dst3", CopySource=source, IfNoneMatch="*")


def test_concurrent_conditional_completions_write_once(gateway):  # noqa: F811
    """"How to prevent object overwrites with conditional writes": of several CompleteMultipartUpload calls
    with `If-None-Match: *` to one new key, one writes and every other is refused (412, or 409 on a conflict):
    the check and the write are one step."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "cond")
    completions = []
    for _ in range(8):
        upload = s3.create_multipart_upload(Bucket=bucket, Key="once")["UploadId"]
        part = s3.upload_part(Bucket=bucket, Key="once", UploadId=upload, PartNumber=1, Body=b"x" * MIB)
        completions.append(dict(
            Bucket=bucket, Key="once", UploadId=upload, IfNoneMatch="*",
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
        ))
    start = threading.Barrier(len(completions))
    statuses: list[int] = []

    def complete(completion: dict) -> None:
        start.wait()
        statuses.append(status(s3.complete_multipart_upload, **completion))

    threads = [threading.Thread(target=complete, args=(completion,)) for completion in completions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [412] * (len(completions) - 1)
