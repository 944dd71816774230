"""Held answers: a mutating request's answer is written at once but sent only once its changes are stored.

The state folder acknowledges nothing before its commit (state/durable/). Waiting for the commit in the
request's thread cost a sleep and a wake-up per request, each a fight for the GIL with the busy threads:
a tenth of the gateway's PUT rate. So the server offers, in the environ under HOLD_ANSWER, a function the
durable layer calls instead: `hold(tickets, refusal)`. The server then keeps the answer its task writes
unsent, and the request's thread goes on to the next request. Once every ticket is done (and the task has
finished writing), the answer goes; if a change could not be stored, `refusal(error)` gives the answer
sent instead, S3's 503 SlowDown, and the connection closes after it.

A ticket is anything with `when_done(callback)` that calls `callback(error)` once, error None on success.
Without HOLD_ANSWER in the environ (another server, a test without sockets) the layer waits instead.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

HOLD_ANSWER = "moto_gateway.hold_answer"
"""The environ key of `hold(tickets, refusal)`, set by the server for every request."""

Refusal = Callable[[BaseException], tuple[str, list[tuple[str, str]], bytes]]


class HeldAnswer:
    """Counts what an answer waits for: each ticket, and its task's end of writing the answer. The last
    one to come calls `release(self)` (the server sends the answer, or `refusal(error)` in its place)."""

    def __init__(self, tickets: Iterable[Any], refusal: Refusal, release: Callable[[HeldAnswer], None]):
        tickets = list(tickets)
        self.refusal = refusal
        self.error: BaseException | None = None
        self._release = release
        self._lock = threading.Lock()
        self._waiting = len(tickets) + 1
        for ticket in tickets:
            ticket.when_done(self.settle)

    def settle(self, error: BaseException | None = None) -> None:
        """One of the answer's tickets is done (or the answer is written: `settle()`)."""
        with self._lock:
            if error is not None and self.error is None:
                self.error = error
            self._waiting -= 1
            if self._waiting:
                return
        self._release(self)


_batch = threading.local()


@contextlib.contextmanager
def one_wake_up() -> Iterator[None]:
    """Answers released inside wake their server once, at the end (`wake_up`): a group commit releases a
    dozen answers, and each wake-up of waitress's loop is a write, a context switch and a fight for the GIL."""
    pending: dict[Callable[[], None], None] = {}
    _batch.pending = pending
    try:
        yield
    finally:
        _batch.pending = None
        for pull in pending:
            pull()


def wake_up(pull: Callable[[], None]) -> None:
    """`pull()` now, or at the end of the enclosing `one_wake_up` (once, however many answers asked)."""
    pending = getattr(_batch, "pending", None)
    if pending is None:
        pull()
    else:
        pending[pull] = None


def refusal_bytes(protocol: str, answer: tuple[str, list[tuple[str, str]], bytes]) -> bytes:
    """The refusal as it goes on the wire, closing the connection (whatever else was written is dropped)."""
    status, headers, body = answer
    lines = [f"{protocol} {status}"]
    lines += [f"{name}: {value}" for name, value in headers if name.lower() not in ("connection", "content-length")]
    lines += [f"Content-Length: {len(body)}", "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
