"""Request and answer bodies as every layer handles them: whether there is one, spool it (checking it on the
way), put it back for the app inside, close it once that app's answer is done, drain what is left.

A layer that must read a body before the app inside does: `spool(...)` it (feeding its digests), decide,
then `pass_on(...)` (the spool becomes the request body, closed after the answer) or refuse and close it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from tempfile import SpooledTemporaryFile
from typing import BinaryIO

from werkzeug.wsgi import ClosingIterator, get_input_stream

CHUNK = 64 * 1024  # a request body is read this much at a time


def has_body(environ: dict) -> bool:
    return (
        bool(environ.get("CONTENT_LENGTH")) or "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    )


def drain(environ: dict, stream: BinaryIO | None = None) -> None:
    """Reads what is left of the body (of `stream`, when one is being read already) so that the client sees
    our answer rather than a reset connection."""
    stream = stream or get_input_stream(environ)
    while stream.read(CHUNK):
        pass


def spool_body(environ: dict, spool: BinaryIO, *digests) -> None:
    """Copies the request body into `spool`, feeding each digest; closes the spool if reading fails."""
    try:
        stream = get_input_stream(environ)
        while chunk := stream.read(CHUNK):
            for digest in digests:
                digest.update(chunk)
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise


def spool(environ: dict, memory_bytes: int, *digests) -> SpooledTemporaryFile:
    """The request body in a spool (memory up to `memory_bytes`, then disk), each digest fed on the way."""
    body = SpooledTemporaryFile(max_size=memory_bytes, prefix="moto-gateway-")
    spool_body(environ, body, *digests)
    return body


def put_back(environ: dict, body: BinaryIO, size: int | None = None) -> None:
    """The app inside reads `body` as if from the socket; its length is `size`, or what was written."""
    if size is None:
        size = body.tell()
    body.seek(0)
    environ["wsgi.input"] = body
    environ["CONTENT_LENGTH"] = str(size)
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ.pop("wsgi.input_terminated", None)


def pass_on(
    app: Callable, environ: dict, start_response: Callable, body: BinaryIO, size: int | None = None
) -> Iterable[bytes]:
    """`body` put back and handed to `app`; closed once `app`'s answer is done."""
    put_back(environ, body, size)
    return ClosingIterator(app(environ, start_response), body.close)


def answered_with_status(
    app: Callable, environ: dict, start_response: Callable
) -> tuple[int | None, list[bytes]]:
    """`answered`, with the status code `app` answered (None if it never started a response): for a layer
    that changes Moto's state once Moto's own change succeeded."""
    statuses: list[int] = []

    def recording(status: str, headers: list, exc_info=None):
        statuses.append(int(status.split(" ", 1)[0]))
        return start_response(status, headers, exc_info)

    body = answered(app, environ, recording)
    return (statuses[0] if statuses else None), body


def answered(app: Callable, environ: dict, start_response: Callable) -> list[bytes]:
    """The whole answer of `app`, its iterable closed: the inner app is done when this returns (a lock
    can be released, a context ended, a body inspected)."""
    body = app(environ, start_response)
    try:
        return list(body)
    finally:
        if hasattr(body, "close"):
            body.close()
