"""What several layers do with an inner app's answer."""

from __future__ import annotations

from collections.abc import Callable


def answered(app: Callable, environ: dict, start_response: Callable) -> list[bytes]:
    """The whole answer of `app`, its iterable closed: the inner app is done when this returns (a lock
    can be released, a context ended, a body inspected)."""
    body = app(environ, start_response)
    try:
        return list(body)
    finally:
        if hasattr(body, "close"):
            body.close()
