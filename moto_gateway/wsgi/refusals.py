"""The one S3 error writer of the layers: a refusal answered as S3 answers it (its XML, its request id)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus

from moto import settings as moto_settings

from moto_gateway.wsgi.bodies import drain
from moto_gateway.wsgi.errors import S3Error, error_xml, new_request_id
from moto_gateway.wsgi.request import RequestView

log = logging.getLogger("moto_gateway")


def refuse(
    view: RequestView, error: S3Error, start_response: Callable, request_id: str | None = None
) -> list[bytes]:
    request_id = request_id or new_request_id()
    log.info("refused %s %s: %s %s: %s", view.method, view.raw_path, error.status, error.code, error.message)
    body = error_xml(error, request_id)
    headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
    origin = view.headers.get("origin")
    if origin and view.method != "OPTIONS" and not moto_settings.DISABLE_GLOBAL_CORS:
        # Moto answers every cross-origin request with this header; so do refusals, or a browser
        # would see a network error instead of S3's answer. A refused preflight carries none, as S3's
        # does: the browser then blocks the request it asked about.
        headers += [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
    if view.method == "HEAD":
        start_response(
            f"{error.status} {HTTPStatus(error.status).phrase}", [*headers, ("Content-Length", "0")]
        )
        return []
    start_response(
        f"{error.status} {HTTPStatus(error.status).phrase}",
        [*headers, ("Content-Length", str(len(body)))],
    )
    return [body]


def refuse_drained(view: RequestView, error: S3Error, environ: dict, start_response: Callable) -> list[bytes]:
    """`refuse`, the unread body drained first (the client then reads the answer, not a reset)."""
    drain(environ)
    return refuse(view, error, start_response)
