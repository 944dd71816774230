"""The outer safety net: no client ever sees a stack trace or an HTML 500, only S3's error XML.

An exception (Moto runs Flask in debug mode, so its exceptions propagate up to here) or a 500 answer
from a layer inside is logged with the request id and the traceback, and answered as S3 answers:
- when the request carried a body the gateway had checked (an XML document, a policy, an aws-chunked
  body) and Moto still failed on it, the document is what Moto could not understand: 400 MalformedXML /
  MalformedPolicy / IncompleteBody (logged as a warning: S3 would have refused it by its schema);
- when reading the body failed (bad framing the server let through): 400 IncompleteBody;
- otherwise 500 InternalError (logged as an error: a bug of the gateway or of Moto to fix).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from itertools import chain

from moto_gateway.checks.body_checks import (
    BODY_RULE_ENVIRON,
    BodyRule,
    incomplete_body,
    malformed_policy,
)
from moto_gateway.wsgi.errors import S3Error, new_request_id
from moto_gateway.wsgi.request import RequestView
from moto_gateway.wsgi.xml import malformed_xml

log = logging.getLogger("moto_gateway")


def internal_error() -> S3Error:
    return S3Error(500, "InternalError", "We encountered an internal error. Please try again.")


def answer_for(rule: BodyRule | None) -> S3Error:
    """The S3 error for a failure inside: the client's checked document if there was one, else ours."""
    if rule is None:
        return internal_error()
    if rule.kind == "xml":
        return malformed_xml()
    if rule.kind == "policy":
        return malformed_policy("Invalid policy syntax.")
    return incomplete_body()


class ClientBodyError(Exception):
    """The server could not read the request body as framed (a bad chunk header, a cut connection)."""


class GuardedInput:
    """wsgi.input whose read errors say they are the client's (werkzeug's dev server raises OSError)."""

    def __init__(self, stream):
        self.stream = stream

    def _guard(self, method: str, *args):
        try:
            return getattr(self.stream, method)(*args)
        except (OSError, ValueError) as exc:
            raise ClientBodyError(str(exc)) from exc

    def read(self, *args) -> bytes:
        return self._guard("read", *args)

    def readline(self, *args) -> bytes:
        return self._guard("readline", *args)

    def readlines(self, *args) -> list[bytes]:
        return self._guard("readlines", *args)

    def __iter__(self):
        return iter(self.readline, b"")

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


class InternalErrors:
    """Wraps the gateway; `refuse(view, error, start_response, request_id=...)` renders the S3 error."""

    def __init__(self, app: Callable, refuse: Callable):
        self.app = app
        self.refuse = refuse

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        held: dict[str, str] = {}

        def capture(status: str, headers: list, exc_info=None):
            if status[:3] == "500":
                held["status"] = status
                return lambda _data: None
            return start_response(status, headers, exc_info)

        if "wsgi.input" in environ:
            environ["wsgi.input"] = GuardedInput(environ["wsgi.input"])
        try:
            result = self.app(environ, capture)
        except Exception as exc:
            return self._fail(environ, start_response, exc)
        if held:
            close(result)
            return self._fail(environ, start_response, None)
        iterator = iter(result)
        try:
            first = next(iterator, None)  # a lazy app calls start_response only when iterated
        except Exception as exc:
            close(result)
            return self._fail(environ, start_response, exc)
        if held:
            close(result)
            return self._fail(environ, start_response, None)
        return Remaining(first, iterator, result)

    def _fail(self, environ: dict, start_response: Callable, exc: Exception | None) -> list[bytes]:
        view = RequestView.from_environ(environ)
        rule = environ.get(BODY_RULE_ENVIRON)
        error = incomplete_body() if caused_by_body(exc) else answer_for(rule)
        request_id = new_request_id()
        level = logging.ERROR if error.status >= 500 else logging.WARNING
        log.log(
            level,
            "request %s %s %s failed inside (answered %s %s)%s",
            request_id,
            view.method,
            view.raw_path,
            error.status,
            error.code,
            "" if exc else ": the app answered 500",
            exc_info=(type(exc), exc, exc.__traceback__) if exc else None,
        )
        return self.refuse(view, error, start_response, request_id=request_id)


def caused_by_body(exc: BaseException | None) -> bool:
    while exc is not None:
        if isinstance(exc, ClientBodyError):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def close(result: Iterable[bytes]) -> None:
    if hasattr(result, "close"):
        try:
            result.close()
        except Exception:
            log.exception("closing a failed response")


class Remaining:
    """The response after its first chunk was taken to see the status; closes the original result."""

    def __init__(self, first: bytes | None, rest: Iterator[bytes], result: Iterable[bytes]):
        self.chunks = chain([] if first is None else [first], rest)
        self.result = result

    def __iter__(self):
        return self.chunks

    def close(self) -> None:
        close(self.result)
