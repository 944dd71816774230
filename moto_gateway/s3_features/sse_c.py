"""Server-side encryption with customer-provided keys (SSE-C) as S3 enforces it (Moto 5.2.5 ignores them).

What S3 documents (S3 User Guide, "Using server-side encryption with customer-provided keys (SSE-C)",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerSideEncryptionCustomerKeys.html; S3 API Reference,
PutObject, GetObject, HeadObject, CopyObject, UploadPart):
- a request that names SSE-C sends all three headers: algorithm `AES256`, a 256-bit key (base64) and the
  key's MD5 (base64); a missing one, another algorithm, a key of another size or an MD5 that is not the
  key's is refused (400 InvalidArgument / InvalidEncryptionAlgorithmError), and SSE-C does not combine
  with `x-amz-server-side-encryption`;
- "Amazon S3 does not store the encryption key you provide. Instead, it stores a randomly salted HMAC
  value of the encryption key to validate future requests": the gateway keeps a salt and an HMAC-SHA256 of
  the key, as attributes of Moto's own FakeKey (`sse_c_salt`, `sse_c_hmac`; FakeMultipart for an upload in
  progress), so they live, are snapshotted and persisted wherever the object is; never the key, nor its MD5;
- GetObject and HeadObject of such an object need the same key (without it: 400 InvalidRequest; another
  key: 403 AccessDenied); so does CopyObject's source, through the x-amz-copy-source-server-side-
  encryption-customer-* headers, and each UploadPart of an SSE-C multipart upload; SSE-C headers on an
  object stored without SSE-C: 400 InvalidRequest;
- answers echo the algorithm and the key MD5 the request sent.
The bytes themselves are kept as Moto keeps them (unencrypted, in memory): this is about the protocol a
client must follow, which is what a test of code that uses SSE-C needs. Like ObjectLock, the layer sits
inside BucketLocks and outside the fast paths, so a plain GET of an SSE-C object never reaches Moto.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from moto_gateway.fast_paths.listing import SIGNING_PARAMETERS
from moto_gateway.state.s3state import find_bucket, find_version
from moto_gateway.wsgi.bodies import answered
from moto_gateway.wsgi.errors import S3Error
from moto_gateway.wsgi.refusals import refuse_drained
from moto_gateway.wsgi.request import RequestView
from moto_gateway.wsgi.services import MOTO_OWN_PATHS

PREFIX = "x-amz-server-side-encryption-customer-"
COPY_PREFIX = "x-amz-copy-source-server-side-encryption-customer-"
STORED_MESSAGE = (
    "The object was stored using a form of Server Side Encryption. The correct parameters must be provided "
    "to retrieve the object."
)


@dataclass(frozen=True)
class CustomerKey:
    key: bytes
    md5: str  # as the request sent it (base64)


def sse_argument_error(message: str, code: str = "InvalidArgument") -> S3Error:
    return S3Error(400, code, message, [("ArgumentName", "x-amz-server-side-encryption"),
                                        ("ArgumentValue", "null")])


def customer_key(headers: Mapping[str, str], prefix: str = PREFIX) -> CustomerKey | None:
    """The SSE-C key a request names with headers of `prefix`, checked as S3 checks it (None: no key)."""
    algorithm = headers.get(prefix + "algorithm")
    key_text = headers.get(prefix + "key")
    md5_text = headers.get(prefix + "key-md5")
    if algorithm is None and key_text is None and md5_text is None:
        return None
    base = "Requests specifying Server Side Encryption with Customer provided keys must provide "
    if algorithm is None:
        raise sse_argument_error(base + "a valid encryption algorithm.")
    if algorithm != "AES256":
        raise sse_argument_error(
            "The Encryption request you specified is not valid. Supported value: AES256.",
            "InvalidEncryptionAlgorithmError",
        )
    if key_text is None:
        raise sse_argument_error(base + "an appropriate secret key.")
    if md5_text is None:
        raise sse_argument_error(base + "the client calculated MD5 of the secret key.")
    try:
        key = base64.b64decode(key_text, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise sse_argument_error("The secret key was invalid for the specified algorithm.")
    if base64.b64encode(hashlib.md5(key, usedforsecurity=False).digest()).decode() != md5_text.strip():
        raise sse_argument_error(
            "The calculated MD5 hash of the key did not match the hash that was provided."
        )
    return CustomerKey(key, md5_text.strip())


def salted_hmac(key: bytes, salt: bytes) -> str:
    return hmac.new(salt, key, hashlib.sha256).hexdigest()


USED = "sse_c_used"
"""On Moto's FakeBucket: an object or upload of this bucket was ever sealed (until then a read of it needs no
lookup: the layer costs a plain GET nothing)."""


def seal(target, given: CustomerKey | None, bucket=None) -> None:
    """Keeps (or clears) the salted HMAC of `given` on Moto's FakeKey or FakeMultipart (and marks the
    bucket as one that holds SSE-C objects)."""
    if given is None:
        target.sse_c_salt = None
        target.sse_c_hmac = None
        return
    if bucket is not None:
        setattr(bucket, USED, True)
    salt = os.urandom(16)
    target.sse_c_salt = salt.hex()
    target.sse_c_hmac = salted_hmac(given.key, salt)


def sealed(target) -> bool:
    return bool(getattr(target, "sse_c_hmac", None))


def check_key(target, given: CustomerKey | None) -> None:
    """A read of `target` (an object version or an upload) with the key the request gave."""
    if not sealed(target):
        if given is not None:
            raise S3Error(
                400, "InvalidRequest", "The encryption parameters are not applicable to this object."
            )
        return
    if given is None:
        raise S3Error(400, "InvalidRequest", STORED_MESSAGE)
    expected = target.sse_c_hmac
    if not hmac.compare_digest(salted_hmac(given.key, bytes.fromhex(target.sse_c_salt)), expected):
        raise S3Error(403, "AccessDenied", "Access Denied")


def answer_headers(given: CustomerKey) -> list[tuple[str, str]]:
    return [
        ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
        ("x-amz-server-side-encryption-customer-key-MD5", given.md5),
    ]


def copy_source(headers: Mapping[str, str]) -> tuple[str, str, str | None] | None:
    source = headers.get("x-amz-copy-source")
    if not source:
        return None
    path, _, query = unquote(source).partition("?")
    bucket, _, key = path.lstrip("/").partition("/")
    version = query.removeprefix("versionId=") if query.startswith("versionId=") else None
    return bucket, key, version


OBJECT_WRITE_PARAMS = frozenset({"versionId"}) | SIGNING_PARAMETERS  # a PutObject's or CopyObject's
READ_PARAMS = frozenset({"versionId", "partNumber"}) | SIGNING_PARAMETERS


def reads_object(params: Mapping[str, str]) -> bool:
    """GetObject or HeadObject (with response-* overrides), not a subresource such as ?tagging or ?acl."""
    return all(name in READ_PARAMS or name.startswith("response-") for name in params)


class SseC:
    """WSGI layer: checks and keeps SSE-C keys around Moto, which ignores them."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(MOTO_OWN_PATHS):
            return self.app(environ, start_response)
        view = RequestView.from_environ(environ)
        bucket_name, key = view.addressing.bucket, view.addressing.key
        if not bucket_name or not key:
            return self.app(environ, start_response)
        try:
            return self.decide(environ, view, bucket_name, key, start_response)
        except S3Error as error:
            return refuse_drained(view, error, environ, start_response)

    def decide(self, environ: dict, view: RequestView, bucket_name: str, key: str, start_response: Callable):
        headers, params, method = view.headers, view.params, view.method
        given = customer_key(headers)
        if given is not None and "x-amz-server-side-encryption" in headers:
            raise sse_argument_error(
                "Server Side Encryption with Customer provided key is incompatible with the encryption "
                "method specified"
            )
        bucket, _account = find_bucket(bucket_name)
        if bucket is None:
            return self.app(environ, start_response)
        plain_read = given is None and "x-amz-server-side-encryption" not in headers
        if plain_read and method in ("GET", "HEAD") and not getattr(bucket, USED, False):
            return self.app(environ, start_response)  # no SSE-C object here, none asked for
        if method in ("GET", "HEAD") and reads_object(params):
            if "x-amz-server-side-encryption" in headers:
                raise S3Error(400, "InvalidArgument", "x-amz-server-side-encryption header is not supported "
                              "for this operation.")  # a read names no encryption but SSE-C's key
            version = find_version(bucket, key, params.get("versionId"))
            if version is None or not hasattr(version, "etag"):
                return self.app(environ, start_response)
            check_key(version, given)
            return self.echoing(environ, start_response, given)
        if method == "PUT" and "partNumber" in params and "uploadId" in params:
            upload = bucket.multiparts.get(params["uploadId"])
            if upload is not None:
                check_key(upload, given)
            self.check_copy_source(headers)
            return self.echoing(environ, start_response, given)
        if method == "POST" and "uploads" in params:
            return self.create_upload(environ, bucket, given, start_response)
        if method == "POST" and "uploadId" in params:
            upload = bucket.multiparts.get(params["uploadId"])
            sealed_upload = (upload.sse_c_salt, upload.sse_c_hmac) if sealed(upload) else None
            status, body = self.run(environ, start_response)
            if status.startswith("200") and upload is not None:
                completed = bucket.keys.get(key)
                if completed is not None and getattr(completed, "multipart", None) is upload:
                    completed.sse_c_salt, completed.sse_c_hmac = sealed_upload or (None, None)
                    if sealed_upload:
                        setattr(bucket, USED, True)
            return body
        if method == "PUT" and set(params) <= OBJECT_WRITE_PARAMS:
            copying = "x-amz-copy-source" in headers
            if given is None and not copying:
                return self.app(environ, start_response)  # a new FakeKey: nothing to keep or clear
            self.check_copy_source(headers)
            status, body = self.run(environ, start_response, given)
            if status.startswith("200"):
                written = bucket.keys.get(key)
                stored = written is not None and hasattr(written, "etag")
                if stored and (given is not None or sealed(written)):
                    seal(written, given, bucket)  # a copy of a sealed source starts with its attributes
            return body
        return self.app(environ, start_response)

    def check_copy_source(self, headers: Mapping[str, str]) -> None:
        source = copy_source(headers)
        if source is None:
            return
        source_bucket, source_key, version_id = source
        bucket, _account = find_bucket(source_bucket)
        version = find_version(bucket, source_key, version_id) if bucket is not None and source_key else None
        given = customer_key(headers, COPY_PREFIX)
        if version is not None and hasattr(version, "etag"):
            check_key(version, given)

    def create_upload(self, environ: dict, bucket, given: CustomerKey | None, start_response: Callable):
        status, body = self.run(environ, start_response, given)
        found = None
        if status.startswith("200"):
            found = re.search(rb"<UploadId>([^<]+)</UploadId>", b"".join(body))
        upload = bucket.multiparts.get(found.group(1).decode()) if found else None
        if upload is not None:
            seal(upload, given, bucket)
        return body

    def run(self, environ: dict, start_response: Callable, given: CustomerKey | None = None):
        """The inner answer, whole (the layer then updates Moto's state under the same bucket lock)."""
        seen: list[str] = []

        def recording(status: str, headers: list, exc_info=None):
            seen.append(status)
            if given is not None and status.startswith("200"):
                headers = [*headers, *answer_headers(given)]
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        body = answered(self.app, environ, recording)
        return (seen[0] if seen else "500"), body

    def echoing(self, environ: dict, start_response: Callable, given: CustomerKey | None) -> Iterable[bytes]:
        if given is None:
            return self.app(environ, start_response)

        def echo(status: str, headers: list, exc_info=None):
            if status[:1] == "2":
                headers = [*headers, *answer_headers(given)]
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return self.app(environ, echo)
