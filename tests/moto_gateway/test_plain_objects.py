"""Plain GetObject, HeadObject and DeleteObject answered from Moto's backend (moto_gateway/fast_paths/plain_objects.py):
for every object shape and request, the layer's answer is Moto's own answer (status, every header in
order, body; request ids aside), in-process with the layer on and off over the same Moto state; the
requests it leaves to Moto reach Moto; then a real gateway with real boto3, and the change feed.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time

import pytest
import requests
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.request import (
    PRESERVED_HEADER_NAMES_ENVIRON_KEY,
    environ_key_for_header,
    should_preserve_original_header_name,
)
from moto.iam.models import iam_backends
from moto.s3.models import s3_backends
from werkzeug.test import EnvironBuilder

from moto_gateway import moto_patches
from moto_gateway.fast_paths.plain_objects import PlainObjects, plain_request, set_header
from moto_gateway.server.s3_dispatch import S3FirstDispatcher
from moto_gateway.wsgi.request import RequestView
from testkit.clients import REGION, make_test_client

THRESHOLD = 1024 * 1024
SIGNED = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, "
    "SignedHeaders=host, Signature=00"
}
PRESIGNED_QUERY = (
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
    "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=00"
)
WHERE = {"LocationConstraint": REGION}
REQUEST_ID = re.compile(rb"(?<=<RequestId>)[^<]*(?=</RequestId>)")


class Counting:
    """The inner app, counting the requests that reach it."""

    def __init__(self, app) -> None:
        self.app = app
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def apps():
    moto_patches.apply()
    moto = S3FirstDispatcher()
    inner = Counting(moto)
    return PlainObjects(inner, THRESHOLD), moto, inner


def call(app, method: str, path: str, headers: dict | None = None, body: bytes = b"", query: str = ""):
    environ = EnvironBuilder(
        method=method, path=path, headers=headers or {}, data=body, query_string=query,
        base_url="http://127.0.0.1:5000",
    ).get_environ()
    if "Content-Length" in (headers or {}):
        environ["CONTENT_LENGTH"] = headers["Content-Length"]  # EnvironBuilder drops a zero length
    preserved = [name for name in headers or {} if should_preserve_original_header_name(name)]
    underscored = {environ_key_for_header(name): name for name in preserved}
    if underscored:  # as moto_gateway/server/http_server.py keeps them for Moto
        environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = underscored
    answer: dict = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"], answer["headers"] = status, response_headers

    chunks = app(environ, start_response)
    try:
        content = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return answer["status"], answer["headers"], content


def comparable(answer):
    """The answer with its request ids blanked (random per request in Moto and in the layer alike)."""
    status, headers, body = answer
    headers = [(n, "ID" if n.lower() == "x-amzn-requestid" else v) for n, v in headers]
    return status, headers, REQUEST_ID.sub(b"ID", body)


def both(apps, method: str, path: str, headers: dict | None = None, query: str = ""):
    """(layer's answer, Moto's answer, whether the layer answered itself) for the same request."""
    layer, moto, inner = apps
    before = inner.calls
    ours = call(layer, method, path, headers, query=query)
    answered_here = inner.calls == before
    theirs = call(moto, method, path, headers, query=query)
    return comparable(ours), comparable(theirs), answered_here


def put(apps, path: str, headers: dict | None = None, body: bytes = b"hello", query: str = "") -> None:
    status, _, content = call(apps[1], "PUT", path, {**SIGNED, **(headers or {})}, body, query)
    assert status.startswith("200"), content


def md5_header(body: bytes) -> dict:
    return {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()}


def sha256_b64(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


UTF8_AS_LATIN1 = "bär ✓".encode().decode("latin-1")  # how a server hands Moto a non-ASCII header value
SHAPES = {
    "plain": {},
    "no content type": None,  # put without any Content-Type: Moto stores binary/octet-stream
    "content headers": {
        "Content-Type": "text/plain; charset=utf-8", "Content-Encoding": "gzip",
        "Cache-Control": "max-age=60",
        "Content-Disposition": 'attachment; filename="a b.txt"', "Content-Language": "de-DE",
        "Expires": "Thu, 01 Dec 2094 16:00:00 GMT",
    },
    "user metadata": {
        "x-amz-meta-plain": "v", "x-amz-meta-Mixed-Case": "x y", "x-amz-meta-utf8": UTF8_AS_LATIN1
    },
    "website redirect": {"x-amz-website-redirect-location": "/elsewhere"},
    "storage class": {"x-amz-storage-class": "STANDARD_IA"},
    "tagging": {"x-amz-tagging": "a=1&b=2"},
    "sse-s3": {"x-amz-server-side-encryption": "AES256"},
    "sse-kms": {
        "x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": "key-1",
        "x-amz-server-side-encryption-bucket-key-enabled": "true",
    },
    "checksum sha256": {
        "x-amz-sdk-checksum-algorithm": "SHA256", "x-amz-checksum-sha256": sha256_b64(b"hello")
    },
    "checksum header alone": {"x-amz-checksum-sha256": sha256_b64(b"hello")},
}


ENCODED_KEY = "dir/%D0%BA%D0%BB%D1%8E%D1%87%20with%20spaces%2Bplus%0Anewline"  # as a client sends it


@pytest.fixture(scope="module")
def shaped(apps):
    """A bucket with one object per shape (and an empty one, an archived one); its name."""
    bucket = "object-reads-shapes"
    put(apps, f"/{bucket}", body=b"")
    for name, headers in SHAPES.items():
        put(apps, f"/{bucket}/{name}", headers)
    put(apps, f"/{bucket}/empty", {"Content-Type": "text/plain"}, b"")
    put(apps, f"/{bucket}/empty without type", None, b"")
    put(apps, f"/{bucket}/glacier", {"x-amz-storage-class": "GLACIER"})
    put(apps, f"/{bucket}/{ENCODED_KEY}", {"Content-Type": "text/plain"})
    return bucket


OBJECTS = [*SHAPES, "empty", "empty without type", ENCODED_KEY]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("signing", ["header", "presigned", "checksum mode"])
@pytest.mark.parametrize("name", OBJECTS)
def test_the_layer_answers_what_moto_answers(apps, shaped, method, signing, name):
    headers, query = (SIGNED, "") if signing != "presigned" else ({}, PRESIGNED_QUERY)
    if signing == "checksum mode":  # boto3 sends it with every GetObject
        headers = {**headers, "x-amz-checksum-mode": "ENABLED"}
    ours, theirs, answered_here = both(apps, method, f"/{shaped}/{name}", headers, query)
    assert answered_here
    assert ours == theirs


def test_versioned_object_lock_and_multipart_shapes(apps):
    bucket = "object-reads-locked"
    put(apps, f"/{bucket}", {"x-amz-bucket-object-lock-enabled": "true"}, b"")
    body = b"locked"
    put(apps, f"/{bucket}/held", {
        **md5_header(body), "x-amz-object-lock-mode": "GOVERNANCE",
        "x-amz-object-lock-retain-until-date": "2094-01-01T00:00:00Z", "x-amz-object-lock-legal-hold": "ON",
    }, body)
    put(apps, f"/{bucket}/twice", None, b"one")
    put(apps, f"/{bucket}/twice", None, b"two")
    for name in ("held", "twice"):
        for method in ("GET", "HEAD"):
            ours, theirs, answered_here = both(apps, method, f"/{bucket}/{name}", SIGNED)
            assert answered_here
            assert ours == theirs
            assert any(n == "x-amz-version-id" for n, _ in ours[1])


PLAIN = "/object-reads-shapes/plain"
def test_a_multipart_object_with_a_composite_checksum(apps, shaped):
    layer, moto, _ = apps
    checksum = {"x-amz-checksum-algorithm": "SHA256"}
    status, _, created = call(moto, "POST", f"/{shaped}/multipart", {**SIGNED, **checksum}, query="uploads")
    assert status.startswith("200"), created
    upload_id = re.search(rb"<UploadId>([^<]+)</UploadId>", created).group(1).decode()
    part = b"part one"
    sent = {**SIGNED, "Content-Length": str(len(part)), "x-amz-checksum-sha256": sha256_b64(part)}
    status, headers, _ = call(moto, "PUT", f"/{shaped}/multipart", sent, part,
                              f"partNumber=1&uploadId={upload_id}")
    etag = dict(headers)["ETag"]
    completion = (f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag>"
                  f"<ChecksumSHA256>{sha256_b64(part)}</ChecksumSHA256></Part></CompleteMultipartUpload>")
    status, _, done = call(moto, "POST", f"/{shaped}/multipart", SIGNED, completion.encode(),
                           f"uploadId={upload_id}")
    assert status.startswith("200"), done
    for method in ("GET", "HEAD"):
        for mode in ({}, {"x-amz-checksum-mode": "ENABLED"}):
            ours, theirs, answered_here = both(apps, method, f"/{shaped}/multipart", {**SIGNED, **mode})
            assert answered_here and ours == theirs
    assert ("x-amz-checksum-type", "COMPOSITE") in ours[1]
    assert any(n == "x-amz-checksum-sha256" and v.endswith("-1") for n, v in ours[1])


def test_objects_without_a_stored_content_type(apps):
    """Moto stores `binary/octet-stream` when a PUT names no type, but a key's metadata can lack one (state
    restored from elsewhere): then Moto's route adds `application/xml` to a body, Flask its `text/html`
    to an empty answer, and the layer the same."""
    bucket = "object-reads-untyped"
    put(apps, f"/{bucket}", body=b"")
    for name, body in (("full", b"bytes"), ("empty", b"")):
        put(apps, f"/{bucket}/{name}", None, body)
        backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        backend.get_object(bucket, name).metadata.pop("content-type")
        for method in ("GET", "HEAD"):
            ours, theirs, answered_here = both(apps, method, f"/{bucket}/{name}", SIGNED)
            assert answered_here and ours == theirs
            assert not any(n.lower() == "content-type" and v == "binary/octet-stream" for n, v in ours[1])


LEFT_TO_MOTO = {
    "missing key": ("/object-reads-shapes/nothing-here", {}, ""),
    "missing bucket": ("/object-reads-nowhere/key", {}, ""),
    "range": ("/object-reads-shapes/plain", {"Range": "bytes=1-2"}, ""),
    "if-none-match": (PLAIN, {"If-None-Match": '"5d41402abc4b2a76b9719d911017c592"'}, ""),
    "if-match": (PLAIN, {"If-Match": '"nope"'}, ""),
    "if-modified-since": (PLAIN, {"If-Modified-Since": "Thu, 01 Dec 2094 16:00:00 GMT"}, ""),
    "response override": ("/object-reads-shapes/plain", {}, "response-content-type=text/csv"),
    "versionId": ("/object-reads-shapes/plain", {}, "versionId=null"),
    "partNumber": ("/object-reads-shapes/plain", {}, "partNumber=1"),
    "sse-c": (PLAIN, {"x-amz-server-side-encryption-customer-algorithm": "AES256"}, ""),
    "origin": ("/object-reads-shapes/plain", {"Origin": "http://example.com"}, ""),
}


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("case", LEFT_TO_MOTO)
def test_requests_left_to_moto_reach_it_unchanged(apps, shaped, method, case):
    path, headers, query = LEFT_TO_MOTO[case]
    ours, theirs, answered_here = both(apps, method, path, {**SIGNED, **headers}, query)
    assert not answered_here
    assert ours[0] == theirs[0]
    assert ours[2] == theirs[2]


def test_archived_objects_and_anonymous_reads_are_left_to_moto(apps, shaped):
    _, theirs, answered_here = both(apps, "GET", f"/{shaped}/glacier", SIGNED)
    assert not answered_here and theirs[0].startswith("403")  # InvalidObjectState
    ours, theirs, answered_here = both(apps, "HEAD", f"/{shaped}/glacier", SIGNED)
    assert answered_here and ours == theirs
    _, _, answered_here = both(apps, "GET", f"/{shaped}/plain", {})
    assert not answered_here


def test_an_access_key_iam_knows_is_left_to_moto(apps, shaped):
    """Moto's route records the use of an IAM access key (GetAccessKeyLastUsed): such requests reach it."""
    iam = iam_backends[DEFAULT_ACCOUNT_ID]["aws"]
    iam.create_user("us-east-1", "plain-objects-user")
    access_key = iam.create_access_key("plain-objects-user").access_key_id
    authorization = SIGNED["Authorization"].replace("Credential=test/", f"Credential={access_key}/")
    _, _, answered_here = both(apps, "GET", f"/{shaped}/plain", {"Authorization": authorization})
    assert not answered_here
    assert iam.get_access_key_last_used(access_key)["last_used"] is not None


def test_missing_keys_and_buckets_answer_s3_errors(apps, shaped):
    for method, path, code in [
        ("GET", f"/{shaped}/nothing", b"NoSuchKey"), ("GET", "/object-reads-nowhere/k", b"NoSuchBucket"),
    ]:
        ours, theirs, _ = both(apps, method, path, SIGNED)
        assert ours == theirs and ours[0].startswith("404") and code in ours[2]
    ours, theirs, _ = both(apps, "HEAD", f"/{shaped}/nothing", SIGNED)
    assert ours == theirs and ours[0].startswith("404") and ours[2] == b""


def test_large_objects_are_left_to_the_streaming_path(apps, shaped):
    big = bytes(THRESHOLD + 1)
    put(apps, f"/{shaped}/big", None, big)
    layer, _, inner = apps
    before = inner.calls
    status, _, content = call(layer, "GET", f"/{shaped}/big", SIGNED)
    assert inner.calls == before + 1 and status.startswith("200") and content == big


def delete_both(apps, bucket: str, key: str, setup, headers: dict, query: str = ""):
    """DeleteObject through the layer and through Moto, each after the same `setup`."""
    layer, moto, inner = apps
    setup()
    before = inner.calls
    ours = comparable(call(layer, "DELETE", f"/{bucket}/{key}", headers, query=query))
    answered_here = inner.calls == before
    after_ours = call(moto, "GET", f"/{bucket}/{key}", SIGNED)[0]
    setup()
    theirs = comparable(call(moto, "DELETE", f"/{bucket}/{key}", headers, query=query))
    after_theirs = call(moto, "GET", f"/{bucket}/{key}", SIGNED)[0]
    return ours, theirs, answered_here, (after_ours, after_theirs)


def test_delete_of_an_unversioned_object_is_moto_s(apps):
    bucket = "object-reads-deletes"
    put(apps, f"/{bucket}", body=b"")
    for headers, query in [(SIGNED, ""), ({}, PRESIGNED_QUERY)]:
        ours, theirs, answered_here, after = delete_both(
            apps, bucket, "k", lambda: put(apps, f"/{bucket}/k", {"x-amz-tagging": "a=1"}), headers, query
        )
        assert answered_here and ours == theirs and ours[0] == "204 NO CONTENT"
        assert after[0].startswith("404") and after[1].startswith("404")
        ours, theirs, answered_here, _ = delete_both(apps, bucket, "never", lambda: None, headers, query)
        assert answered_here and ours == theirs and ours[0] == "204 NO CONTENT"


def test_deletes_left_to_moto(apps):
    bucket = "object-reads-versioned-deletes"
    put(apps, f"/{bucket}", body=b"")
    versioning = b'<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>'
    put(apps, f"/{bucket}", None, versioning, query="versioning")
    ours, theirs, answered_here, _ = delete_both(apps, bucket, "k", lambda: put(apps, f"/{bucket}/k"), SIGNED)
    assert not answered_here and ours[0] == theirs[0] == "204 NO CONTENT"
    assert any(n == "x-amz-delete-marker" for n, _ in ours[1])
    put(apps, "/object-reads-deletes", body=b"")
    presigned_type = PRESIGNED_QUERY + "&content-type=text%2Fplain"
    _, _, answered_here, _ = delete_both(
        apps, "object-reads-deletes", "never", lambda: None, {}, presigned_type
    )
    assert not answered_here
    _, _, answered_here, _ = delete_both(
        apps, "object-reads-deletes", "never", lambda: None, {**SIGNED, "If-Match": '"x"'}
    )
    assert not answered_here


# ----- PutObject -----------------------------------------------------------------------------------------

PUT_SHAPES = {
    "plain": ({}, b"hello"),
    "empty": ({}, b""),
    "no content type": ({}, b"untyped"),
    "content headers": (
        {"Content-Type": "text/plain", "Content-Encoding": "gzip", "Cache-Control": "no-store",
         "Content-Disposition": "inline", "Content-Language": "fr",
         "Expires": "Thu, 01 Dec 2094 16:00:00 GMT"},
        b"typed",
    ),
    "metadata": (
        {"x-amz-meta-one": "1", "x-amz-meta-Two-Words": "a b", "x-amz-meta-utf8": UTF8_AS_LATIN1}, b"m"
    ),
    "content-md5": (md5_header(b"digest"), b"digest"),
    "underscored metadata": ({"x-amz-meta-my_key": "1", "x-amz-meta-Other": "2"}, b"u"),
    "sha256 payload": ({"x-amz-content-sha256": hashlib.sha256(b"signed").hexdigest()}, b"signed"),
    "checksum named and sent": (
        {"x-amz-sdk-checksum-algorithm": "SHA256", "x-amz-checksum-sha256": sha256_b64(b"sum")}, b"sum"
    ),
    "checksum header alone": ({"x-amz-checksum-sha256": sha256_b64(b"sum")}, b"sum"),
    "checksum named, computed": ({"x-amz-sdk-checksum-algorithm": "CRC32"}, b"crc"),
    "checksum crc64nvme": (
        {"x-amz-sdk-checksum-algorithm": "CRC64NVME", "x-amz-checksum-crc64nvme": "AAAAAAAAAAA="}, b"any"
    ),
}
VOLATILE = {"last-modified", "x-amz-version-id"}  # differ between two puts made a moment apart


def steady(answer):
    """An answer with the fields two successive puts of the same bytes cannot share blanked (present in
    both, compared for presence)."""
    status, headers, body = comparable(answer)
    return status, [(n, "T" if n.lower() in VOLATILE else v) for n, v in headers], body


def stored(bucket: str, key: str) -> dict:
    """What Moto holds for the key: metadata, ACL grants, tags, storage class, SSE, size, ETag."""
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    found = backend.get_object(bucket, key)
    if found is None:
        return {}
    acl = found.acl.grants if found.acl else []
    grants = [(g.permissions, [(e.id, e.uri) for e in g.grantees]) for g in acl] if found.acl else None
    return {
        "metadata": dict(found.metadata),
        "acl": grants,
        "tags": backend.tagger.get_tag_dict_for_resource(found.arn),
        "storage": found.storage_class,
        "encryption": found.encryption,
        "size": found.size,
        "etag": found.etag,
        "checksum": (found.checksum_algorithm, found.checksum_value),
        "redirect": found.website_redirect_location,
        "versioned": found._is_versioned,
    }


def put_both(apps, bucket: str, key: str, headers: dict, body: bytes, query: str = ""):
    """PutObject through the layer, then the same through Moto; each answer with what Moto then stores and
    answers to a GET; and whether the layer answered itself."""
    layer, moto, inner = apps
    headers = {"Content-Length": str(len(body)), **headers}  # as every client sends it, 0 included
    results = []
    answered_here = None
    for app in (layer, moto):
        before = inner.calls
        answer = call(app, "PUT", f"/{bucket}/{key}", headers, body, query)
        if app is layer:
            answered_here = inner.calls == before
        got = call(moto, "GET", f"/{bucket}/{key}", SIGNED)
        results.append((steady(answer), stored(bucket, key), steady(got)))
    return results[0], results[1], answered_here


@pytest.fixture(scope="module")
def put_bucket(apps):
    bucket = "plain-objects-puts"
    put(apps, f"/{bucket}", body=b"")
    return bucket


@pytest.mark.parametrize("signing", ["header", "presigned"])
@pytest.mark.parametrize("shape", PUT_SHAPES)
def test_a_put_stores_and_answers_what_moto_does(apps, put_bucket, shape, signing):
    headers, body = PUT_SHAPES[shape]
    signed, query = (SIGNED, "") if signing == "header" else ({}, PRESIGNED_QUERY)
    key = f"{shape}-{signing}"
    ours, theirs, answered_here = put_both(apps, put_bucket, key, {**signed, **headers}, body, query)
    assert answered_here
    assert ours == theirs
    assert ours[0][0] == "200 OK" and ours[1]["size"] == len(body)


def test_puts_over_existing_keys_and_into_versioned_and_encrypted_buckets(apps):
    versioned, encrypted = "plain-objects-versioned-puts", "plain-objects-encrypted-puts"
    put(apps, f"/{versioned}", body=b"")
    enabled = b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"
    put(apps, f"/{versioned}", None, enabled, query="versioning")
    put(apps, f"/{encrypted}", body=b"")
    rule = (b"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>"
            b"<SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>k1</KMSMasterKeyID>"
            b"</ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>")
    put(apps, f"/{encrypted}", None, rule, query="encryption")
    for bucket in (versioned, encrypted):
        put(apps, f"/{bucket}/k", {"x-amz-meta-old": "1", "x-amz-tagging": "t=1"}, b"old")
        ours, theirs, answered_here = put_both(apps, bucket, "k", SIGNED, b"new")
        assert answered_here and ours == theirs
        assert ours[1]["metadata"].get("x-amz-meta-old") is None and ours[1]["tags"] == {}
        version_header = any(n == "x-amz-version-id" for n, _ in ours[0][1])
        assert version_header == (bucket == versioned)
    versions = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets[versioned].keys.getlist("k")
    assert len(versions) == 3  # old, the layer's, Moto's
    assert stored(encrypted, "k")["encryption"] == "aws:kms"


PUTS_LEFT_TO_MOTO = {
    "canned acl": {"x-amz-acl": "public-read"},
    "tagging": {"x-amz-tagging": "a=1"},
    "storage class": {"x-amz-storage-class": "STANDARD_IA"},
    "sse": {"x-amz-server-side-encryption": "AES256"},
    "copy": {"x-amz-copy-source": "/plain-objects-puts/plain-header"},
    "object lock header": {"x-amz-object-lock-legal-hold": "ON"},
    "redirect": {"x-amz-website-redirect-location": "/x"},
    "if-none-match": {"If-None-Match": "*"},
    "form body": {"Content-Type": "application/x-www-form-urlencoded"},
    "origin": {"Origin": "http://example.com"},
}


@pytest.mark.parametrize("case", PUTS_LEFT_TO_MOTO)
def test_puts_left_to_moto(apps, put_bucket, case):
    headers = {**SIGNED, **PUTS_LEFT_TO_MOTO[case]}
    ours, theirs, answered_here = put_both(apps, put_bucket, f"left-{case}", headers, b"left")
    assert not answered_here
    if case == "if-none-match":  # the first put created the key: Moto refuses the second
        assert (ours[0][0], theirs[0][0]) == ("200 OK", "412 PRECONDITION FAILED")
    else:
        assert ours[0][0] == theirs[0][0] and ours[1] == theirs[1]


def test_puts_left_to_moto_by_state(apps):
    locked = "plain-objects-locked-puts"
    put(apps, f"/{locked}", {"x-amz-bucket-object-lock-enabled": "true"}, b"")
    _, _, answered_here = put_both(apps, locked, "k", {**SIGNED, **md5_header(b"x")}, b"x")
    assert not answered_here
    layer, _, inner = apps
    before = inner.calls
    status, _, _ = call(layer, "PUT", "/plain-objects-no-bucket/k", SIGNED, b"x")
    assert inner.calls == before + 1 and status.startswith("404")
    before = inner.calls
    call(layer, "PUT", "/plain-objects-puts/big", SIGNED, bytes(THRESHOLD + 1))
    assert inner.calls == before + 1
    presigned_type = PRESIGNED_QUERY + "&content-type=text%2Fplain"
    _, _, answered_here = put_both(apps, "plain-objects-puts", "typed", {"Content-Type": "text/plain"}, b"t",
                                   presigned_type)
    assert not answered_here


def view(method: str, path: str, headers: dict | None = None, query: str = "") -> RequestView:
    environ = EnvironBuilder(
        method=method, path=path, headers=headers or {}, query_string=query, base_url="http://127.0.0.1:5000"
    ).get_environ()
    if "Content-Length" in (headers or {}):
        environ["CONTENT_LENGTH"] = headers["Content-Length"]
    return RequestView.from_environ(environ)


def test_plain_requests_are_only_the_plain_ones():
    assert plain_request(view("GET", "/bucket/key", SIGNED))
    assert plain_request(view("HEAD", "/bucket/key", {}, PRESIGNED_QUERY))
    assert plain_request(view("DELETE", "/bucket/a/b", SIGNED))
    assert plain_request(view("GET", "/bucket/key", SIGNED, "x-id=GetObject"))
    assert not plain_request(view("PUT", "/bucket/key", SIGNED))  # no Content-Length
    assert plain_request(view("PUT", "/bucket/key", {**SIGNED, "Content-Length": "3", "x-amz-meta-a": "b"}))
    for header in ("x-amz-acl", "x-amz-tagging", "x-amz-storage-class", "x-amz-grant-read",
                   "x-amz-server-side-encryption", "x-amz-object-lock-mode", "x-amz-copy-source"):
        assert not plain_request(view("PUT", "/bucket/key", {**SIGNED, "Content-Length": "3", header: "x"}))
    assert not plain_request(view("POST", "/bucket/key", SIGNED))
    assert not plain_request(view("GET", "/bucket", SIGNED))  # a listing
    assert not plain_request(view("GET", "/bucket/", SIGNED))
    assert not plain_request(view("GET", "/bucket/key", {}))  # anonymous
    assert not plain_request(view("GET", "/bucket/key", SIGNED, "tagging"))
    virtual_host = {**SIGNED, "Host": "bucket.s3.localhost.localstack.cloud"}
    assert not plain_request(view("GET", "/bucket/key", virtual_host))
    assert not plain_request(view("GET", "/bucket/key", {**SIGNED, "x-moto-account-id": "111111111111"}))
    form = {**SIGNED, "Content-Type": "application/x-www-form-urlencoded"}
    assert not plain_request(view("GET", "/bucket/key", form))
    assert not plain_request(
        view("GET", "/bucket/key", {**SIGNED, "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"})
    )


def test_set_header_is_werkzeugs():
    headers = [("content-length", "5"), ("a", "1"), ("Content-Length", "6")]
    set_header(headers, "Content-Length", "7")
    assert headers == [("Content-Length", "7"), ("a", "1")]
    set_header(headers, "B", "2")
    assert headers[-1] == ("B", "2")


# ----- a real gateway, real boto3 ------------------------------------------------------------------------


@pytest.fixture
def gateway(moto):
    """The session's real gateway process (tests/conftest.py), emptied."""
    return moto


def test_boto3_reads_and_deletes_through_a_real_gateway(gateway):
    s3 = make_test_client(gateway.url)
    s3.create_bucket(Bucket="reads", CreateBucketConfiguration=WHERE)
    s3.put_object(
        Bucket="reads", Key="doc.txt", Body=b"hello", ContentType="text/plain", Metadata={"who": "me"},
        CacheControl="no-cache", ContentDisposition="inline", Tagging="a=1", ServerSideEncryption="AES256",
        ChecksumAlgorithm="SHA256", StorageClass="STANDARD_IA",
    )
    got = s3.get_object(Bucket="reads", Key="doc.txt")
    assert got["Body"].read() == b"hello"
    assert (got["ContentType"], got["Metadata"]) == ("text/plain", {"who": "me"})
    assert got["CacheControl"] == "no-cache"
    assert (got["TagCount"], got["ServerSideEncryption"], got["StorageClass"]) == (1, "AES256", "STANDARD_IA")
    head = s3.head_object(Bucket="reads", Key="doc.txt")
    assert (head["ContentLength"], head["ETag"]) == (5, got["ETag"])
    assert head["ContentDisposition"] == "inline"
    s3.put_object(Bucket="reads", Key="plain", Body=b"plain body")  # boto3's default CRC32 checksum
    plain = s3.get_object(Bucket="reads", Key="plain", ChecksumMode="ENABLED")
    assert plain["Body"].read() == b"plain body" and plain["ChecksumCRC32"]
    checked = s3.get_object(Bucket="reads", Key="doc.txt", ChecksumMode="ENABLED")
    assert checked["ChecksumSHA256"] == sha256_b64(b"hello")
    assert s3.get_object(Bucket="reads", Key="doc.txt", Range="bytes=1-2")["Body"].read() == b"el"
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "reads", "Key": "doc.txt"})
    response = requests.get(url, timeout=10)
    assert response.status_code == 200 and response.content == b"hello"
    assert response.headers["x-amz-meta-who"] == "me"
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket="reads", Key="missing")
    with pytest.raises(s3.exceptions.ClientError) as missing:
        s3.head_object(Bucket="reads", Key="missing")
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(s3.exceptions.NoSuchBucket):
        s3.get_object(Bucket="no-such-reads", Key="k")
    s3.delete_object(Bucket="reads", Key="doc.txt")
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket="reads", Key="doc.txt")
    assert s3.delete_object(Bucket="reads", Key="doc.txt")["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_puts_and_deletes_appear_in_the_change_feed_once(gateway):
    s3 = make_test_client(gateway.url)
    s3.create_bucket(Bucket="feed-deletes", CreateBucketConfiguration=WHERE)
    last = requests.get(f"{gateway.url}/_changes?after=0", timeout=10).json()["last_seq"]
    s3.put_object(Bucket="feed-deletes", Key="k", Body=b"x")
    url = s3.generate_presigned_url("put_object", Params={"Bucket": "feed-deletes", "Key": "p"})
    assert requests.put(url, data=b"presigned", timeout=10).status_code == 200
    s3.delete_object(Bucket="feed-deletes", Key="k")
    s3.delete_object(Bucket="feed-deletes", Key="never")
    deadline = time.monotonic() + 5
    while True:
        events = requests.get(f"{gateway.url}/_changes?after={last}", timeout=10).json()["events"]
        if len(events) >= 4 or time.monotonic() > deadline:
            break
    assert [(e["op"], e["key"]) for e in events] == [
        ("put", "k"), ("put", "p"), ("delete", "k"), ("delete", "never")
    ]
    assert (events[1]["size"], events[1]["etag"]) == (9, '"' + hashlib.md5(b"presigned").hexdigest() + '"')


def test_large_objects_still_stream_through_a_real_gateway(gateway):
    s3 = make_test_client(gateway.url)
    s3.create_bucket(Bucket="reads-large", CreateBucketConfiguration=WHERE)
    body = bytes(range(256)) * (3 * 4096 + 7)  # ~3 MiB: above the streaming threshold
    s3.put_object(Bucket="reads-large", Key="big", Body=body)
    assert s3.get_object(Bucket="reads-large", Key="big")["Body"].read() == body
    assert s3.head_object(Bucket="reads-large", Key="big")["ContentLength"] == len(body)


def test_plain_requests_through_the_whole_gateway_take_the_fast_path(monkeypatch):
    """Every layer of create_app's stack lets a plain presigned PutObject, GetObject, HeadObject and
    DeleteObject reach this layer as plain (a layer that rebuilt the cached request view after the access
    layer added Moto's x-moto-account-id sent every one of them through Moto's route: the memory-only
    gateway's PUT rate halved, bench.durability). A conditional PUT is still Moto's to store."""
    from urllib.parse import urlsplit

    from moto_gateway.app import create_app
    from moto_gateway.settings import GatewaySettings

    app = create_app(GatewaySettings(gateway_allow_anonymous=True))
    reached = []
    original = S3FirstDispatcher.__call__

    def counting(self, environ, start_response):
        reached.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO")))
        return original(self, environ, start_response)

    monkeypatch.setattr(S3FirstDispatcher, "__call__", counting)
    signer = make_test_client("http://127.0.0.1:5000")

    def send(method: str, url: str, body: bytes = b"", headers: dict | None = None) -> str:
        parts = urlsplit(url)
        environ = EnvironBuilder(
            method=method, path=parts.path, query_string=parts.query, data=body, headers=headers or {},
            base_url="http://127.0.0.1:5000",
        ).get_environ()
        answer: dict = {}
        chunks = app(environ, lambda status, _headers, exc_info=None: answer.update(status=status))
        b"".join(chunks)
        return answer["status"]

    bucket = f"fast-{time.monotonic_ns()}"
    where = "<CreateBucketConfiguration><LocationConstraint>%s</LocationConstraint>"
    where += "</CreateBucketConfiguration>"
    create = signer.generate_presigned_url("create_bucket", Params={"Bucket": bucket})
    assert send("PUT", create, (where % REGION).encode())[:3] == "200"
    reached.clear()
    params = {"Bucket": bucket, "Key": "plain"}
    assert send("PUT", signer.generate_presigned_url("put_object", Params=params), b"x" * 1024)[:3] == "200"
    assert send("GET", signer.generate_presigned_url("get_object", Params=params))[:3] == "200"
    assert send("HEAD", signer.generate_presigned_url("head_object", Params=params))[:3] == "200"
    assert send("DELETE", signer.generate_presigned_url("delete_object", Params=params))[:3] == "204"
    assert reached == [], "plain requests went through Moto's route"
    put = signer.generate_presigned_url("put_object", Params=params)
    assert send("PUT", put, b"y", {"If-None-Match": "*"})[:3] == "200"
    assert reached == [("PUT", f"/{bucket}/plain")], "a decided condition leaves the request to Moto"
