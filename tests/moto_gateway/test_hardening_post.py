"""Issue 17, cases 15-16 and 2: POST Object in every layout S3 accepts, answered as S3 answers (real gateway)."""

from __future__ import annotations

import base64
import hashlib
import os
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.moto_gateway.helpers import aws_error, raw_exchange, status_of

BUCKET = "posted"
TAGGING = "<Tagging><TagSet><Tag><Key>team</Key><Value>a b+c</Value></Tag></TagSet></Tagging>"


@pytest.fixture
def bucket(s3):
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    return BUCKET


def presign(s3, key: str, fields: dict[str, str] | None = None, extra_conditions: list | None = None) -> dict:
    fields = fields or {}
    return s3.generate_presigned_post(
        BUCKET,
        key,
        Fields=fields,
        Conditions=[{name: value} for name, value in fields.items()] + (extra_conditions or []),
        ExpiresIn=600,
    )


def as_parts(fields: dict[str, str], style: str) -> list:
    """The fields as multipart parts: plain, as file parts with a filename, or with a Content-Type too."""
    if style == "plain":
        return [(name, (None, value)) for name, value in fields.items()]
    if style == "file-parts":
        return [(name, ("blob", value)) for name, value in fields.items()]
    return [(name, (None, value, "text/plain; charset=utf-8")) for name, value in fields.items()]


@pytest.mark.parametrize("style", ["plain", "file-parts", "typed"])
@pytest.mark.parametrize("size", [0, 5, 64 * 1024 + 7, 3 * 1024 * 1024 + 1])
def test_every_field_layout_stores_the_exact_file(s3, bucket, style, size):
    content = os.urandom(size)
    fields = {"Content-Type": "image/png", "x-amz-meta-note": "ünï & <x>", "tagging": TAGGING}
    presigned = presign(s3, "up/${filename}", fields)
    parts = as_parts(presigned["fields"], style)
    parts.reverse()  # any order before the file
    response = requests.post(presigned["url"], files=[*parts, ("file", ("ph oto.png", content))], timeout=60)
    assert response.status_code == 204, response.text
    stored = s3.get_object(Bucket=BUCKET, Key="up/ph oto.png")
    assert stored["Body"].read() == content
    assert stored["ContentType"] == "image/png"
    assert stored["Metadata"] == {"note": "ünï & <x>"}
    assert stored["ETag"] == response.headers["ETag"]
    tags = s3.get_object_tagging(Bucket=BUCKET, Key="up/ph oto.png")["TagSet"]
    assert tags == [{"Key": "team", "Value": "a b+c"}]


def test_fields_after_the_file_are_ignored(s3, bucket):
    presigned = presign(s3, "after")
    parts = as_parts(presigned["fields"], "plain")
    response = requests.post(
        presigned["url"], files=[*parts, ("file", ("f", b"data")), ("x-amz-meta-late", (None, "no"))], timeout=30
    )
    assert response.status_code == 204, response.text
    assert s3.head_object(Bucket=BUCKET, Key="after")["Metadata"] == {}


@pytest.mark.parametrize(("status", "expected"), [("200", 200), ("201", 201), ("204", 204), ("299", 204)])
def test_success_action_status(s3, bucket, status, expected):
    presigned = presign(s3, "st", {"success_action_status": status})
    response = requests.post(presigned["url"], data=presigned["fields"], files={"file": ("f", b"abc")}, timeout=30)
    assert response.status_code == expected, response.text
    etag = '"' + hashlib.md5(b"abc").hexdigest() + '"'
    assert response.headers["ETag"] == etag
    if expected == 201:
        assert b"<Bucket>posted</Bucket><Key>st</Key>" in response.content
        assert f"<ETag>{etag}</ETag>".replace('"', "&quot;").encode() in response.content or etag.encode() in response.content
    else:
        assert response.content == b""


def test_success_action_redirect_is_a_303_with_bucket_key_and_etag(s3, bucket):
    presigned = presign(s3, "red irect", {"success_action_redirect": "https://app.example/done?from=upload"})
    response = requests.post(
        presigned["url"], data=presigned["fields"], files={"file": ("f", b"abc")}, allow_redirects=False, timeout=30
    )
    assert response.status_code == 303, response.text
    target = urlsplit(response.headers["Location"])
    assert (target.scheme, target.netloc, target.path) == ("https", "app.example", "/done")
    query = parse_qs(target.query)
    assert query == {
        "from": ["upload"],
        "bucket": [BUCKET],
        "key": ["red irect"],
        "etag": ['"' + hashlib.md5(b"abc").hexdigest() + '"'],
    }
    assert s3.get_object(Bucket=BUCKET, Key="red irect")["Body"].read() == b"abc"


def test_checksum_field_needs_no_condition_and_is_checked(s3, bucket):
    content = b"checked content"
    good = base64.b64encode(hashlib.sha256(content).digest()).decode()
    presigned = presign(s3, "sum")
    response = requests.post(
        presigned["url"],
        data={**presigned["fields"], "x-amz-checksum-sha256": good},
        files={"file": ("f", content)},
        timeout=30,
    )
    assert response.status_code == 204, response.text
    head = s3.head_object(Bucket=BUCKET, Key="sum", ChecksumMode="ENABLED")
    assert head.get("ChecksumSHA256") == good
    bad = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    response = requests.post(
        presigned["url"],
        data={**presigned["fields"], "key": "sum2", "x-amz-checksum-sha256": bad},
        files={"file": ("f", content)},
        timeout=30,
    )
    assert aws_error(response)["Code"] in ("BadDigest", "AccessDenied")


def test_malformed_tagging_field_is_malformed_xml(s3, bucket):
    presigned = presign(s3, "tags", {"tagging": "<Tagging><oops"})
    response = requests.post(presigned["url"], data=presigned["fields"], files={"file": ("f", b"x")}, timeout=30)
    error = aws_error(response)
    assert (error["status"], error["Code"]) == (400, "MalformedXML")


def test_post_to_a_missing_bucket_is_no_such_bucket(s3, bucket):
    presigned = s3.generate_presigned_post("not-there", "k")
    response = requests.post(presigned["url"], data=presigned["fields"], files={"file": ("f", b"x")}, timeout=30)
    assert aws_error(response)["Code"] == "NoSuchBucket"


def test_a_body_that_never_shows_its_boundary_is_refused_early(moto, bucket):
    """Case 2: the form announces 200 MiB and never sends its boundary; refused after a few KB read."""
    size = 200 * 1024 * 1024
    head = (
        f"POST /{BUCKET} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=nothere\r\n"
        f"Content-Length: {size}\r\nConnection: close\r\n\r\n"
    ).encode()
    import socket

    with socket.create_connection(("127.0.0.1", moto.port), timeout=20) as sock:
        sock.sendall(head)
        started = time.monotonic()
        sent = 0
        answer = b""
        sock.setblocking(False)
        while sent < 4 * 1024 * 1024 and time.monotonic() - started < 15:
            try:
                sent += sock.send(b"x" * 65536)
            except BlockingIOError:
                pass
            except OSError:
                break
            try:
                answer += sock.recv(65536)
            except BlockingIOError:
                continue
            if answer:
                break
        sock.setblocking(True)
        sock.settimeout(10)
        try:
            while b"</Error>" not in answer and (chunk := sock.recv(65536)):
                answer += chunk
        except OSError:
            pass
    assert status_of(answer) == 400, answer[:300]
    assert b"MaxPostPreDataLengthExceeded" in answer or b"MalformedPOSTRequest" in answer


def test_fields_over_twenty_kb_are_refused(moto, bucket):
    request = (
        f"POST /{BUCKET} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        "Connection: close\r\n"
    ).encode()
    body = b"--b\r\nContent-Disposition: form-data; name=\"x-ignore-pad\"\r\n\r\n" + b"p" * 30000 + b"\r\n--b--\r\n"
    answer = raw_exchange(moto.port, request + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    assert status_of(answer) == 400 and b"MaxPostPreDataLengthExceeded" in answer


def test_anonymous_post_to_a_public_read_write_bucket_is_stored(s3, bucket):
    s3.create_bucket(
        Bucket="open-bucket", ACL="public-read-write", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
    )
    url = s3.meta.endpoint_url
    response = requests.post(f"{url}/open-bucket", data={"key": "anon.txt"}, files={"file": ("f", b"hi")}, timeout=30)
    assert response.status_code == 204, response.text
    # The object belongs to the anonymous principal that wrote it (S3's ObjectWriter ownership; the access
    # tests pin that the bucket owner may not read it), so its bytes are read back anonymously.
    stored = requests.get(f"{url}/open-bucket/anon.txt", timeout=30)
    assert (stored.status_code, stored.content) == (200, b"hi")
    private = requests.post(
        f"{url}/{BUCKET}", data={"key": "anon.txt"}, files={"file": ("f", b"hi")}, timeout=30
    )
    assert aws_error(private)["Code"] == "AccessDenied"


def test_post_to_an_object_path_is_method_not_allowed(moto, bucket):
    response = requests.post(f"{moto.url}/{BUCKET}/some/key", data={"key": "k"}, files={"file": ("f", b"x")}, timeout=30)
    error = aws_error(response)
    assert (error["status"], error["Code"]) == (405, "MethodNotAllowed")


def test_a_cross_origin_post_gets_the_cors_headers_a_browser_needs(s3, bucket):
    rule = {"AllowedMethods": ["POST"], "AllowedOrigins": ["http://app.example"]}
    # as on S3, the answer carries CORS headers only where a rule allows its origin and method
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [rule]})
    presigned = presign(s3, "cors", {"success_action_status": "201"})
    response = requests.post(
        presigned["url"],
        data=presigned["fields"],
        files={"file": ("f", b"x")},
        headers={"Origin": "http://app.example"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    assert response.headers["Access-Control-Allow-Origin"] == "http://app.example"
