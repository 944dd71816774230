"""Issue 17, case 13: every byte sent is stored, whatever the Content-Type (a real gateway process)."""

from __future__ import annotations

import os

import pytest
import requests

from tests.moto_gateway.helpers import signed_request

BUCKET = "bodies"
FORM_TYPES = [
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=utf-8",
    "multipart/form-data; boundary=x",
]
BODIES = [
    b"a=1&b=2",
    b"key=value&file=zzz",
    b'--x\r\nContent-Disposition: form-data; name="key"\r\n\r\nzz\r\n--x--\r\n',
    b"uploadId=nope&partNumber=3",
    os.urandom(70_000),
]


@pytest.fixture
def bucket(s3):
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    return BUCKET


@pytest.mark.parametrize("content_type", FORM_TYPES)
def test_signed_put_with_a_form_type_stores_its_exact_body(moto, s3, bucket, content_type):
    for number, body in enumerate(BODIES):
        key = f"signed/{number}"
        response = signed_request(moto.url, "PUT", f"/{BUCKET}/{key}", body, {"Content-Type": content_type})
        assert response.status_code == 200, response.text
        stored = s3.get_object(Bucket=BUCKET, Key=key)
        assert stored["Body"].read() == body
        assert stored["ContentType"] == content_type


@pytest.mark.parametrize("content_type", FORM_TYPES)
def test_presigned_put_with_a_form_type_stores_its_exact_body(moto, s3, bucket, content_type):
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": BUCKET, "Key": "presigned", "ContentType": content_type}, ExpiresIn=300
    )
    response = requests.put(url, data=b"a=1&b=2", headers={"Content-Type": content_type}, timeout=10)
    assert response.status_code == 200, response.text
    assert s3.get_object(Bucket=BUCKET, Key="presigned")["Body"].read() == b"a=1&b=2"


def test_curl_dash_d_style_upload_part_keeps_its_body(moto, s3, bucket):
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="multi")
    part = signed_request(
        moto.url,
        "PUT",
        f"/{BUCKET}/multi?partNumber=1&uploadId={upload['UploadId']}",
        b"a=1&b=2",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert part.status_code == 200, part.text
    s3.complete_multipart_upload(
        Bucket=BUCKET,
        Key="multi",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part.headers["ETag"]}]},
    )
    assert s3.get_object(Bucket=BUCKET, Key="multi")["Body"].read() == b"a=1&b=2"


def test_a_put_over_five_gib_is_entity_too_large_before_any_byte_is_read(moto, bucket):
    from tests.moto_gateway.helpers import raw_exchange, status_of

    request = (
        f"PUT /{BUCKET}/huge HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {6 * 1024**3}\r\n"
        "Connection: close\r\n\r\nonly a few bytes"
    ).encode()
    answer = raw_exchange(moto.port, request)
    assert status_of(answer) == 400 and b"EntityTooLarge" in answer
