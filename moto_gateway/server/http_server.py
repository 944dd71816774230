"""The HTTP server of the moto service: waitress, threads in one process (Moto keeps all state in memory).

waitress enforces the framing before the application sees a request: header size, body size (declared or
chunked), malformed chunk lines (400), idle and slow clients (channel_timeout); it reads each body fully
before calling the application, in memory up to GATEWAY_SPOOL_MEMORY_BYTES and in a temporary file beyond.
HTTP/1.1 keep-alive is on, so a client does not pay a TCP handshake per request.

Three adaptations keep Moto seeing what its own (werkzeug) server gives it:
- RAW_URI, the request target as sent: Moto matches S3 keys against the still-encoded path (`%2F` in a key).
- headers with an underscore in their name, which waitress drops (so that `X_Foo` cannot pose as `X-Foo`):
  S3 user metadata may contain one (`x-amz-meta-my_key`), so those, and only those, are kept under their
  original spelling, as Moto's server does (`moto.core.request.should_preserve_original_header_name`).
- response header names spelled as the application spelled them (user metadata keys are data).
And one fix: no `100 Continue` for a request that is already complete (see `MotoChannel.send_continue`).
What waitress itself refuses is answered as S3 answers it (`S3ErrorTask`): an `<Error>` document with S3's
status and code, not waitress's plain text.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from functools import lru_cache
from http import HTTPStatus

from moto.core.request import (
    PRESERVED_HEADER_NAMES_ENVIRON_KEY,
    environ_key_for_header,
    should_preserve_original_header_name,
)
from waitress.buffers import OverflowableBuffer
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError
from waitress.server import create_server
from waitress.task import ErrorTask, WSGITask
from waitress.utilities import BadRequest, RequestEntityTooLarge, RequestHeaderFieldsTooLarge, ServerNotImplemented

from werkzeug.http import parse_options_header

from moto_gateway.settings import GatewaySettings
from moto_gateway.signing.post_form import PART_HEADER_ALLOWANCE
from moto_gateway.signing.post_policy import MAX_PRE_FILE_BYTES
from moto_gateway.wsgi.errors import S3Error, error_xml, new_request_id
from moto_gateway.wsgi.held_answers import HOLD_ANSWER, HeldAnswer, Refusal, refusal_bytes, wake_up

MAX_CHUNK_LINE = 4096
FORM_PREAMBLE_LIMIT = MAX_PRE_FILE_BYTES + PART_HEADER_ALLOWANCE
"""A POST form whose first boundary has not shown up within this many bytes is refused at once (issue 17
case 2): waitress reads a whole body before the application sees it, so the form scanner's own bound
would come only after the last byte."""
HEADER_LINE = re.compile(rb"^([^:\r\n]+):[ \t]*(.*?)[ \t]*$")


def preserved_headers(header_block: bytes) -> tuple[dict[str, str], dict[str, str]]:
    """(environ values, original names) of the underscored headers Moto keeps, from a raw header block."""
    values: dict[str, str] = {}
    names: dict[str, str] = {}
    for line in header_block.split(b"\r\n")[1:]:
        if b"_" not in line.partition(b":")[0]:
            continue
        match = HEADER_LINE.match(line)
        if not match:
            continue
        name = match.group(1).decode("latin-1")
        if not should_preserve_original_header_name(name):
            continue
        key = environ_key_for_header(name)
        names.setdefault(key, name)
        value = match.group(2).decode("latin-1")
        values[key] = f"{values[key]},{value}" if key in values else value
    return values, names


class S3Refusal(BadRequest):
    """A refusal decided while the request is still being read, carrying S3's answer."""

    def __init__(self, error: S3Error) -> None:
        super().__init__(error.message)
        self.s3_error = error


def form_delimiter(method: str, content_type: str) -> bytes | None:
    """The first line a POST Object form must show (`--boundary`), or None for any other request."""
    if method != "POST":
        return None
    mimetype, options = parse_options_header(content_type)
    boundary = options.get("boundary")
    if mimetype != "multipart/form-data" or not boundary:
        return None
    return b"--" + boundary.encode("latin-1", "replace")


class MotoRequestParser(HTTPRequestParser):
    """waitress's parser, plus two bounds on chunked bodies that it lacks.

    A chunk size beyond what the body may still hold is refused at once (413): waitress would wait for
    that many bytes. A chunk-size line or trailer that never ends is refused (400) at 4 KiB / the header
    limit: waitress keeps it in memory up to the whole body limit.
    """

    preserved_values: dict[str, str] = {}
    preserved_names: dict[str, str] = {}
    form_delimiter: bytes | None = None
    unreadable_header: bytes | None = None
    """The header block waitress could not parse (a control character in a value, a line without a colon)."""

    def received(self, data: bytes) -> int:
        consumed = super().received(data)
        receiver = self.body_rcv
        if self.form_delimiter is not None and receiver is not None and not self.error:
            self.check_form_preamble(receiver)
        if self.chunked and receiver is not None and not self.completed:
            room = self.adj.max_request_body_size - self.body_bytes_received
            if receiver.chunk_remainder > room:
                limit = self.adj.max_request_body_size
                self.error = RequestEntityTooLarge(f"chunk size exceeds max_body of {limit}")
                self.completed = True
            elif (
                len(receiver.control_line) > MAX_CHUNK_LINE
                or len(receiver.trailer) > self.adj.max_request_header_size
            ):
                self.error = BadRequest("chunk size line or trailer too long")
                self.completed = True
        return consumed

    def check_form_preamble(self, receiver) -> None:
        seen = receiver.buf.get(FORM_PREAMBLE_LIMIT)
        if self.form_delimiter in seen:
            self.form_delimiter = None
        elif len(seen) >= FORM_PREAMBLE_LIMIT:
            self.error = S3Refusal(
                S3Error(
                    400,
                    "MalformedPOSTRequest",
                    "The body of your POST request is not well-formed multipart/form-data.",
                )
            )
            self.completed = True

    def parse_header(self, header_plus: bytes) -> None:
        try:
            super().parse_header(header_plus)
        except ParsingError:
            self.unreadable_header = header_plus
            raise
        self.form_delimiter = form_delimiter(self.command, self.headers.get("CONTENT_TYPE", ""))
        if b"_" in header_plus:
            self.preserved_values, self.preserved_names = preserved_headers(header_plus)


class MotoTask(WSGITask):
    held: HeldAnswer | None = None

    def service(self) -> None:
        """The task's answer is written in full here: a held answer may go from now on."""
        try:
            super().service()
        finally:
            if self.held is not None:
                self.held.settle()

    def hold(self, tickets, refusal: Refusal) -> None:
        """wsgi/held_answers.py: what this task writes waits in the channel until `tickets` are done."""
        channel = self.channel
        self.held = channel.held = HeldAnswer(
            tickets, refusal, lambda held: channel.release(held, self.version)
        )

    def get_environment(self) -> dict:
        if self.environ is not None:
            return self.environ
        environ = super().get_environment()
        environ["RAW_URI"] = self.request.request_uri
        environ[HOLD_ANSWER] = self.hold
        values = getattr(self.request, "preserved_values", None)
        if values:
            dashed = set(environ)
            environ.update({key: value for key, value in values.items() if key not in dashed})
            environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = {
                key: name for key, name in self.request.preserved_names.items() if key not in dashed
            }
        return environ

    def build_response_header(self) -> bytes:
        """waitress's header block with each header name spelled as the application spelled it.

        waitress capitalises names (`x-amz-meta-k` -> `X-Amz-Meta-K`); HTTP does not care, but S3 clients
        read user metadata keys from the names, so the spelling is part of the data.
        """
        spelled = {capitalised(name): name for name, _ in self.response_headers}
        keep_alive = self.keeps_connection_without_length()
        first_line = super().build_response_header().split(b"\r\n", 1)[0].decode("latin-1")
        if keep_alive and self.close_on_finish:
            self.close_on_finish = False
            self.response_headers = [h for h in self.response_headers if h != ("Connection", "close")]
        lines = [first_line] + [
            f"{spelled.get(name, name)}: {value}"
            for name, value in sorted(self.response_headers, key=lambda header: header[0])
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def keeps_connection_without_length(self) -> bool:
        """A 204 or 304 answer to an HTTP/1.1 request that did not ask to close keeps the connection open.

        waitress 3.0.2 closes the connection after any answer without Content-Length, these included, though
        RFC 9112 6.3 ends a 204 or 304 message at its headers (and RFC 9110 8.6 forbids Content-Length on a
        204): every DeleteObject (204) cost the client a new connection. Only when nothing else (the request,
        the application, an error) already asked to close."""
        return (
            self.status[:3] in ("204", "304")
            and self.version == "1.1"
            and not self.close_on_finish
            and self.request.headers.get("CONNECTION", "").lower() != "close"
            and not any(name.lower() == "connection" for name, _ in self.response_headers)
        )


UNREADABLE_AUTHORIZATION = re.compile(rb"(?im)^authorization:[^\r\n]*[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def s3_error_for(error: object, max_body_bytes: int, unreadable_header: bytes | None = None) -> S3Error:
    """S3's answer to what waitress refused while reading a request (its classes, most specific first).

    An Authorization header S3 cannot read is AccessDenied (S3 authenticates nobody with it); any other
    unreadable header is a malformed request."""
    if isinstance(error, S3Refusal):
        return error.s3_error
    if unreadable_header is not None:
        if UNREADABLE_AUTHORIZATION.search(unreadable_header):
            return S3Error(403, "AccessDenied", "Access Denied")
        return S3Error(400, "InvalidRequest", f"A request header is not well-formed: {error.body}")
    if isinstance(error, RequestEntityTooLarge):
        return S3Error(
            400,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
            [("MaxSizeAllowed", max_body_bytes)],
        )
    if isinstance(error, RequestHeaderFieldsTooLarge):
        return S3Error(
            400, "RequestHeaderSectionTooLarge", "Your request header section exceeds the maximum allowed size."
        )
    if isinstance(error, BadRequest):
        return S3Error(400, "IncompleteBody", f"The request body is not framed as HTTP/1.1 says: {error.body}")
    if isinstance(error, ServerNotImplemented):
        return S3Error(
            501, "NotImplemented", "A header you provided implies functionality that is not implemented"
        )
    return S3Error(500, "InternalError", "We encountered an internal error. Please try again.")


class S3ErrorTask(ErrorTask):
    """waitress's refusal of a malformed or oversize request, as S3's error XML (the connection closes)."""

    def execute(self) -> None:
        error = s3_error_for(
            self.request.error,
            self.channel.server.adj.max_request_body_size,
            getattr(self.request, "unreadable_header", None),
        )
        request_id = new_request_id()
        body = error_xml(error, request_id)
        self.status = f"{error.status} {HTTPStatus(error.status).phrase}"
        self.response_headers.extend([("Content-Type", "application/xml"), ("x-amz-request-id", request_id)])
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


def capitalised(name: str) -> str:
    """`x-amz-meta-k` -> `X-Amz-Meta-K`, as waitress spells names; cached for the short names every response
    repeats (a long user metadata name is computed each time, so the cache stays small)."""
    return common_capitalised(name) if len(name) <= 48 else spell_capitalised(name)


def spell_capitalised(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))


common_capitalised = lru_cache(maxsize=1024)(spell_capitalised)


class MotoChannel(HTTPChannel):
    parser_class = MotoRequestParser
    task_class = MotoTask
    error_task_class = S3ErrorTask
    held: HeldAnswer | None = None
    """An answer written but not to be sent yet (wsgi/held_answers.py): nothing is flushed meanwhile, and
    no next request is read (waitress reads none while output is pending)."""

    def writable(self) -> bool:
        return (self.held is None or self.will_close) and super().writable()

    def _flush_some(self, do_close: bool = True) -> bool:
        if self.held is not None:
            return False
        return super()._flush_some(do_close=do_close)

    def release(self, held: HeldAnswer, version: str) -> None:
        """The held answer goes (from the committer's thread): as written, or replaced by its refusal."""
        if held.error is not None:
            data = refusal_bytes(f"HTTP/{version}", held.refusal(held.error))
            with self.outbuf_lock:
                if self.connected:
                    for outbuf in self.outbufs:
                        outbuf.close()
                    self.outbufs = [OverflowableBuffer(self.adj.outbuf_overflow)]
                    self.outbufs[-1].append(data)
                    self.current_outbuf_count = self.total_outbufs_len = len(data)
                    self.close_when_flushed = True
        if self.held is held:
            self.held = None
        wake_up(self.server.pull_trigger)

    def send_continue(self) -> None:
        """`100 Continue` only to a request still waiting for its body.

        waitress 3.0.2 sends it, and marks the request incomplete again, even when the request is already
        complete (`Content-Length: 0`, which boto3 sends with `Expect: 100-continue` for an empty
        PutObject) or already refused (413 for a declared length beyond the limit): the request then waits
        for a body that never comes and the client times out.
        """
        if self.request.completed:
            self.request.expect_continue = False
            return
        super().send_continue()


def make_server(app: Callable, settings: GatewaySettings, listener: socket.socket):
    """A waitress server on `listener` (GATEWAY_HOST:GATEWAY_PORT); `run()` serves until SystemExit."""
    server = create_server(
        app,
        sockets=[listener],
        threads=settings.gateway_threads,
        connection_limit=settings.gateway_connection_limit,
        channel_timeout=settings.gateway_idle_timeout_seconds,
        max_request_header_size=settings.gateway_max_header_bytes,
        max_request_body_size=settings.gateway_max_body_bytes,
        inbuf_overflow=settings.gateway_spool_memory_bytes,
        cleanup_interval=max(1, min(30, settings.gateway_idle_timeout_seconds // 2)),
        ident="moto-gateway",
        clear_untrusted_proxy_headers=False,  # pass X-Forwarded-* and Forwarded to Moto as sent
    )
    server.channel_class = MotoChannel
    return server
