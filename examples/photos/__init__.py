"""A small application that stores photos in S3: the code the example tests exercise.

Its clients come from the environment (AWS_ENDPOINT_URL and the AWS_* credentials), as in production;
they retry throttling and server errors in botocore's standard mode.
"""

from __future__ import annotations

import hashlib

import boto3
from botocore.config import Config

MAX_ATTEMPTS = 5


def make_client(max_attempts: int = MAX_ATTEMPTS):
    return boto3.client("s3", config=Config(retries={"mode": "standard", "total_max_attempts": max_attempts}))


def save_photo(client, bucket: str, data: bytes, content_type: str = "image/jpeg") -> str:
    """Stores the photo under its content hash; the key."""
    key = f"photos/{hashlib.sha256(data).hexdigest()}"
    client.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
    return key


def load_photo(client, bucket: str, key: str) -> bytes:
    return client.get_object(Bucket=bucket, Key=key)["Body"].read()


def upload_form(client, bucket: str, key: str, max_bytes: int, expires: int = 300) -> dict:
    """A browser form (presigned POST) that S3 refuses when the file is larger than `max_bytes`."""
    return client.generate_presigned_post(
        bucket, key, Conditions=[["content-length-range", 1, max_bytes]], ExpiresIn=expires
    )
