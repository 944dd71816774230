"""boto3 clients bound to a local endpoint, as a user's code would make them (path style, test credentials)."""

from __future__ import annotations

import boto3
from botocore.config import Config

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
REGION = "ap-northeast-1"


def make_test_client(
    endpoint_url: str,
    region: str = REGION,
    *,
    signature_version: str = "s3v4",
    addressing: str = "path",
    key: str = "test",
    secret: str = "test",
    retries: dict | None = None,
):
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(
            s3={"addressing_style": addressing}, signature_version=signature_version, retries=retries
        ),
    )
