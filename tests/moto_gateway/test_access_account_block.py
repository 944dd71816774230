"""Account-level Block Public Access (s3control PutPublicAccessBlock) joins the bucket's own settings in
the access decision, as on S3; GATEWAY_ACCESS=moto does not decide it."""

from __future__ import annotations

import json
from urllib.parse import urlsplit, urlunsplit

import boto3
import pytest
from botocore.exceptions import ClientError

from testkit.clients import REGION
from tests.moto_gateway.access_support import (
    ALICE,
    accounts_server,  # noqa: F401 (fixture)
    alice,
    allowed,
    gateway,  # noqa: F401 (fixture)
    new_bucket,
    owner,
    start,
)
from tests.moto_gateway.test_access_anonymous import anonymous

OWNER_ACCOUNT = "123456789012"
EVERYTHING_BLOCKED = {
    "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True
}


def s3control(server, key: str = "test", secret: str = "test"):
    """boto3's s3control client against the gateway: S3 Control puts the account id in the host name
    (`<account>.<endpoint>`), which no local name resolves, so the request goes to the endpoint itself."""
    client = boto3.session.Session().client(
        "s3control", endpoint_url=server.url, region_name=REGION, aws_access_key_id=key,
        aws_secret_access_key=secret,
    )

    def drop_account_label(request, **_):
        parts = urlsplit(request.url)
        request.url = urlunsplit(parts._replace(netloc=parts.netloc.split(".", 1)[1]))

    client.meta.events.register("before-send.s3-control.*", drop_account_label)
    return client



def public_policy(bucket: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
    ]})


def test_account_block_public_access_applies_to_every_bucket_of_the_account(gateway):  # noqa: F811
    """S3 User Guide, "Blocking public access to your Amazon S3 storage": settings can be put on a bucket and
    on the account (S3 Control API Reference, PutPublicAccessBlock); "Amazon S3 applies the most restrictive
    combination of the bucket-level and account-level settings". BlockPublicAcls refuses public ACLs,
    IgnorePublicAcls ignores them, BlockPublicPolicy refuses a public policy, RestrictPublicBuckets limits a
    public policy to the account. Another account's buckets are not affected."""
    s3 = owner(gateway)
    new_bucket(s3, "open")
    s3.put_object(Bucket="open", Key="acl", Body=b"x", ACL="public-read")
    s3.put_bucket_policy(Bucket="open", Policy=public_policy("open"))
    s3.put_object(Bucket="open", Key="private", Body=b"x")
    theirs = alice(gateway)
    new_bucket(theirs, "alices")
    theirs.put_object(Bucket="alices", Key="acl", Body=b"x", ACL="public-read")
    assert allowed(anonymous(gateway).get_object, Bucket="open", Key="private")  # by the policy

    control = s3control(gateway)
    control.put_public_access_block(AccountId=OWNER_ACCOUNT, PublicAccessBlockConfiguration=EVERYTHING_BLOCKED)
    assert control.get_public_access_block(AccountId=OWNER_ACCOUNT)["PublicAccessBlockConfiguration"] == (
        EVERYTHING_BLOCKED
    )
    assert not allowed(anonymous(gateway).get_object, Bucket="open", Key="private")  # policy restricted
    assert not allowed(anonymous(gateway).get_object, Bucket="open", Key="acl")  # ACL ignored
    assert not allowed(s3.put_object, Bucket="open", Key="new", Body=b"x", ACL="public-read")
    assert not allowed(s3.put_bucket_policy, Bucket="open", Policy=public_policy("open"))
    assert allowed(s3.get_object, Bucket="open", Key="acl")  # the owner is not affected
    assert allowed(anonymous(gateway).get_object, Bucket="alices", Key="acl")  # another account's bucket

    control.delete_public_access_block(AccountId=OWNER_ACCOUNT)
    assert allowed(anonymous(gateway).get_object, Bucket="open", Key="acl")
    assert allowed(anonymous(gateway).get_object, Bucket="open", Key="private")


def test_an_account_sets_only_its_own_block_public_access(gateway):  # noqa: F811
    """S3 Control API Reference, PutPublicAccessBlock: `x-amz-account-id` is "The account ID for the AWS
    account whose PublicAccessBlock configuration you want to set"; another account's keys cannot set it."""
    s3 = owner(gateway)
    new_bucket(s3, "open")
    s3.put_object(Bucket="open", Key="acl", Body=b"x", ACL="public-read")
    with pytest.raises(ClientError):
        s3control(gateway, ALICE[0], ALICE[1]).put_public_access_block(
            AccountId=OWNER_ACCOUNT, PublicAccessBlockConfiguration=EVERYTHING_BLOCKED
        )
    assert allowed(anonymous(gateway).get_object, Bucket="open", Key="acl")


def test_access_moto_leaves_account_block_public_access_undecided():
    """GATEWAY_ACCESS=moto: no access decision, so the account's settings are stored but block nothing."""
    server = start({"GATEWAY_ACCESS": "moto"})
    try:
        s3 = owner(server)
        new_bucket(s3, "open")
        s3control(server).put_public_access_block(
            AccountId=OWNER_ACCOUNT, PublicAccessBlockConfiguration=EVERYTHING_BLOCKED
        )
        s3.put_object(Bucket="open", Key="acl", Body=b"x", ACL="public-read")
        assert allowed(anonymous(server).get_object, Bucket="open", Key="acl")
    finally:
        server.stop()
