"""Anonymous means anonymous: an unsigned request is allowed only where an ACL or the bucket policy allows
everyone (issue 17 case 14); GATEWAY_ALLOW_ANONYMOUS=true gives Moto's permissive behaviour back."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from testkit.clients import REGION
from tests.moto_gateway.access_support import (
    accounts_server,  # noqa: F401 (fixture)
    gateway,  # noqa: F401 (fixture)
    new_bucket,
    owner,
    send,
    start,
)
from tests.moto_gateway.helpers import aws_error


def anonymous(server):
    return boto3.session.Session().client(
        "s3",
        endpoint_url=server.url,
        region_name=REGION,
        config=Config(signature_version=UNSIGNED, s3={"addressing_style": "path"}),
    )


def denied(call, *args, **kwargs) -> None:
    with pytest.raises(ClientError) as refused:
        call(*args, **kwargs)
    error = refused.value.response
    assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (403, "AccessDenied")


def test_anonymous_is_denied_on_a_private_bucket(gateway):  # noqa: F811
    """S3 User Guide, "How Amazon S3 authorizes a request" and "Access control list (ACL) overview": the
    anonymous principal gets only what the AllUsers group is granted or a policy grants to "*"; S3 API
    Reference, "Error responses": AccessDenied."""
    s3 = owner(gateway)
    new_bucket(s3, "private")
    s3.put_object(Bucket="private", Key="k", Body=b"secret")
    nobody = anonymous(gateway)
    denied(nobody.put_object, Bucket="private", Key="new", Body=b"x")
    denied(nobody.put_object, Bucket="private", Key="k", Body=b"overwrite")
    denied(nobody.get_object, Bucket="private", Key="k")
    denied(nobody.delete_object, Bucket="private", Key="k")
    denied(nobody.list_objects, Bucket="private")
    denied(nobody.list_objects_v2, Bucket="private")
    denied(nobody.put_bucket_acl, Bucket="private", ACL="public-read-write")
    denied(
        nobody.put_bucket_policy,
        Bucket="private",
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::private/*"}
        ]}),
    )
    denied(nobody.delete_bucket_cors, Bucket="private")
    denied(nobody.create_bucket, Bucket="by-nobody", CreateBucketConfiguration={"LocationConstraint": REGION})
    denied(nobody.list_buckets)
    assert s3.get_object(Bucket="private", Key="k")["Body"].read() == b"secret"
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["private"]
    assert "Policy" not in str(s3.get_bucket_acl(Bucket="private")["Grants"])


def test_anonymous_refusal_is_s3_error_xml(gateway):  # noqa: F811
    """S3 API Reference, "Error responses": every error carries <Error><Code>; not a bare 403."""
    new_bucket(owner(gateway), "private")
    error = aws_error(send("PUT", f"{gateway.url}/private/k", b"x"))
    assert (error["status"], error["Code"], error["Message"]) == (403, "AccessDenied", "Access Denied")


def test_public_read_bucket_and_objects_stay_readable_unsigned(gateway):  # noqa: F811
    """S3 User Guide, "Canned ACL": public-read grants AllUsers READ (bucket: list; object: get), not WRITE."""
    s3 = owner(gateway)
    new_bucket(s3, "shown", ACL="public-read")
    s3.put_object(Bucket="shown", Key="pic.png", Body=b"png", ACL="public-read")
    s3.put_object(Bucket="shown", Key="hidden.txt", Body=b"private")
    nobody = anonymous(gateway)
    assert [o["Key"] for o in nobody.list_objects_v2(Bucket="shown")["Contents"]] == ["hidden.txt", "pic.png"]
    assert nobody.get_object(Bucket="shown", Key="pic.png")["Body"].read() == b"png"
    assert send("GET", f"{gateway.url}/shown/pic.png").content == b"png"
    denied(nobody.get_object, Bucket="shown", Key="hidden.txt")
    denied(nobody.put_object, Bucket="shown", Key="new", Body=b"x")


def test_public_read_write_bucket_takes_anonymous_writes(gateway):  # noqa: F811
    """S3 User Guide, "Canned ACL": public-read-write grants AllUsers READ and WRITE on the bucket; an object
    written anonymously belongs to the anonymous principal, whose ACL grants the bucket owner nothing."""
    s3 = owner(gateway)
    new_bucket(s3, "open", ACL="public-read-write")
    s3.put_object(Bucket="open", Key="owned", Body=b"by owner")
    nobody = anonymous(gateway)
    nobody.put_object(Bucket="open", Key="dropped", Body=b"anon")
    nobody.put_object(Bucket="open", Key="owned", Body=b"overwritten")  # WRITE on the bucket allows it
    assert {o["Key"] for o in nobody.list_objects(Bucket="open")["Contents"]} == {"dropped", "owned"}
    assert nobody.get_object(Bucket="open", Key="dropped")["Body"].read() == b"anon"
    denied(s3.get_object, Bucket="open", Key="dropped")  # the anonymous principal owns it, not the bucket owner
    denied(nobody.put_bucket_acl, Bucket="open", ACL="private")


def test_bucket_policy_can_open_reads_to_everyone(gateway):  # noqa: F811
    """S3 User Guide, "Bucket policy examples": granting read-only permission to an anonymous user."""
    s3 = owner(gateway)
    new_bucket(s3, "site")
    s3.put_object(Bucket="site", Key="index.html", Body=b"<h1>")
    s3.put_bucket_policy(
        Bucket="site",
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::site/*"]}
        ]}),
    )
    nobody = anonymous(gateway)
    assert nobody.get_object(Bucket="site", Key="index.html")["Body"].read() == b"<h1>"
    denied(nobody.list_objects_v2, Bucket="site")
    denied(nobody.put_object, Bucket="site", Key="x", Body=b"x")


@pytest.fixture(scope="module")
def permissive():
    server = start({"GATEWAY_ALLOW_ANONYMOUS": "true"})
    yield server
    server.stop()


def test_allow_anonymous_restores_motos_behaviour(permissive):
    """GATEWAY_ALLOW_ANONYMOUS=true: unsigned requests reach Moto unjudged, as on plain Moto."""
    permissive.reset()
    new_bucket(owner(permissive), "lax")
    nobody = anonymous(permissive)
    nobody.put_object(Bucket="lax", Key="k", Body=b"x")
    assert [o["Key"] for o in nobody.list_objects_v2(Bucket="lax")["Contents"]] == ["k"]
    signed_only = owner(permissive)
    assert signed_only.get_object(Bucket="lax", Key="k")["Body"].read() == b"x"
