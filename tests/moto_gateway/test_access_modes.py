"""One setting turns access decisions off (GATEWAY_ACCESS=moto); what each setting leaves in force (bad
access settings: test_gateway_modes, beside the gateway's other settings)."""

from __future__ import annotations

import json

import pytest
import requests

from tests.moto_gateway.access_support import (
    ALICE,
    accounts_server,  # noqa: F401 (fixture)
    alice,
    bob,
    gateway,  # noqa: F401 (fixture)
    new_bucket,
    owner,
    send,
    start,
)
from tests.moto_gateway.helpers import aws_error
from tests.moto_gateway.test_access_anonymous import anonymous


@pytest.fixture(scope="module")
def moto_mode():
    server = start({"GATEWAY_ACCESS": "moto"})
    yield server
    server.stop()


def test_access_moto_is_motos_permissive_model(moto_mode):
    """GATEWAY_ACCESS=moto: every signed request does what Moto lets it do, unsigned ones too; accounts
    still own what they create, and malformed authentication is still refused."""
    moto_mode.reset()
    s3 = owner(moto_mode)
    new_bucket(s3, "lax")
    s3.put_object(Bucket="lax", Key="k", Body=b"private")
    assert bob(moto_mode).get_object(Bucket="lax", Key="k")["Body"].read() == b"private"
    anonymous(moto_mode).put_object(Bucket="lax", Key="anon", Body=b"x")
    new_bucket(alice(moto_mode), "alices")
    assert [b["Name"] for b in alice(moto_mode).list_buckets()["Buckets"]] == ["alices"]
    error = aws_error(send("GET", f"{moto_mode.url}/lax", headers={"Authorization": "Bearer x"}))
    assert (error["status"], error["Code"]) == (400, "InvalidArgument")


def test_a_client_cannot_choose_its_account(gateway):  # noqa: F811
    """Moto's x-moto-account-id header would let any client act as any account; the gateway sets it."""
    s3 = owner(gateway)
    new_bucket(s3, "mine")
    s3.put_object(Bucket="mine", Key="k", Body=b"x")
    other = bob(gateway)
    other.meta.events.register(
        "before-sign.s3.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", "123456789012")
    )
    with pytest.raises(Exception) as refused:
        other.get_object(Bucket="mine", Key="k")
    assert "AccessDenied" in str(refused.value)


def test_delete_objects_and_post_object_act_on_object_resources(gateway):  # noqa: F811
    """S3 API Reference, DeleteObjects (s3:DeleteObject on each key) and POST Object (s3:PutObject on the
    form's key): a policy on `bucket/*` governs them."""
    s3 = owner(gateway)
    new_bucket(s3, "shared")
    s3.put_object(Bucket="shared", Key="a", Body=b"x")
    s3.put_bucket_policy(Bucket="shared", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ALICE[2]}, "Action": ["s3:DeleteObject", "s3:PutObject"],
         "Resource": "arn:aws:s3:::shared/*"},
    ]}))
    alice(gateway).delete_objects(Bucket="shared", Delete={"Objects": [{"Key": "a"}]})
    assert "Contents" not in s3.list_objects_v2(Bucket="shared")
    post = alice(gateway).generate_presigned_post("shared", "posted.txt")
    response = requests.post(post["url"], data=post["fields"], files={"file": ("f", b"hi")}, timeout=10)
    assert response.status_code == 204, response.text
    post = bob(gateway).generate_presigned_post("shared", "bobs.txt")
    response = requests.post(post["url"], data=post["fields"], files={"file": ("f", b"hi")}, timeout=10)
    assert aws_error(response)["Code"] == "AccessDenied"
    with pytest.raises(Exception) as refused:
        bob(gateway).delete_objects(Bucket="shared", Delete={"Objects": [{"Key": "posted.txt"}]})
    assert "AccessDenied" in str(refused.value)
