import time

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from common.s3 import S3Unreachable, call_with_retries, is_transient, make_s3_client, wait_for_s3
from common.settings import AwsSettings
from testkit.servers import free_port


def test_client_talks_path_style_to_moto(aws_env):
    client = make_s3_client(AwsSettings())
    client.create_bucket(Bucket="some-bucket", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    client.put_object(Bucket="some-bucket", Key="k", Body=b"v")
    assert client.get_object(Bucket="some-bucket", Key="k")["Body"].read() == b"v"
    url = client.generate_presigned_url("get_object", Params={"Bucket": "some-bucket", "Key": "k"})
    assert url.startswith(aws_env["AWS_ENDPOINT_URL"] + "/some-bucket/k?")


def test_wait_for_s3_gives_a_clear_error_when_nothing_answers(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    client = make_s3_client(AwsSettings())
    started = time.monotonic()
    with pytest.raises(S3Unreachable, match=r"cannot reach S3 at http://127\.0\.0\.1:\d+ within 2 s"):
        wait_for_s3(client, timeout=2)
    assert time.monotonic() - started < 15


def test_transient_errors_are_retried_and_others_are_not():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise EndpointConnectionError(endpoint_url="http://x")
        return "ok"

    assert call_with_retries(flaky) == "ok" and len(calls) == 3

    denied = ClientError({"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}}, "Get")
    slow = ClientError({"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "Get")
    assert not is_transient(denied) and is_transient(slow)
