"""Valid requests Moto 5.2.5 answered with a 500 get S3's answer (issue 28, item 6)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.moto_gateway.access_support import (
    accounts_server,  # noqa: F401 (fixture)
    alice,
    allowed,
    gateway,  # noqa: F401 (fixture)
    new_bucket,
    owner,
)
from tests.moto_gateway.test_access_grants_to_default import canonical_id_of


def test_revoking_every_grant_of_a_bucket(gateway):  # noqa: F811
    """PutBucketAcl (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketAcl.html) with an
    AccessControlPolicy whose list is empty revokes every grant; GetBucketAcl then answers no grants (Moto:
    500), the owner may still set the ACL back (s3-tests test_bucket_acl_revoke_all)."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "revoked")
    s3.put_object(Bucket=bucket, Key="foo", Body=b"bar")
    before = s3.get_bucket_acl(Bucket=bucket)
    s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy={"Owner": before["Owner"], "Grants": []})
    assert s3.get_bucket_acl(Bucket=bucket)["Grants"] == []
    s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy={"Owner": before["Owner"], "Grants": before["Grants"]})
    assert s3.get_bucket_acl(Bucket=bucket)["Grants"] == before["Grants"]


def test_an_object_acl_body_is_the_objects_acl(gateway):  # noqa: F811
    """PutObjectAcl (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectAcl.html): the
    AccessControlPolicy body is the object's new ACL (Moto copied the bucket's ACL instead): a grant by
    canonical id lets that account read the object, an empty list revokes every grant."""
    s3, other = owner(gateway), alice(gateway)
    bucket = new_bucket(s3, "objectacl")
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    current = s3.get_object_acl(Bucket=bucket, Key="k")
    grant = {"Grantee": {"ID": canonical_id_of("111111111111"), "Type": "CanonicalUser"}, "Permission": "READ"}
    s3.put_object_acl(Bucket=bucket, Key="k", AccessControlPolicy={"Owner": current["Owner"], "Grants": [grant]})
    assert [g["Grantee"]["ID"] for g in s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]] == [
        canonical_id_of("111111111111")]
    assert allowed(other.get_object, Bucket=bucket, Key="k")
    s3.put_object_acl(Bucket=bucket, Key="k", AccessControlPolicy={"Owner": current["Owner"], "Grants": []})
    assert s3.get_object_acl(Bucket=bucket, Key="k")["Grants"] == []
    assert not allowed(other.get_object, Bucket=bucket, Key="k")


def test_an_empty_tag_set_removes_every_tag_and_a_repeated_key_is_refused(gateway):  # noqa: F811
    """PutObjectTagging (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectTagging.html): an empty
    TagSet is a valid request that leaves the object without tags (Moto failed on it); two tags with one key
    are 400 InvalidTag (Moto kept the last)."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "tagsets")
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="a=1&b=2")
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": []})
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    twice = {"TagSet": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]}
    with pytest.raises(ClientError) as refused:
        s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=twice)
    assert (refused.value.response["ResponseMetadata"]["HTTPStatusCode"],
            refused.value.response["Error"]["Code"]) == (400, "InvalidTag")
