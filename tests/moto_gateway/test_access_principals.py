"""Grants by e-mail address and canonical id name the principals GATEWAY_CREDENTIALS describes, and ACL answers
name real owners (issue 28, item 4). Page: S3 User Guide, "Access control list (ACL) overview", grantees
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#specifying-grantee)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from moto_gateway.signing.keyring import canonical_id_of
from testkit.clients import REGION, make_test_client
from testkit.servers import MotoServer
from tests.moto_gateway.access_support import allowed

BOB_ID = "b0b" + "0" * 61
CREDENTIALS = (
    "alice-key:alice-secret:111111111111:name=alice:email=alice@example.com,"
    f"bob-key:bob-secret:222222222222:id={BOB_ID}:name=bob"
)


@pytest.fixture(scope="module")
def named():
    server = MotoServer(env={"GATEWAY_CREDENTIALS": CREDENTIALS})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def clients(named):
    named.reset()
    return (make_test_client(named.url), make_test_client(named.url, key="alice-key", secret="alice-secret"),
            make_test_client(named.url, key="bob-key", secret="bob-secret"))


def create(s3, name: str, **kwargs) -> str:
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}, **kwargs)
    return name


def test_a_grant_by_email_names_the_account_with_that_address(clients):
    """Grantee "by e-mail address": S3 turns it into the account's canonical user grant; an address it does
    not know is 400 UnresolvableGrantByEmailAddress (S3 API Reference, PutBucketAcl, "Grantee Values")."""
    owner, alice, _bob = clients
    bucket = create(owner, "byemail")
    owner.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert not allowed(alice.list_objects_v2, Bucket=bucket)
    owner.put_bucket_acl(Bucket=bucket, GrantRead='emailAddress="alice@example.com"')
    assert allowed(alice.list_objects_v2, Bucket=bucket)
    grantees = [g["Grantee"] for g in owner.get_bucket_acl(Bucket=bucket)["Grants"]]
    assert {"Type": "CanonicalUser", "ID": canonical_id_of("111111111111"), "DisplayName": "alice"} in grantees
    current = owner.get_object_acl(Bucket=bucket, Key="k")
    body_grant = {"Grantee": {"Type": "AmazonCustomerByEmail", "EmailAddress": "alice@example.com"},
                  "Permission": "READ"}
    owner.put_object_acl(Bucket=bucket, Key="k", AccessControlPolicy={"Owner": current["Owner"],
                                                                     "Grants": [body_grant]})
    assert allowed(alice.get_object, Bucket=bucket, Key="k")
    with pytest.raises(ClientError) as refused:
        owner.put_bucket_acl(Bucket=bucket, GrantRead='emailAddress="nobody@example.com"')
    assert refused.value.response["Error"]["Code"] == "UnresolvableGrantByEmailAddress"


def test_acl_answers_name_the_real_owner_and_a_chosen_canonical_id(clients):
    """GetBucketAcl: Owner is the bucket's account, with its display name, and so is the owner's grant of
    the default ACL; an account whose canonical id GATEWAY_CREDENTIALS chose is named by it, in ACLs and in
    listings, and a grant to that id lets it in."""
    owner, alice, bob = clients
    bucket = create(alice, "alicesown")
    answer = alice.get_bucket_acl(Bucket=bucket)
    assert answer["Owner"]["DisplayName"] == "alice"
    assert [g["Grantee"]["ID"] for g in answer["Grants"]] == [answer["Owner"]["ID"]]
    assert answer["Owner"]["ID"] != owner.get_bucket_acl(Bucket=create(owner, "mainsown"))["Owner"]["ID"]
    bobs = create(bob, "bobsown")
    bob.put_object(Bucket=bobs, Key="k", Body=b"x")
    assert bob.get_bucket_acl(Bucket=bobs)["Owner"] == {"ID": BOB_ID, "DisplayName": "bob"}
    assert bob.list_objects(Bucket=bobs)["Contents"][0]["Owner"]["ID"] == BOB_ID
    assert not allowed(bob.list_objects_v2, Bucket=bucket)
    alice.put_bucket_acl(Bucket=bucket, GrantRead=f"id={BOB_ID}")
    assert allowed(bob.list_objects_v2, Bucket=bucket)


def test_grant_headers_at_create_bucket(clients):
    """CreateBucket (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html): x-amz-grant-*
    headers give the new bucket's ACL, as a canned x-amz-acl does."""
    owner, alice, _bob = clients
    bucket = create(owner, "grantedatcreate", GrantRead='emailAddress="alice@example.com"')
    assert allowed(alice.list_objects_v2, Bucket=bucket)
    public = create(owner, "cannedatcreate", ACL="public-read")
    assert any(g["Grantee"].get("URI", "").endswith("AllUsers") for g in owner.get_bucket_acl(Bucket=public)["Grants"])


def test_list_buckets_names_the_calling_account_as_owner(clients):
    """ListBuckets (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html): Owner is the
    owner of the buckets listed, the calling account, with its canonical id and display name: the owner
    GetBucketAcl names for the same account's buckets."""
    owner, alice, bob = clients
    create(alice, "alicelists")
    create(bob, "boblists")
    assert bob.list_buckets()["Owner"] == {"ID": BOB_ID, "DisplayName": "bob"}
    assert [b["Name"] for b in bob.list_buckets()["Buckets"]] == ["boblists"]
    alices = alice.list_buckets()["Owner"]
    assert alices == {"ID": canonical_id_of("111111111111"), "DisplayName": "alice"}
    assert alices == alice.get_bucket_acl(Bucket="alicelists")["Owner"]
    mains = owner.list_buckets()["Owner"]
    assert mains == owner.get_bucket_acl(Bucket=create(owner, "mainlists"))["Owner"]
