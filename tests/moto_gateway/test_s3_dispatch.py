"""Direct S3 routing: only where Moto's own dispatcher would pick S3 too; other services keep working."""

from __future__ import annotations

import boto3
import pytest
import requests

from moto_gateway.server.s3_dispatch import S3FirstDispatcher
from moto_gateway.wsgi.services import is_s3_request, signing_service
from testkit.clients import REGION

SIGV4_S3 = (
    "AWS4-HMAC-SHA256 Credential=test/20260101/ap-northeast-1/s3/aws4_request, "
    "SignedHeaders=host, Signature=00"
)
SIGV4_SQS = SIGV4_S3.replace("/s3/", "/sqs/")

ENVIRONS = {
    "unsigned GET object": {"PATH_INFO": "/bucket/key", "REQUEST_METHOD": "GET"},
    "unsigned PUT with a body": {
        "PATH_INFO": "/bucket/key", "REQUEST_METHOD": "PUT", "CONTENT_TYPE": "text/plain"
    },
    "SigV4 s3": {"PATH_INFO": "/bucket", "HTTP_AUTHORIZATION": SIGV4_S3},
    "SigV2": {"PATH_INFO": "/bucket/k", "HTTP_AUTHORIZATION": "AWS test:c2lnbmF0dXJl"},
    "root (ListBuckets)": {"PATH_INFO": "/", "HTTP_AUTHORIZATION": SIGV4_S3},
    "presigned (query auth)": {"PATH_INFO": "/bucket/key", "QUERY_STRING": "X-Amz-Signature=00"},
    "moto api": {"PATH_INFO": "/moto-api/reset", "REQUEST_METHOD": "POST"},
    "favicon": {"PATH_INFO": "/favicon.ico"},
    "instance metadata": {"PATH_INFO": "/latest/meta-data/"},
    "s3control path": {"PATH_INFO": "/v20180820/jobs", "HTTP_AUTHORIZATION": SIGV4_S3},
    "s3control host": {
        "PATH_INFO": "/", "HTTP_HOST": "123.s3-control.localhost", "HTTP_AUTHORIZATION": SIGV4_S3
    },
    "SigV4 sqs": {"PATH_INFO": "/", "HTTP_AUTHORIZATION": SIGV4_SQS},
    "X-Amz-Target": {"PATH_INFO": "/", "HTTP_X_AMZ_TARGET": "AWSCognitoIdentityService.GetId"},
    "unsigned form post": {"PATH_INFO": "/", "REQUEST_METHOD": "POST",
                           "CONTENT_TYPE": "application/x-www-form-urlencoded"},
    "service_region path": {"PATH_INFO": "/sqs_us-east-1/queue"},
    "cognito well-known": {"PATH_INFO": "/us-east-1_abc/.well-known/jwks.json"},
    "bad SigV4 scope": {"PATH_INFO": "/bucket", "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=x"},
}
DIRECT = {"unsigned GET object", "unsigned PUT with a body", "SigV4 s3", "SigV2", "root (ListBuckets)",
          "presigned (query auth)"}


@pytest.fixture(scope="module")
def dispatcher():
    return S3FirstDispatcher()


@pytest.mark.parametrize("name", ENVIRONS)
def test_direct_only_where_moto_would_choose_s3(dispatcher, name):
    base = {"REQUEST_METHOD": "GET", "HTTP_HOST": "127.0.0.1:5000", "CONTENT_LENGTH": "0"}
    environ = {**base, **ENVIRONS[name]}
    assert is_s3_request(environ) == (name in DIRECT)
    if is_s3_request(environ):
        assert dispatcher.moto.get_application(dict(environ)) is dispatcher.s3


def test_signing_service():
    assert signing_service(SIGV4_S3) == "s3"
    assert signing_service(SIGV4_SQS) == "sqs"
    assert signing_service("AWS test:sig") == "s3"
    assert signing_service("Bearer x") is None


def test_moto_api_and_other_services_still_work_through_the_gateway(moto):
    assert requests.get(f"{moto.url}/moto-api/data.json", timeout=10).status_code == 200
    sqs = boto3.session.Session().client(
        "sqs",
        endpoint_url=moto.url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    url = sqs.create_queue(QueueName="still-routed")["QueueUrl"]
    assert url.endswith("/still-routed")
    assert "still-routed" in " ".join(sqs.list_queues().get("QueueUrls", []))
