"""The validating layer: refuses what S3 would refuse, then hands Moto the request byte for byte.

Imperative shell around the pure checks in presigned.py and post_policy.py. Bodies are only read when a
check needs them (POST Object forms; header-signed requests with a hex payload hash when header signatures
are verified); they are then spooled (memory up to a threshold, then disk) and put back as wsgi.input.
A checked POST Object upload goes inward as a PutObject (post_object.py) on behalf of the key that signed
its form, or of the anonymous principal for an unsigned form: whether that principal may write the key
is the access layer's decision, as for any PutObject.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from tempfile import SpooledTemporaryFile

from werkzeug.http import parse_options_header
from werkzeug.wsgi import get_input_stream

from moto_gateway.signing.keyring import Keyring, form_access_key, named_access_key
from moto_gateway.signing.post_form import scan_form
from moto_gateway.signing.post_object import (
    object_location,
    post_answer,
    posted_object,
    store_post_object,
)
from moto_gateway.signing.post_policy import check_post_form
from moto_gateway.signing.presigned import Credentials, auth_kind, check_header, check_query_v2, check_query_v4
from moto_gateway.wsgi import bodies
from moto_gateway.wsgi.bodies import has_body, pass_on
from moto_gateway.wsgi.errors import S3Error, new_request_id, precondition_failed
from moto_gateway.wsgi.refusals import refuse, refuse_drained
from moto_gateway.wsgi.request import RequestView
from moto_gateway.wsgi.services import MOTO_OWN_PATHS, UNCHECKED_METHODS


def is_post_object(view: RequestView) -> bool:
    """A browser upload (POST Object): POST to the bucket itself, no query; signed by its form's policy."""
    return view.method == "POST" and not view.raw_query and view.is_bucket_root()


class ValidatingMiddleware:
    def __init__(
        self,
        app: Callable,
        keyring: Keyring | Credentials,
        *,
        verify_header_signatures: bool = False,
        spool_memory_bytes: int = 8 * 1024 * 1024,
        access_decided_inside: bool = False,
        clock: Callable[[], float] = time.time,
    ):
        """`access_decided_inside`: an access layer inside decides whether the anonymous principal may
        write, so an unsigned POST form goes inward as its PutObject; without one, it is refused here."""
        self.app = app
        # One pair (Credentials) is a keyring of one key.
        if not isinstance(keyring, Keyring):
            keyring = Keyring(keyring.access_key, keyring.secret_key)
        self.keyring = keyring
        self.verify_header_signatures = verify_header_signatures
        self.spool_memory_bytes = spool_memory_bytes
        self.access_decided_inside = access_decided_inside
        self.clock = clock

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if (
            environ.get("PATH_INFO", "").startswith(MOTO_OWN_PATHS)
            or environ.get("REQUEST_METHOD") in UNCHECKED_METHODS
        ):
            return self.app(environ, start_response)
        view = RequestView.from_environ(environ)
        try:
            kind = auth_kind(view)
            credentials = self.keyring.credentials_for(named_access_key(view))
            if kind == "query-v4":
                check_query_v4(view, credentials, self.clock())
            elif kind == "query-v2":
                check_query_v2(view, credentials, self.clock())
            elif kind == "header":
                if self.verify_header_signatures:
                    payload_hash = check_header(view, credentials, self.clock())
                    if payload_hash and has_body(environ) and not is_post_object(view):
                        return self._with_payload_hash(environ, view, payload_hash, start_response)
            if kind != "query-v4" and kind != "query-v2" and is_post_object(view):
                return self._post_object(environ, view, start_response)
        except S3Error as error:
            return refuse_drained(view, error, environ, start_response)
        return self.app(environ, start_response)

    def _spool(self) -> SpooledTemporaryFile:
        return SpooledTemporaryFile(max_size=self.spool_memory_bytes, prefix="moto-gateway-")

    def _post_object(self, environ: dict, view: RequestView, start_response: Callable) -> Iterable[bytes]:
        mimetype, options = parse_options_header(environ.get("CONTENT_TYPE", ""))
        if mimetype != "multipart/form-data":
            raise precondition_failed("Bucket POST must be of the enclosure-type multipart/form-data")
        boundary = options.get("boundary")
        if not boundary:
            raise S3Error(
                400,
                "MalformedPOSTRequest",
                "The body of your POST request is not well-formed multipart/form-data.",
            )
        if not has_body(environ):
            raise S3Error(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
        spool = self._spool()
        try:
            form = scan_form(get_input_stream(environ), boundary.encode("latin-1", "replace"), spool)
            credentials = self.keyring.credentials_for(form_access_key(form.lookup()))
            check_post_form(
                form,
                view.addressing.bucket or "",
                credentials.access_key,
                credentials.secret_key,
                self.clock(),
                anonymous_passes=self.access_decided_inside,
            )
            fields = form.lookup()
            posted = posted_object(view.addressing.bucket or "", fields, form.filename)
        except S3Error as error:
            spool.close()
            return refuse(view, error, start_response)
        except BaseException:
            spool.close()
            raise
        try:
            size = spool.tell()
            spool.seek(0)
            # the PUT acts for the key that signed the form; an unsigned form is the anonymous principal's
            signer = form_access_key(fields) if "policy" in fields else None
            status, headers, content = store_post_object(self.app, environ, posted, spool, size, signer)
        finally:
            spool.close()
        if not status.startswith("2"):
            start_response(status, headers)
            return [content]
        location = object_location(environ, posted, view.addressing.virtual_host)
        code, answer_headers, body = post_answer(fields, posted, location, headers)
        answer_headers += [("Content-Length", str(len(body))), ("x-amz-request-id", new_request_id())]
        start_response(f"{code} {HTTPStatus(code).phrase}", answer_headers)
        return [body]

    def _with_payload_hash(
        self, environ: dict, view: RequestView, expected: str, start_response: Callable
    ) -> Iterable[bytes]:
        digest = hashlib.sha256()
        spool = bodies.spool(environ, self.spool_memory_bytes, digest)
        if digest.hexdigest() != expected:
            spool.close()
            error = S3Error(
                400,
                "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
                [("ClientComputedContentSHA256", expected), ("S3ComputedContentSHA256", digest.hexdigest())],
            )
            return refuse(view, error, start_response)
        return pass_on(self.app, environ, start_response, spool)
