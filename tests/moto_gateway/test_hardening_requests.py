"""Requests S3 refuses or reads leniently, which Moto answered with a 500 (found by bench.adversarial)."""

from __future__ import annotations

import pytest
import requests

from bench.adversarial import catalogue, exchange, generated
from tests.moto_gateway.helpers import aws_error, signed_request

BUCKET = "requests"


@pytest.fixture
def bucket(s3):
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    s3.put_object(Bucket=BUCKET, Key="obj", Body=b"0123456789")
    return BUCKET


@pytest.mark.parametrize("method", ["PATCH", "PROPFIND", "TRACE"])
def test_methods_s3_does_not_serve_are_405(moto, bucket, method):
    error = aws_error(requests.request(method, f"{moto.url}/{BUCKET}/obj", timeout=10))
    assert (error["status"], error["Code"]) == (405, "MethodNotAllowed")


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/?accelerate"), ("POST", f"/{BUCKET}?cors"), ("PUT", f"/{BUCKET}?uploads"), ("PUT", f"/{BUCKET}?delete")],
)
def test_operations_s3_does_not_have_are_405(moto, bucket, method, path):
    error = aws_error(signed_request(moto.url, method, path, b"<x/>"))
    assert (error["status"], error["Code"]) == (405, "MethodNotAllowed")


@pytest.mark.parametrize(
    ("query", "name"),
    [("partNumber=0", "partNumber"), ("partNumber=x", "partNumber"), ("max-keys=-1", "max-keys"), ("versionId=a%0Ab", "versionId")],
)
def test_bad_integer_and_version_parameters_are_invalid_argument(moto, bucket, query, name):
    error = aws_error(signed_request(moto.url, "GET", f"/{BUCKET}/obj?{query}"))
    assert (error["status"], error["Code"], error["ArgumentName"]) == (400, "InvalidArgument", name)


@pytest.mark.parametrize("value", ["x", "bytes=", "bytes=-", "bytes=0-1,4-5", "items=0-1"])
def test_a_range_s3_ignores_serves_the_whole_object(moto, s3, bucket, value):
    response = signed_request(moto.url, "GET", f"/{BUCKET}/obj", headers={"Range": value})
    assert (response.status_code, response.content) == (200, b"0123456789")


def test_a_valid_range_still_works(moto, bucket):
    response = signed_request(moto.url, "GET", f"/{BUCKET}/obj", headers={"Range": "bytes=2-4"})
    assert (response.status_code, response.content) == (206, b"234")


@pytest.mark.parametrize("source", ["/", "nobucket", f"/{BUCKET}/", "%2F"])
def test_a_copy_source_without_bucket_and_key_is_invalid_argument(moto, bucket, source):
    response = signed_request(moto.url, "PUT", f"/{BUCKET}/copy", headers={"x-amz-copy-source": source})
    error = aws_error(response)
    assert (error["status"], error["Code"]) == (400, "InvalidArgument")


@pytest.mark.parametrize("authorization", ["AWS4-HMAC-SHA256", "AWS", "Bearer"])
def test_a_one_word_authorization_header_is_invalid_argument(moto, bucket, authorization):
    response = requests.delete(f"{moto.url}/{BUCKET}/obj", headers={"Authorization": authorization}, timeout=10)
    assert aws_error(response)["Code"] == "InvalidArgument"


def test_bodies_of_get_head_and_create_multipart_upload_are_ignored(moto, s3, bucket):
    assert signed_request(moto.url, "GET", "/", b"[" * 20000).status_code == 200
    assert signed_request(moto.url, "GET", f"/{BUCKET}/obj", b"junk").content == b"0123456789"
    response = signed_request(moto.url, "POST", f"/{BUCKET}/multi?uploads", b"garbage")
    assert response.status_code == 200 and b"<UploadId>" in response.content


def test_create_bucket_with_unknown_parameters_checks_its_body(moto, bucket):
    error = aws_error(signed_request(moto.url, "PUT", "/fresh-bucket?Expires=1", b"<CreateBucketConfiguration>"))
    assert (error["status"], error["Code"]) == (400, "MalformedXML")


def test_header_signed_post_to_the_bucket_is_a_post_object(moto, bucket):
    response = signed_request(moto.url, "POST", f"/{BUCKET}", b'{"json": 1}', {"Content-Type": "application/json"})
    error = aws_error(response)
    assert (error["status"], error["Code"]) == (412, "PreconditionFailed")


def test_the_catalogue_and_generated_requests_get_no_5xx(moto, s3):
    """bench.adversarial's catalogue (but case 1, the server's, and 9, sent by the bench) and 400 generated."""
    s3.create_bucket(Bucket="target", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    s3.put_object(Bucket="target", Key="existing", Body=b"kept")
    failures = []
    for name, request in [*catalogue(with_case_1=False), *generated(400, seed=1717)]:
        if request:
            status = exchange(moto.port, request)
            if status >= 500 or status == 0:
                failures.append((name, status, request[:120]))
    assert failures == []
    if "target" not in [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket="target", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    s3.put_object(Bucket="target", Key="after", Body=b"still serving")
    answer = signed_request(moto.url, "GET", "/target/after")
    assert answer.content == b"still serving", answer.text


def test_delete_tagging_of_a_missing_key_is_no_such_key(moto, bucket):
    error = aws_error(signed_request(moto.url, "DELETE", f"/{BUCKET}/missing?tagging"))
    assert (error["status"], error["Code"]) == (404, "NoSuchKey")


def test_a_response_override_with_a_newline_is_invalid_argument(moto, bucket):
    response = signed_request(moto.url, "GET", f"/{BUCKET}/obj?response-content-type=text%0Ax")
    error = aws_error(response)
    assert (error["status"], error["Code"], error["ArgumentName"]) == (400, "InvalidArgument", "response-content-type")


def test_a_request_moto_cannot_attribute_to_a_service_is_served_as_s3(moto, bucket):
    response = requests.delete(f"{moto.url}/%25%27_%00%0D%3D/_", headers={"Content-Type": "multipart/form-data; boundary="}, timeout=10)
    assert 400 <= response.status_code < 500


def test_a_write_with_a_line_break_in_its_query_is_invalid_argument(moto, s3, bucket):
    response = signed_request(moto.url, "PUT", f"/{BUCKET}/obj?Expires=a%0Ab", b"new")
    assert aws_error(response)["Code"] == "InvalidArgument"
    assert s3.get_object(Bucket=BUCKET, Key="obj")["Body"].read() == b"0123456789"
