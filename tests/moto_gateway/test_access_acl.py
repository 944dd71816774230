"""The ACL access matrix: a second account's reads and writes decided by bucket and object ACLs.

S3 User Guide, "Access control list (ACL) overview" (grantees, and the "Mapping of ACL permissions and
access policy permissions" table: bucket READ lists, bucket WRITE creates and overwrites objects, object
READ gets, READ_ACP / WRITE_ACP read and write the ACL) and "Canned ACL".
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from moto_gateway.signing.keyring import canonical_id_of
from tests.moto_gateway.access_support import (
    BOB,
    accounts_server,  # noqa: F401 (fixture)
    alice,
    allowed,
    bob,
    gateway,  # noqa: F401 (fixture)
    new_bucket,
    owner,
)



# (bucket ACL, object ACL) -> (other account may get the object, list the bucket, write a new key,
# overwrite the existing key): rows of the s3-tests access matrix, each AWS's answer.
MATRIX = [
    ("private", "private", (False, False, False, False)),
    ("private", "public-read", (True, False, False, False)),
    ("private", "public-read-write", (True, False, False, False)),
    ("public-read", "private", (False, True, False, False)),
    ("public-read", "public-read", (True, True, False, False)),
    ("public-read-write", "private", (False, True, True, True)),
    ("public-read-write", "public-read", (True, True, True, True)),
    ("authenticated-read", "authenticated-read", (True, True, False, False)),
]


@pytest.mark.parametrize(("bucket_acl", "object_acl", "expected"), MATRIX)
def test_second_account_under_canned_acls(gateway, bucket_acl, object_acl, expected):  # noqa: F811
    s3 = owner(gateway)
    new_bucket(s3, "matrix", ACL=bucket_acl)
    s3.put_object(Bucket="matrix", Key="existing", Body=b"owner's", ACL=object_acl)
    other = bob(gateway)
    seen = (
        allowed(other.get_object, Bucket="matrix", Key="existing"),
        allowed(other.list_objects_v2, Bucket="matrix"),
        allowed(other.put_object, Bucket="matrix", Key="new", Body=b"bob's"),
        allowed(other.put_object, Bucket="matrix", Key="existing", Body=b"bob's"),
    )
    assert seen == expected


def test_grants_to_a_canonical_user(gateway):  # noqa: F811
    """S3 API Reference, PutObjectAcl / PutBucketAcl: x-amz-grant-read id="<canonical user id>"."""
    s3 = owner(gateway)
    new_bucket(s3, "granted")
    bob_id = canonical_id_of(BOB[2])
    s3.put_object(Bucket="granted", Key="for-bob", Body=b"x", GrantRead=f'id="{bob_id}"')
    s3.put_object(Bucket="granted", Key="not-for-bob", Body=b"x")
    assert allowed(bob(gateway).get_object, Bucket="granted", Key="for-bob")
    assert not allowed(alice(gateway).get_object, Bucket="granted", Key="for-bob")
    assert not allowed(bob(gateway).get_object, Bucket="granted", Key="not-for-bob")
    assert not allowed(bob(gateway).get_object_acl, Bucket="granted", Key="for-bob")  # READ is not READ_ACP
    s3.put_bucket_acl(Bucket="granted", GrantRead=f'id="{bob_id}"', GrantFullControl=f'id="{canonical_id_of("123456789012")}"')
    assert allowed(bob(gateway).list_objects_v2, Bucket="granted")
    assert not allowed(alice(gateway).list_objects_v2, Bucket="granted")


def test_bucket_configuration_is_the_owners(gateway):  # noqa: F811
    """S3 API Reference, PutBucketPolicy / DeleteBucket / PutBucketCors: the owner's account only (an ACL on
    the bucket grants no configuration rights)."""
    s3 = owner(gateway)
    new_bucket(s3, "mine", ACL="public-read-write")
    other = alice(gateway)
    assert not allowed(other.delete_bucket, Bucket="mine")
    assert not allowed(other.get_bucket_policy, Bucket="mine")
    assert not allowed(
        other.put_bucket_cors,
        Bucket="mine",
        CORSConfiguration={"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]},
    )
    assert not allowed(other.put_bucket_acl, Bucket="mine", ACL="private")
    assert allowed(s3.get_bucket_acl, Bucket="mine")


def test_object_written_by_another_account_is_its_own(gateway):  # noqa: F811
    """S3 User Guide, "Controlling ownership of objects" (ObjectWriter): the account that uploads an object
    owns it; the bucket owner cannot read it unless the object's ACL grants it, but may delete it."""
    s3 = owner(gateway)
    new_bucket(s3, "dropbox", ACL="public-read-write")
    other = alice(gateway)
    other.put_object(Bucket="dropbox", Key="hers", Body=b"alice's")
    assert other.get_object(Bucket="dropbox", Key="hers")["Body"].read() == b"alice's"
    assert not allowed(s3.get_object, Bucket="dropbox", Key="hers")
    assert not allowed(bob(gateway).get_object, Bucket="dropbox", Key="hers")
    s3.delete_object(Bucket="dropbox", Key="hers")


def test_bucket_owner_enforced_turns_acls_off(gateway):  # noqa: F811
    """S3 User Guide, "Controlling ownership of objects and disabling ACLs": with BucketOwnerEnforced, ACLs
    no longer grant access and requests that set an ACL other than bucket-owner-full-control fail with 400
    AccessControlListNotSupported. (The bucket's own ACL must be private before the setting is applied,
    InvalidBucketAclWithObjectOwnership: test_s3_object_ownership.py; an object's ACL may still be public.)"""
    s3 = owner(gateway)
    new_bucket(s3, "enforced")
    s3.put_object(Bucket="enforced", Key="k", Body=b"x", ACL="public-read")
    assert allowed(bob(gateway).get_object, Bucket="enforced", Key="k")
    s3.put_bucket_ownership_controls(
        Bucket="enforced", OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )
    assert not allowed(bob(gateway).get_object, Bucket="enforced", Key="k")
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket="enforced", Key="p", Body=b"x", ACL="public-read")
    assert refused.value.response["Error"]["Code"] == "AccessControlListNotSupported"
    s3.put_object(Bucket="enforced", Key="p", Body=b"x", ACL="bucket-owner-full-control")


def test_bucket_owner_full_control_and_bucket_owner_preferred(gateway):  # noqa: F811
    """S3 User Guide, "Controlling ownership of objects": with ObjectWriter, bucket-owner-full-control grants
    the bucket owner FULL_CONTROL of the writer's object; with BucketOwnerPreferred the bucket owner owns
    objects written with it."""
    s3 = owner(gateway)
    new_bucket(s3, "handover", ACL="public-read-write")
    other = alice(gateway)
    other.put_object(Bucket="handover", Key="granted", Body=b"x", ACL="bucket-owner-full-control")
    assert allowed(s3.get_object, Bucket="handover", Key="granted")
    assert allowed(other.get_object, Bucket="handover", Key="granted")
    s3.put_bucket_ownership_controls(
        Bucket="handover", OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}
    )
    other.put_object(Bucket="handover", Key="handed", Body=b"x", ACL="bucket-owner-full-control")
    assert allowed(s3.get_object, Bucket="handover", Key="handed")
    assert not allowed(other.get_object, Bucket="handover", Key="handed")  # no longer hers
    other.put_object(Bucket="handover", Key="kept", Body=b"x")
    assert not allowed(s3.get_object, Bucket="handover", Key="kept")


def test_bucket_owner_read_and_full_control_are_grants_of_the_objects_acl(gateway):  # noqa: F811
    """S3 User Guide, "Access control list (ACL) overview", canned ACL: bucket-owner-read gives the object's
    owner FULL_CONTROL and the bucket owner READ; bucket-owner-full-control both FULL_CONTROL. The grant is
    part of the object's ACL: GetObjectAcl shows it, the bucket owner may read (and copy) the object but,
    with only READ, not its ACL, and the writer's PutObjectAcl replaces it."""
    s3 = owner(gateway)
    new_bucket(s3, "shared", ACL="public-read-write")
    bucket_owner_id = s3.get_bucket_acl(Bucket="shared")["Owner"]["ID"]
    other = alice(gateway)
    other.put_object(Bucket="shared", Key="read", Body=b"r", ACL="bucket-owner-read")
    grants = {(g["Grantee"]["ID"], g["Permission"]) for g in other.get_object_acl(Bucket="shared", Key="read")["Grants"]}
    assert (bucket_owner_id, "READ") in grants
    assert s3.get_object(Bucket="shared", Key="read")["Body"].read() == b"r"
    assert allowed(s3.copy_object, Bucket="shared", Key="copy", CopySource="shared/read")
    assert not allowed(s3.get_object_acl, Bucket="shared", Key="read")
    other.put_object(Bucket="shared", Key="full", Body=b"f", ACL="bucket-owner-full-control")
    grants = {(g["Grantee"]["ID"], g["Permission"]) for g in s3.get_object_acl(Bucket="shared", Key="full")["Grants"]}
    assert (bucket_owner_id, "FULL_CONTROL") in grants
    other.put_object_acl(Bucket="shared", Key="full", ACL="private")
    assert not allowed(s3.get_object, Bucket="shared", Key="full")
    upload = other.create_multipart_upload(Bucket="shared", Key="parts", ACL="bucket-owner-full-control")
    part = other.upload_part(Bucket="shared", Key="parts", UploadId=upload["UploadId"], PartNumber=1, Body=b"p")
    other.complete_multipart_upload(Bucket="shared", Key="parts", UploadId=upload["UploadId"],
                                    MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert s3.get_object_acl(Bucket="shared", Key="parts")["Owner"]["ID"] != bucket_owner_id
    assert s3.get_object(Bucket="shared", Key="parts")["Body"].read() == b"p"
