"""Issue 17, cases 3-8: a client's mistake gets S3's 4xx error XML, never a 500 (a real gateway process)."""

from __future__ import annotations

import json
import logging

import pytest
import requests

from moto_gateway.checks.body_checks import BodyRule, policy_problem, xml_problem
from moto_gateway.server.internal_errors import InternalErrors
from moto_gateway.wsgi.refusals import refuse
from tests.moto_gateway.helpers import aws_error, raw_exchange, signed_request, status_of

BUCKET = "hardened"
S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


@pytest.fixture
def bucket(s3):
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    s3.put_object(Bucket=BUCKET, Key="obj", Body=b"kept")
    return BUCKET


def test_presigned_date_in_year_zero_is_a_400(moto, bucket):
    query = (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test/20260101/ap-northeast-1/s3/aws4_request"
        "&X-Amz-Date=00000101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00"
    )
    error = aws_error(requests.get(f"{moto.url}/{BUCKET}/obj?{query}", timeout=10))
    assert (error["status"], error["Code"]) == (400, "AuthorizationQueryParametersError")


@pytest.mark.parametrize("expires", ["-1000000000000000", "99999999999999999", "1_000", " 5", "+5", "٣"])
def test_sigv2_expires_out_of_range_or_odd_is_a_403(moto, bucket, expires):
    response = requests.get(
        f"{moto.url}/{BUCKET}/obj", params={"AWSAccessKeyId": "test", "Expires": expires, "Signature": "x"}, timeout=10
    )
    assert response.status_code == 403, response.text
    assert aws_error(response)["Code"] in ("AccessDenied", "SignatureDoesNotMatch")


def test_post_policy_nested_five_thousand_levels_is_a_400(moto, bucket):
    import base64

    policy = base64.b64encode(b'{"expiration": "2099-01-01T00:00:00Z", "conditions": ' + b"[" * 5000 + b"]" * 5000 + b"}")
    from moto_gateway.signing.sigv2 import sign

    fields = {"key": "k", "AWSAccessKeyId": "test", "policy": policy.decode(), "signature": sign("test", policy.decode())}
    response = requests.post(f"{moto.url}/{BUCKET}", data=fields, files={"file": ("f", b"x")}, timeout=10)
    error = aws_error(response)
    assert (error["status"], error["Code"]) == (400, "InvalidPolicyDocument")


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"Transfer-Encoding": "chunked"}, b"zz\r\nabc\r\n0\r\n\r\n"),
        ({"Transfer-Encoding": "chunked"}, b"-5\r\nabc\r\n0\r\n\r\n"),
        ({"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "Content-Encoding": "aws-chunked"}, b"zz\r\nabc\r\n0\r\n\r\n"),
        ({"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "Content-Encoding": "aws-chunked"}, b"-5\r\nabc\r\n0\r\n\r\n"),
        ({"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "x-amz-decoded-content-length": "3"}, b"zz;chunk-signature=00\r\nabc\r\n"),
        ({"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "x-amz-decoded-content-length": "99999999999999"}, b"3;chunk-signature=00\r\nabc\r\n0;chunk-signature=00\r\n\r\n"),
    ],
)
def test_bad_chunk_headers_are_a_4xx(moto, bucket, headers, body):
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    if "Transfer-Encoding" not in headers:
        head += f"Content-Length: {len(body)}\r\n"
    request = f"PUT /{BUCKET}/chunky HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{head}\r\n".encode() + body
    status = status_of(raw_exchange(moto.port, request))
    assert 400 <= status < 500, status


def valid_policy() -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}
        ],
    }


@pytest.mark.parametrize(
    "body",
    [
        b"garbage",
        b"",
        b"[]",
        b'{"Version": "2012-10-17"}',
        b'{"Version": "2012-10-17", "Statement": []}',
        b'{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}',
        b'{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}',
        b"[" * 5000,
        b'{"Version": "2012-10-17", "Statement": [' + b"{" * 3000 + b"]}",
        json.dumps({**valid_policy(), "Pad": "x" * 30000}).encode(),
    ],
)
@pytest.mark.parametrize("signed", [True, False])
def test_garbage_bucket_policy_is_refused_and_objects_stay_readable(moto, s3, bucket, body, signed):
    if signed:
        response = signed_request(moto.url, "PUT", f"/{BUCKET}?policy", body)
    else:
        response = requests.put(f"{moto.url}/{BUCKET}?policy", data=body, timeout=10)
    error = aws_error(response)
    if signed:
        assert error["status"] == 400
        assert error["Code"] in ("MalformedPolicy", "MissingRequestBodyError", "MaxMessageLengthExceeded")
    else:
        # Issue 17 case 14: an anonymous PutBucketPolicy on a private bucket is 403 AccessDenied, whatever
        # its body (the access layer decides before the body is judged).
        assert (error["status"], error["Code"]) == (403, "AccessDenied")
    assert s3.get_object(Bucket=BUCKET, Key="obj")["Body"].read() == b"kept"


def test_a_valid_bucket_policy_is_stored_and_evaluated(moto, s3, bucket):
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(valid_policy()))
    assert json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"]) == valid_policy()
    assert s3.get_object(Bucket=BUCKET, Key="obj")["Body"].read() == b"kept"


BUCKET_SUBRESOURCES = [
    "cors", "lifecycle", "tagging", "acl", "notification", "encryption", "logging", "publicAccessBlock",
    "ownershipControls", "website", "versioning", "replication", "accelerate", "requestPayment",
    "object-lock", "inventory&id=x", "metrics&id=x", "analytics&id=x", "intelligent-tiering&id=x",
]  # fmt: skip
MALFORMED_BODIES = [
    b"garbage",
    b"<a>",
    b"<Wrong/>",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a SYSTEM "file:///etc/passwd">]><Tagging>&a;</Tagging>',
    b"<Tagging>" + b"<a>" * 200 + b"</a>" * 200 + b"</Tagging>",
]
ROOTS_WITH_ODD_CONTENT = [
    ("cors", "CORSConfiguration"), ("lifecycle", "LifecycleConfiguration"), ("website", "WebsiteConfiguration"),
    ("notification", "NotificationConfiguration"), ("logging", "BucketLoggingStatus"),
    ("encryption", "ServerSideEncryptionConfiguration"), ("publicAccessBlock", "PublicAccessBlockConfiguration"),
    ("versioning", "VersioningConfiguration"), ("tagging", "Tagging"), ("acl", "AccessControlPolicy"),
    ("ownershipControls", "OwnershipControls"), ("replication", "ReplicationConfiguration"),
]  # fmt: skip
ODD_CONTENT = [
    "<Rule/>",
    "<Foo>bar</Foo>",
    "<CORSRule><AllowedMethod>BAD</AllowedMethod></CORSRule>",
    "<Rule><Status>x</Status></Rule>",
    "<TagSet><Tag/></TagSet>",
    "<TagSet><Tag><Key>k</Key></Tag></TagSet>",
    "<AccessControlList><Grant/></AccessControlList>",
]


def no_server_error(response: requests.Response) -> None:
    assert response.status_code < 500, (response.request.method, response.request.url, response.text[:300])
    if response.status_code >= 400 and response.content:
        aws_error(response)


@pytest.mark.parametrize("subresource", BUCKET_SUBRESOURCES)
def test_malformed_xml_on_bucket_subresources_is_malformed_xml(moto, bucket, subresource):
    for body in MALFORMED_BODIES:
        response = signed_request(moto.url, "PUT", f"/{BUCKET}?{subresource}", body)
        error = aws_error(response)
        assert (error["status"], error["Code"]) == (400, "MalformedXML"), (subresource, body[:30])


@pytest.mark.parametrize(("subresource", "root"), ROOTS_WITH_ODD_CONTENT)
def test_documents_with_the_right_root_and_odd_content_never_get_a_5xx(moto, bucket, subresource, root):
    for inner in ["", *ODD_CONTENT]:
        body = f'<{root} xmlns="{S3_NS}">{inner}</{root}>'.encode()
        no_server_error(signed_request(moto.url, "PUT", f"/{BUCKET}?{subresource}", body))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/{b}/obj?tagging"),
        ("PUT", "/{b}/obj?acl"),
        ("PUT", "/{b}/obj?retention"),
        ("PUT", "/{b}/obj?legal-hold"),
        ("POST", "/{b}?delete"),
        ("POST", "/{b}/obj?uploadId=nope"),
        ("POST", "/{b}/obj?restore"),
        ("PUT", "/another-bucket"),
    ],
)
def test_malformed_xml_on_object_and_other_requests_is_a_4xx(moto, bucket, method, path):
    for body in MALFORMED_BODIES:
        response = signed_request(moto.url, method, path.format(b=BUCKET), body)
        assert 400 <= response.status_code < 500, (path, body[:30], response.text[:300])
        assert aws_error(response)["Code"] == "MalformedXML"


def test_well_formed_configuration_still_works(moto, s3, bucket):
    s3.put_bucket_cors(
        Bucket=BUCKET,
        CORSConfiguration={"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]},
    )
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_website(Bucket=BUCKET, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    s3.put_object_acl(Bucket=BUCKET, Key="obj", ACL="public-read")
    s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={})
    s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "obj"}]})
    assert s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"] == [{"Key": "a", "Value": "b"}]
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


def test_xml_over_the_size_limit_is_max_message_length_exceeded(moto, bucket):
    body = b"<Delete>" + b"<Object><Key>k</Key></Object>" * 200_000 + b"</Delete>"
    error = aws_error(signed_request(moto.url, "POST", f"/{BUCKET}?delete", body))
    assert (error["status"], error["Code"]) == (400, "MaxMessageLengthExceeded")


def test_pure_checks_name_the_problem():
    assert xml_problem(b"<Tagging><TagSet/></Tagging>", BodyRule("xml", "Tagging")) is None
    assert xml_problem(b"", BodyRule("xml", "AccessControlPolicy", empty_ok=True)) is None
    assert xml_problem(b"", BodyRule("xml", "Tagging")).code == "MissingRequestBodyError"
    assert xml_problem(b"<Tagging xmlns='urn:other'><TagSet/></Tagging>", BodyRule("xml", "Tagging")).code == "MalformedXML"
    assert policy_problem(json.dumps(valid_policy()).encode()) is None
    single = {**valid_policy(), "Statement": valid_policy()["Statement"][0]}
    assert policy_problem(json.dumps(single).encode()) is None


def wsgi_call(app, environ: dict) -> tuple[str, bytes]:
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"] = status
        seen["headers"] = dict(headers)

    body = b"".join(app(environ, start_response))
    return seen["status"], body


def test_an_exception_inside_is_internal_error_xml_with_the_request_id_logged(caplog):
    def broken(environ, start_response):
        raise KeyError("key")

    app = InternalErrors(broken, refuse)
    with caplog.at_level(logging.ERROR, logger="moto_gateway"):
        status, body = wsgi_call(app, {"REQUEST_METHOD": "GET", "PATH_INFO": "/b/k"})
    assert status.startswith("500")
    assert b"<Code>InternalError</Code>" in body
    request_id = body.split(b"<RequestId>")[1].split(b"</RequestId>")[0].decode()
    record = next(r for r in caplog.records if request_id in r.getMessage())
    assert record.exc_info and record.exc_info[0] is KeyError


def test_a_500_answer_inside_becomes_internal_error_xml():
    def html_500(environ, start_response):
        start_response("500 INTERNAL SERVER ERROR", [("Content-Type", "text/html")])
        return [b"<html>traceback</html>"]

    status, body = wsgi_call(InternalErrors(html_500, refuse), {"REQUEST_METHOD": "GET"})
    assert status.startswith("500") and b"InternalError" in body and b"traceback" not in body


def test_a_lazy_app_that_fails_while_iterating_is_caught():
    def lazy(environ, start_response):
        yield from ()
        raise RuntimeError("late")

    status, body = wsgi_call(InternalErrors(lazy, refuse), {"REQUEST_METHOD": "GET"})
    assert status.startswith("500") and b"InternalError" in body


def test_a_body_the_server_cannot_read_is_incomplete_body():
    class Broken:
        def read(self, *args):
            raise OSError("Invalid chunk header")

    def reader(environ, start_response):
        environ["wsgi.input"].read()
        start_response("200 OK", [])
        return [b""]

    app = InternalErrors(reader, refuse)
    status, body = wsgi_call(app, {"REQUEST_METHOD": "PUT", "wsgi.input": Broken()})
    assert status.startswith("400") and b"IncompleteBody" in body
