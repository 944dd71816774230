"""End-to-end: the published S3 endpoint validates presigned requests as AWS does, and changes reach the
host mirror through the change feed. Runs before test_stack.py (file order), on the same stack."""

from __future__ import annotations

import time

import pytest
import requests

from tests.compose.conftest import Stack, wait_until

pytestmark = pytest.mark.compose

BUCKET = "honest-bucket"


@pytest.fixture(scope="module")
def s3(stack: Stack):
    client = stack.s3()
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    return client


def test_health_says_validation_is_on(stack: Stack):
    health = requests.get(f"{stack.moto_url}/_health", timeout=5).json()
    assert health["validation"] is True and health["change_feed"] is True


def test_presigned_post_is_checked_against_its_policy(stack: Stack, s3):
    post = s3.generate_presigned_post(BUCKET, "form/ok.txt", Conditions=[["content-length-range", 1, 10]])
    ok = requests.post(post["url"], data=post["fields"], files={"file": ("ok.txt", b"small")}, timeout=10)
    assert ok.status_code == 204
    wait_until(lambda: (stack.export_dir / BUCKET / "form/ok.txt").exists(), 30, "the POSTed object mirrored")

    big = requests.post(post["url"], data=post["fields"], files={"file": ("big.txt", b"x" * 50)}, timeout=10)
    assert big.status_code == 400 and "<Code>EntityTooLarge</Code>" in big.text

    zeroed = {**post["fields"], "x-amz-signature": "0" * 64}
    forged = requests.post(post["url"], data=zeroed, files={"file": ("f.txt", b"small")}, timeout=10)
    assert forged.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in forged.text

    expired = s3.generate_presigned_post(BUCKET, "form/late.txt", ExpiresIn=-5)
    late = requests.post(expired["url"], data=expired["fields"], files={"file": ("l.txt", b"x")}, timeout=10)
    assert late.status_code == 403 and "Policy expired" in late.text
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="form/late")


def test_presigned_urls_are_checked(stack: Stack, s3):
    s3.put_object(Bucket=BUCKET, Key="url/doc.txt", Body=b"doc")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "url/doc.txt"}, ExpiresIn=60)
    assert requests.get(url, timeout=10).content == b"doc"
    tampered = url.replace("url/doc.txt", "url/other.txt")
    assert requests.get(tampered, timeout=10).status_code == 403
    signature = url.split("X-Amz-Signature=")[1][:64]
    forged = url.replace(signature, "0" * 64)
    refused = requests.get(forged, timeout=10)
    assert refused.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in refused.text


def test_a_put_reaches_the_host_through_the_change_feed(stack: Stack, s3):
    logs = stack.compose("logs", "--no-color", "exporter").stdout
    assert "following the change feed of http://moto:5000" in logs
    s3.put_object(Bucket=BUCKET, Key="live/now.txt", Body=b"now")
    put_at = time.monotonic()
    wait_until(lambda: (stack.export_dir / BUCKET / "live/now.txt").exists(), 10, "the put mirrored", interval=0.02)
    assert time.monotonic() - put_at < 3
