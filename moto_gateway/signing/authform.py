"""Malformed authentication and framing, refused as S3 refuses them whether or not signatures are verified.

S3 API Reference, "Error responses" (AccessDenied, AuthorizationHeaderMalformed, InvalidArgument,
InvalidDigest, BadDigest, RequestTimeTooSkewed) and "Authenticating requests (AWS Signature Version 4 /
Version 2)": an Authorization header names a scheme S3 knows and has that scheme's form, a header-signed
request carries a valid Date or x-amz-date within 15 minutes of the server's clock, Content-Length is a
non-negative integer, and Content-MD5 is the base64 of 16 bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from collections.abc import Callable, Iterable

from moto_gateway.signing import sigv4
from moto_gateway.signing.presigned import AUTH_V4_RE, auth_kind, check_clock
from moto_gateway.wsgi import bodies
from moto_gateway.wsgi.aws_chunked import aws_chunked
from moto_gateway.wsgi.bodies import has_body, pass_on
from moto_gateway.wsgi.errors import S3Error, invalid_argument
from moto_gateway.wsgi.refusals import refuse, refuse_drained
from moto_gateway.wsgi.request import RequestView
from moto_gateway.wsgi.services import MOTO_OWN_PATHS, UNCHECKED_METHODS, signed_for_other_service



def check_authorization_form(view: RequestView, now: float) -> None:
    if "authorization" not in view.headers:
        return
    authorization = view.headers["authorization"]
    # An empty, unreadable or one-word value was refused already (body_checks.RequestChecks).
    if authorization.startswith("AWS4-HMAC-SHA256"):
        if signed_for_other_service(authorization):
            return
        match = AUTH_V4_RE.match(authorization)
        problem = None
        if match is not None:
            problem = sigv4.credential_problem(sigv4.split_credential(match.group(1)))
        if match is None or problem:
            raise S3Error(
                400,
                "AuthorizationHeaderMalformed",
                f"The authorization header is malformed; {problem}"
                if problem
                else "The authorization header is malformed; the authorization header requires three "
                "components: Credential, SignedHeaders, and Signature.",
            )
    elif authorization.startswith("AWS "):
        access_key, colon, signature = authorization[4:].strip().rpartition(":")
        if not colon or not access_key or not signature:
            raise invalid_argument(
                "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
                "Authorization",
                authorization,
            )
    else:
        raise invalid_argument("Unsupported Authorization Type", "Authorization", authorization)
    check_clock(view, now, http_date_amz=authorization.startswith("AWS "))  # SigV2: RFC 1123 x-amz-date too


def check_content_length(view: RequestView) -> None:
    value = view.headers.get("content-length")
    if value is not None and not value.isdigit():
        raise invalid_argument("Content-Length must be a non-negative integer", "Content-Length", value)


def expected_md5(view: RequestView) -> bytes | None:
    """The digest Content-MD5 announces (None when absent); a value that is not 16 bytes is InvalidDigest."""
    value = view.headers.get("content-md5")
    if value is None:
        return None
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 16:
        raise S3Error(
            400, "InvalidDigest", "The Content-MD5 you specified was invalid.", [("Content-MD5", value)]
        )
    return digest


def bad_digest(expected: bytes, calculated: bytes) -> S3Error:
    return S3Error(
        400,
        "BadDigest",
        "The Content-MD5 you specified did not match what we received.",
        [
            ("ExpectedDigest", base64.b64encode(expected).decode()),
            ("CalculatedDigest", base64.b64encode(calculated).decode()),
        ],
    )


def check_form(view: RequestView, now: float) -> bytes | None:
    """Raises S3's error for malformed authentication or framing; returns the Content-MD5 to verify."""
    check_content_length(view)
    if auth_kind(view) == "header":  # raises when two mechanisms are used at once
        check_authorization_form(view, now)
    return expected_md5(view)


class AuthenticationFormLayer:
    """WSGI layer: malformed Authorization, Date, Content-Length and Content-MD5 refused as S3 refuses them,
    before any signature is computed; a Content-MD5 is checked against the body it names."""

    def __init__(self, app: Callable, *, spool_memory_bytes: int, clock: Callable[[], float] = time.time):
        self.app = app
        self.spool_memory_bytes = spool_memory_bytes
        self.clock = clock

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(MOTO_OWN_PATHS) or environ.get("REQUEST_METHOD") in (
            UNCHECKED_METHODS
        ):
            return self.app(environ, start_response)
        view = RequestView.from_environ(environ)
        try:
            md5 = check_form(view, self.clock())
        except S3Error as error:
            return refuse_drained(view, error, environ, start_response)
        if md5 is None or not has_body(environ) or aws_chunked(view):
            return self.app(environ, start_response)
        digest = hashlib.md5(usedforsecurity=False)
        spool = bodies.spool(environ, self.spool_memory_bytes, digest)
        if digest.digest() != md5:
            spool.close()
            return refuse(view, bad_digest(md5, digest.digest()), start_response)
        return pass_on(self.app, environ, start_response, spool)
