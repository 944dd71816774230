"""A grant to the default account (whose canonical id is the one Moto writes for every owner) in another
account's bucket means the default account, not the bucket's owner (issue 28's third regression from bare
Moto: a copy into a bucket the copier does not own, then read by the copier, was AccessDenied)."""

from __future__ import annotations

from moto_gateway.signing.keyring import canonical_id_of
from tests.moto_gateway.access_support import (
    accounts_server,  # noqa: F401 (fixture)
    alice,
    allowed,
    gateway,  # noqa: F401 (fixture)
    new_bucket,
    owner,
)

DEFAULT_CANONICAL_ID = canonical_id_of("123456789012")


def test_copy_into_a_bucket_the_copier_does_not_own_then_read_by_the_copier(gateway):  # noqa: F811
    """S3 User Guide, "Access control list (ACL) overview"
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html): a FULL_CONTROL grant by
    canonical id lets that grantee write into the bucket; the object it writes (CopyObject included) is
    its own ("Controlling ownership of objects", ObjectWriter), so it reads it back, and the bucket's
    owner, not granted by the object's ACL, does not."""
    main, other = owner(gateway), alice(gateway)
    source = new_bucket(main, "copy-source")
    main.put_object(Bucket=source, Key="src", Body=b"foo")
    target = new_bucket(other, "alices-bucket")
    other.put_bucket_acl(Bucket=target, GrantFullControl=f"id={DEFAULT_CANONICAL_ID}")
    main.copy_object(Bucket=target, Key="copy", CopySource={"Bucket": source, "Key": "src"})
    assert main.get_object(Bucket=target, Key="copy")["Body"].read() == b"foo"
    main.put_object(Bucket=target, Key="put", Body=b"bar")
    assert main.get_object(Bucket=target, Key="put")["Body"].read() == b"bar"
    assert not allowed(other.get_object, Bucket=target, Key="copy")


def test_the_owner_placeholder_still_means_the_owner(gateway):  # noqa: F811
    """The default ACL S3 gives a bucket grants its owner FULL_CONTROL (S3 User Guide, "Access control list
    (ACL) overview", default ACL): alice's own bucket is hers, and not the default account's."""
    main, other = owner(gateway), alice(gateway)
    bucket = new_bucket(other, "alices-own")
    other.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert other.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
    assert not allowed(main.get_object, Bucket=bucket, Key="k")
    assert not allowed(main.put_object, Bucket=bucket, Key="k2", Body=b"y")
