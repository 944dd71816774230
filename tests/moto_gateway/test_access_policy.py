"""Bucket policies: Allow/Deny, Principal/NotPrincipal, Action/NotAction, Resource, conditions and the
S3 condition keys, Block Public Access, GetBucketPolicyStatus; against a real gateway with three accounts.

S3 User Guide: "Bucket policy examples", "Policy examples with condition keys" and "Blocking public
access to your Amazon S3 storage"; IAM User Guide: "Policy evaluation logic", "IAM JSON policy elements:
Condition operators"; S3 API Reference: GetBucketPolicyStatus.
"""

from __future__ import annotations

import json

import pytest
import requests
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from moto_gateway.access.policy import PolicyRequest, condition_holds, evaluate, is_public
from moto_gateway.signing.keyring import account
from tests.moto_gateway.access_support import (
    ALICE,
    BOB,
    accounts_server,  # noqa: F401 (fixture)
    alice,
    allowed,
    bob,
    gateway,  # noqa: F401 (fixture)
    new_bucket,
    owner,
)
from tests.moto_gateway.test_access_anonymous import anonymous

ALICE_ARN = f"arn:aws:iam::{ALICE[2]}:root"
OWNER_ARN = "arn:aws:iam::123456789012:root"



def put_policy(s3, bucket: str, *statements: dict) -> None:
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))


def test_allow_with_a_deny_conditioned_on_the_acl_header(gateway):  # noqa: F811
    """S3 User Guide, "Policy examples with condition keys" (s3:x-amz-acl): a Deny whose StringLike does
    not match a request without the header does not apply; a plain PutObject is allowed."""
    s3 = owner(gateway)
    new_bucket(s3, "acl-guard")
    put_policy(
        s3,
        "acl-guard",
        {"Effect": "Allow", "Principal": {"AWS": ALICE_ARN}, "Action": "s3:PutObject",
         "Resource": "arn:aws:s3:::acl-guard/*"},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::acl-guard/*",
         "Condition": {"StringLike": {"s3:x-amz-acl": "public*"}}},
    )
    assert allowed(alice(gateway).put_object, Bucket="acl-guard", Key="plain", Body=b"x")
    assert allowed(s3.put_object, Bucket="acl-guard", Key="plain2", Body=b"x")
    assert not allowed(alice(gateway).put_object, Bucket="acl-guard", Key="p", Body=b"x", ACL="public-read")
    assert not allowed(s3.put_object, Bucket="acl-guard", Key="p", Body=b"x", ACL="public-read")  # Deny binds the owner
    assert not allowed(bob(gateway).put_object, Bucket="acl-guard", Key="b", Body=b"x")


def test_not_principal_and_not_action(gateway):  # noqa: F811
    """IAM User Guide, "AWS JSON policy elements: NotPrincipal" and "NotAction"."""
    s3 = owner(gateway)
    new_bucket(s3, "guarded", ACL="public-read")
    s3.put_object(Bucket="guarded", Key="k", Body=b"x", ACL="public-read")
    put_policy(
        s3,
        "guarded",
        {"Effect": "Deny", "NotPrincipal": {"AWS": [OWNER_ARN, ALICE_ARN]}, "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::guarded/*"},
        {"Effect": "Allow", "Principal": {"AWS": ALICE[2]}, "NotAction": ["s3:DeleteObject", "s3:Get*"],
         "Resource": "arn:aws:s3:::guarded/*"},
    )
    assert allowed(alice(gateway).get_object, Bucket="guarded", Key="k")  # by the object's public-read ACL
    assert not allowed(bob(gateway).get_object, Bucket="guarded", Key="k")
    assert not allowed(anonymous(gateway).get_object, Bucket="guarded", Key="k")
    assert allowed(alice(gateway).put_object, Bucket="guarded", Key="a", Body=b"x")
    assert not allowed(alice(gateway).delete_object, Bucket="guarded", Key="k")


def test_existing_and_request_object_tags(gateway):  # noqa: F811
    """S3 User Guide, "Tagging and access control policies": s3:ExistingObjectTag/<key> and
    s3:RequestObjectTag/<key>."""
    s3 = owner(gateway)
    new_bucket(s3, "tagged")
    s3.put_object(Bucket="tagged", Key="open", Body=b"x", Tagging="security=public")
    s3.put_object(Bucket="tagged", Key="closed", Body=b"x", Tagging="security=secret")
    put_policy(
        s3,
        "tagged",
        {"Effect": "Allow", "Principal": {"AWS": ALICE[2]}, "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::tagged/*", "Condition": {"StringEquals": {"s3:ExistingObjectTag/security": "public"}}},
        {"Effect": "Allow", "Principal": {"AWS": ALICE[2]}, "Action": "s3:PutObject",
         "Resource": "arn:aws:s3:::tagged/*", "Condition": {"StringEquals": {"s3:RequestObjectTag/team": "a"}}},
    )
    assert allowed(alice(gateway).get_object, Bucket="tagged", Key="open")
    assert not allowed(alice(gateway).get_object, Bucket="tagged", Key="closed")
    assert allowed(alice(gateway).put_object, Bucket="tagged", Key="n", Body=b"x", Tagging="team=a")
    assert not allowed(alice(gateway).put_object, Bucket="tagged", Key="m", Body=b"x", Tagging="team=b")
    assert not allowed(alice(gateway).put_object, Bucket="tagged", Key="m", Body=b"x")


def test_copy_source_and_prefix_conditions(gateway):  # noqa: F811
    """S3 User Guide, "Policy examples with condition keys": s3:x-amz-copy-source restricts the source of
    a copy; s3:prefix restricts what ListBucket may list. A copy also needs s3:GetObject on its source."""
    s3 = owner(gateway)
    new_bucket(s3, "copies")
    s3.put_object(Bucket="copies", Key="public/a", Body=b"a", ACL="public-read")
    s3.put_object(Bucket="copies", Key="private/b", Body=b"b", ACL="public-read")
    s3.put_object(Bucket="copies", Key="secret", Body=b"s")
    put_policy(
        s3,
        "copies",
        {"Effect": "Allow", "Principal": {"AWS": ALICE[2]}, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::copies/*",
         "Condition": {"StringLike": {"s3:x-amz-copy-source": "copies/public/*"}}},
        {"Effect": "Allow", "Principal": {"AWS": ALICE[2]}, "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::copies",
         "Condition": {"StringEquals": {"s3:prefix": "public/"}}},
    )
    other = alice(gateway)
    assert allowed(other.copy_object, Bucket="copies", Key="copied", CopySource="copies/public/a")
    assert not allowed(other.copy_object, Bucket="copies", Key="copied2", CopySource="copies/private/b")
    assert not allowed(other.put_object, Bucket="copies", Key="direct", Body=b"x")
    assert allowed(other.list_objects_v2, Bucket="copies", Prefix="public/")
    assert not allowed(other.list_objects_v2, Bucket="copies")
    new_bucket(other, "alices-own")
    assert not allowed(other.copy_object, Bucket="alices-own", Key="stolen", CopySource="copies/secret")


def test_if_exists_numeric_and_source_ip(gateway):  # noqa: F811
    """IAM User Guide, "Condition operators": ...IfExists holds when the key is absent; NotIpAddress with
    aws:SourceIp; an explicit Deny binds the owner too, except for the policy actions of its root."""
    s3 = owner(gateway)
    new_bucket(s3, "limits")
    put_policy(
        s3,
        "limits",
        {"Effect": "Allow", "Principal": {"AWS": BOB[2]}, "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::limits",
         "Condition": {"NumericLessThanEqualsIfExists": {"s3:max-keys": "10"}}},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::limits",
         "Condition": {"NumericGreaterThan": {"s3:max-keys": "50"}}},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::limits/*",
         "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
    )
    assert allowed(bob(gateway).list_objects_v2, Bucket="limits")  # no max-keys: the IfExists test holds
    assert allowed(bob(gateway).list_objects_v2, Bucket="limits", MaxKeys=5)
    assert not allowed(bob(gateway).list_objects_v2, Bucket="limits", MaxKeys=20)  # no Allow applies
    assert allowed(s3.list_objects_v2, Bucket="limits", MaxKeys=20)  # the owner needs no Allow
    assert not allowed(s3.list_objects_v2, Bucket="limits", MaxKeys=100)  # but a Deny binds it
    assert not allowed(s3.put_object, Bucket="limits", Key="k", Body=b"x")  # from 127.0.0.1
    put_policy(s3, "limits", {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::limits", "arn:aws:s3:::limits/*"]})
    assert not allowed(s3.list_objects_v2, Bucket="limits")
    assert allowed(s3.get_bucket_policy, Bucket="limits")
    s3.delete_bucket_policy(Bucket="limits")
    assert allowed(s3.list_objects_v2, Bucket="limits")


def test_policy_status_and_block_public_access(gateway):  # noqa: F811
    """S3 API Reference, GetBucketPolicyStatus (IsPublic) and PutPublicAccessBlock; S3 User Guide,
    "Blocking public access": BlockPublicPolicy refuses a public policy, RestrictPublicBuckets makes a public
    policy grant nothing outside the account, BlockPublicAcls refuses public ACLs, IgnorePublicAcls ignores
    them."""
    s3 = owner(gateway)
    new_bucket(s3, "pub")
    s3.put_object(Bucket="pub", Key="k", Body=b"x", ACL="public-read")
    public = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pub/*"}
    restricted = {**public, "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.1/32"}}}
    put_policy(s3, "pub", restricted)
    assert s3.get_bucket_policy_status(Bucket="pub")["PolicyStatus"]["IsPublic"] is False
    put_policy(s3, "pub", public)
    assert s3.get_bucket_policy_status(Bucket="pub")["PolicyStatus"]["IsPublic"] is True
    assert allowed(anonymous(gateway).get_object, Bucket="pub", Key="k")
    s3.put_public_access_block(
        Bucket="pub",
        PublicAccessBlockConfiguration={"BlockPublicAcls": True, "IgnorePublicAcls": True,
                                        "BlockPublicPolicy": True, "RestrictPublicBuckets": True},
    )
    assert not allowed(anonymous(gateway).get_object, Bucket="pub", Key="k")  # policy restricted, ACL ignored
    assert not allowed(bob(gateway).get_object, Bucket="pub", Key="k")
    assert not allowed(s3.put_object, Bucket="pub", Key="p", Body=b"x", ACL="public-read")
    assert not allowed(s3.put_object_acl, Bucket="pub", Key="k", ACL="public-read-write")
    assert not allowed(put_policy, s3, "pub", public)
    put_policy(s3, "pub", restricted)  # not public: accepted
    assert allowed(s3.get_object, Bucket="pub", Key="k")


def status_of(s3, bucket: str) -> bool | str:
    try:
        return s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"]
    except ClientError as error:
        return error.response["Error"]["Code"]


@pytest.mark.parametrize("canned", ["public-read", "public-read-write", "authenticated-read"])
def test_policy_status_of_a_bucket_public_by_its_acl(gateway, canned):  # noqa: F811
    """S3 User Guide, "Blocking public access to your Amazon S3 storage", "The meaning of "public"": an ACL
    granting to AllUsers or AuthenticatedUsers makes a bucket public, so GetBucketPolicyStatus answers
    IsPublic true without any policy (as the s3-tests cases test_get_public_acl_bucket_policy_status and
    test_get_authpublic_acl_bucket_policy_status expect); IgnorePublicAcls makes the ACL count for
    nothing; a private bucket without a policy is NoSuchBucketPolicy, as S3 answers."""
    s3 = owner(gateway)
    new_bucket(s3, "acl-status")
    assert status_of(s3, "acl-status") == "NoSuchBucketPolicy"
    s3.put_bucket_acl(Bucket="acl-status", ACL=canned)
    assert status_of(s3, "acl-status") is True
    put_policy(s3, "acl-status", {"Effect": "Allow", "Principal": {"AWS": ALICE_ARN}, "Action": "s3:GetObject",
                                  "Resource": "arn:aws:s3:::acl-status/*"})
    assert status_of(s3, "acl-status") is True  # the policy is not public, the ACL is
    s3.put_public_access_block(Bucket="acl-status", PublicAccessBlockConfiguration={"IgnorePublicAcls": True})
    assert status_of(s3, "acl-status") is False
    s3.delete_public_access_block(Bucket="acl-status")
    s3.put_bucket_acl(Bucket="acl-status", ACL="private")
    assert status_of(s3, "acl-status") is False


def test_listing_condition_keys_on_every_listing(gateway):  # noqa: F811
    """Service Authorization Reference, "Actions, resources, and condition keys for Amazon S3": s3:prefix,
    s3:delimiter and s3:max-keys are condition keys of ListBucket (ListObjects and ListObjectsV2) and of
    ListBucketVersions; S3 User Guide, "Amazon S3 condition key examples" (restricting listings to a
    prefix). Another account may list only what the conditions allow."""
    s3 = owner(gateway)
    new_bucket(s3, "lists")
    s3.put_object(Bucket="lists", Key="home/alice/a", Body=b"x")
    put_policy(
        s3,
        "lists",
        {"Effect": "Allow", "Principal": {"AWS": ALICE_ARN}, "Action": ["s3:ListBucket", "s3:ListBucketVersions"],
         "Resource": "arn:aws:s3:::lists", "Condition": {"StringLike": {"s3:prefix": "home/alice/*"},
                                                          "StringEquals": {"s3:delimiter": "/"},
                                                          "NumericLessThanEquals": {"s3:max-keys": "100"}}},
    )
    other = alice(gateway)
    asked = {"Bucket": "lists", "Prefix": "home/alice/", "Delimiter": "/", "MaxKeys": 50}
    assert other.list_objects(**asked)["Contents"][0]["Key"] == "home/alice/a"
    assert other.list_objects_v2(**asked)["KeyCount"] == 1
    assert other.list_object_versions(**asked)["Versions"][0]["Key"] == "home/alice/a"
    for listing in (other.list_objects, other.list_objects_v2, other.list_object_versions):
        assert not allowed(listing, **{**asked, "Prefix": "home/bob/"})
        assert not allowed(listing, **{**asked, "Delimiter": "-"})
        assert not allowed(listing, **{**asked, "MaxKeys": 500})
        assert not allowed(listing, Bucket="lists", Prefix="home/alice/", Delimiter="/")  # no max-keys
    assert not allowed(bob(gateway).list_objects_v2, **asked)


def test_acl_and_grant_condition_keys_on_put_object_and_put_object_acl(gateway):  # noqa: F811
    """S3 User Guide, "Amazon S3 condition key examples": s3:x-amz-acl and s3:x-amz-grant-full-control
    (granting the bucket owner full control of what another account uploads); the same keys on
    PutObjectAcl. As s3-tests' test_bucket_policy_put_obj_grant: the object written with the grant is the
    bucket owner's to read the ACL of; one written without it is not."""
    s3 = owner(gateway)
    new_bucket(s3, "granted")
    owner_grant = "id=" + s3.get_bucket_acl(Bucket="granted")["Owner"]["ID"]
    put_policy(
        s3,
        "granted",
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::granted/*",
         "Condition": {"StringEquals": {"s3:x-amz-grant-full-control": owner_grant}}},
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:PutObjectAcl",
         "Resource": "arn:aws:s3:::granted/*", "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-read"}}},
    )
    other = alice(gateway)
    assert not allowed(other.put_object, Bucket="granted", Key="k", Body=b"x")
    assert not allowed(other.put_object, Bucket="granted", Key="k", Body=b"x", GrantFullControl="id=" + "0" * 64)
    assert allowed(other.put_object, Bucket="granted", Key="k", Body=b"x", GrantFullControl=owner_grant)
    assert s3.get_object_acl(Bucket="granted", Key="k")["Grants"][0]["Grantee"]["ID"] == owner_grant[3:]
    assert not allowed(other.put_object_acl, Bucket="granted", Key="k", ACL="public-read")
    assert allowed(other.put_object_acl, Bucket="granted", Key="k", ACL="bucket-owner-read")


def test_acl_condition_key_on_a_post_object_form(gateway):  # noqa: F811
    """S3 User Guide, "Amazon S3 condition key examples" (s3:x-amz-acl) and S3 API Reference, "POST Object":
    a browser form's `acl` field is the upload's x-amz-acl, so a policy's condition on s3:x-amz-acl binds a
    form upload as it binds a PutObject."""
    s3 = owner(gateway)
    new_bucket(s3, "forms")
    put_policy(
        s3,
        "forms",
        {"Effect": "Allow", "Principal": {"AWS": ALICE_ARN}, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::forms/*"},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::forms/*",
         "Condition": {"StringLike": {"s3:x-amz-acl": "public*"}}},
    )

    def posted(acl: str) -> int:
        form = alice(gateway).generate_presigned_post("forms", f"up-{acl}", Fields={"acl": acl},
                                                      Conditions=[{"acl": acl}])
        return requests.post(form["url"], data=form["fields"], files={"file": b"x"}, timeout=10).status_code

    assert posted("private") == 204
    assert posted("public-read") == 403


@pytest.mark.parametrize(
    ("operator", "expected", "keys", "holds"),
    [
        ("StringEquals", "a", {}, False),
        ("StringNotEquals", "a", {}, True),  # a negated operator holds on a missing key
        ("StringEqualsIfExists", "a", {}, True),
        ("StringNotEquals", ["a", "b"], {"k": ["a"]}, False),  # NOR over values
        ("StringEquals", ["a", "b"], {"k": ["b"]}, True),  # OR over values
        ("StringLike", "ab*", {"k": ["abc"]}, True),
        ("StringEqualsIgnoreCase", "ABC", {"k": ["abc"]}, True),
        ("NumericLessThan", "10", {"k": ["9"]}, True),
        ("NumericLessThan", "10", {"k": ["blah"]}, False),
        ("DateGreaterThan", "2020-01-01T00:00:00Z", {"k": ["2021-01-01T00:00:00Z"]}, True),
        ("Bool", True, {"k": ["true"]}, True),
        ("Null", "true", {}, True),
        ("Null", "false", {}, False),
        ("IpAddress", "10.0.0.0/8", {"k": ["10.1.2.3"]}, True),
        ("ForAllValues:StringEquals", ["a", "b"], {"k": ["a", "b"]}, True),
        ("ForAllValues:StringEquals", ["a"], {"k": ["a", "b"]}, False),
        ("ForAnyValue:StringEquals", ["b"], {"k": ["a", "b"]}, True),
    ],
)
def test_condition_operators(operator, expected, keys, holds):
    """IAM User Guide, "IAM JSON policy elements: Condition operators" and "Conditions with multiple
    context keys or values"."""
    assert condition_holds(operator, "k", expected, keys) is holds


def test_evaluation_order_and_public_test():
    """IAM User Guide, "Policy evaluation logic": an explicit Deny wins over any Allow."""
    alice_account = account(ALICE[2])
    document = {"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": {"AWS": BOB[2]}, "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*"},
    ]}
    assert evaluate(document, PolicyRequest(alice_account, "s3:GetObject", "arn:aws:s3:::b/k")) == "Allow"
    assert evaluate(document, PolicyRequest(account(BOB[2]), "s3:GetObject", "arn:aws:s3:::b/k")) == "Deny"
    assert evaluate({"Statement": []}, PolicyRequest(None, "s3:GetObject", "arn:aws:s3:::b/k")) is None
    assert is_public(document)
    assert not is_public({"Statement": [{"Effect": "Allow", "Principal": {"AWS": ALICE[2]}, "Action": "*"}]})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.sampled_from(["*", "s3:*", "Allow", "Deny"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "Condition",
                         "AWS", "StringEquals", "IpAddress", "NumericLessThan", "Null", "k", "aws:SourceIp"]),
        children,
        max_size=4,
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(statements=st.lists(json_values, max_size=4))
def test_any_stored_policy_is_evaluated_without_raising(statements):
    """Moto stores any policy text; whatever it holds, deciding a request must not fail (no 500)."""
    document = {"Statement": statements}
    request = PolicyRequest(account(ALICE[2]), "s3:GetObject", "arn:aws:s3:::b/k", {"k": ["v"], "aws:sourceip": ["127.0.0.1"]})
    assert evaluate(document, request) in ("Allow", "Deny", None)
    assert is_public(document) in (True, False)
