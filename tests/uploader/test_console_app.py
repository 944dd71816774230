"""The console's answers to bad input, through Flask's test client against the session's gateway: a clear
4xx saying what was wrong, never a 5xx or a traceback, and nothing changed."""

from __future__ import annotations

import re
import uuid

import pytest

from uploader.console.rules import key_ref


@pytest.fixture
def console(client, s3):
    bucket = f"console-app-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"x")
    page = client.get("/console/")
    token = re.search(r'data-csrf-token="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client, bucket, token


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/console/b/Not_A_Bucket/", 404, "not a valid bucket name"),
        ("/console/b/{bucket}/object", 400, "names no key"),
        ("/console/b/{bucket}/object?key=" + "x" * 1025, 400, "1,024 bytes"),
        ("/console/b/{bucket}/object?kref=!!!", 400, "shape"),
        ("/console/b/{bucket}/?token=not-a-token", 400, "S3 refused"),
        ("/console/b/{bucket}/?size=abc", 200, "a.txt"),
        ("/console/go?uri=", 400, "is not an S3 URI"),
        ("/console/go?uri=ftp://x", 400, "is not an S3 URI"),
        ("/console/b/{bucket}/object?key=a.txt&share_amount=x&share_unit=hours", 200, "whole number"),
        (
            "/console/b/{bucket}/object?key=a.txt&share_amount=1&share_unit=weeks",
            200,
            "minutes, hours or days",
        ),
        ("/console/api/b/{bucket}/changes?after=x", 400, "whole number"),
    ],
)
def test_bad_requests_get_a_clear_answer(console, path, status, words):
    client, bucket, _ = console
    answer = client.get(path.format(bucket=bucket))
    assert answer.status_code == status and words in answer.get_data(as_text=True)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (None, "needs a name"),
        ({"name": "x"}, "size is missing"),
        ({"name": "x", "size": -1}, "size is missing"),
        ({"name": "x", "size": 1, "prefix": "%%%"}, "shape"),
        ({"name": "é" * 600, "size": 1}, "1,024 bytes"),
    ],
)
def test_bad_upload_requests_are_refused_in_json(console, s3, body, words):
    client, bucket, token = console
    answer = client.post(f"/console/api/b/{bucket}/uploads", json=body, headers={"X-CSRF-Token": token})
    assert answer.status_code == 400 and words in answer.get_json()["error"]
    assert [item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["a.txt"]


def test_bad_forms_change_nothing(console, s3):
    client, bucket, token = console
    refused = client.post(
        f"/console/b/{bucket}/delete", data={"csrf_token": token, "key": "***", "confirm": "yes"}
    )
    assert refused.status_code == 400
    folder = client.post(f"/console/b/{bucket}/folder", data={"csrf_token": token, "name": "/"})
    assert folder.status_code == 400 and "Give the folder a name" in folder.get_data(as_text=True)
    current = client.post(
        f"/console/b/{bucket}/make-current", data={"csrf_token": token, "key": key_ref("a.txt")}
    )
    assert current.status_code == 400
    assert [item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["a.txt"]
