"""What every answer of the uploader carries: security headers, errors as a page or as JSON, and static
files that browsers keep (their URLs carry a digest of their bytes).

Kept apart from the factory (`create_app` only wires the app): `install(app, settings)` registers the
`after_request` hook that adds the headers and the two error handlers. Paths under JSON_PATHS (the signing
API, the health check, the console's API) answer errors as `{"error": "<one sentence>"}` and are never
cached; every other path answers with the error page.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

from flask import Flask, jsonify, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from uploader.settings import UploaderSettings, origin_of

log = logging.getLogger("uploader")

JSON_PATHS = ("/sign_s3", "/healthz", "/console/api/")
UNEXPECTED = "Something went wrong on our side; nothing was changed. Please try again."


def build_content_security_policy(settings: UploaderSettings) -> str:
    """Scripts and styles only from us (no inline script or style anywhere); images, previews and uploads
    also from the S3 endpoint the browser uses; no frames, plugins or foreign form targets."""
    s3_origin = origin_of(settings.s3_public_endpoint_url)
    return "; ".join(
        [
            "default-src 'self'",
            f"img-src 'self' {s3_origin} data: blob:",
            f"connect-src 'self' {s3_origin}",
            "script-src 'self'",
            "style-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ]
    )


def security_headers(settings: UploaderSettings) -> list[tuple[str, str]]:
    return [
        ("Content-Security-Policy", build_content_security_policy(settings)),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
    ]


STATIC_MAX_AGE = 7 * 24 * 3600


def asset_urls(app: Flask) -> Callable[[str], str]:
    """`asset('console.js')`: the static file's URL with a digest of its bytes (`?v=...`), so that browsers
    may keep it for a week (no request per page) and still fetch it again the moment it changes."""
    digests: dict[str, str] = {}

    def asset(filename: str) -> str:
        if filename not in digests:
            data = (Path(app.static_folder) / filename).read_bytes()
            digests[filename] = hashlib.sha256(data).hexdigest()[:12]
        return url_for("static", filename=filename, v=digests[filename])

    return asset


def wants_json() -> bool:
    return request.path.startswith(JSON_PATHS)


def install(app: Flask, settings: UploaderSettings) -> None:
    """Register the security headers and the error handlers on `app`."""
    headers = security_headers(settings)
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = STATIC_MAX_AGE
    app.add_template_global(asset_urls(app), "asset")

    @app.after_request
    def add_security_headers(response):
        response.headers.extend(headers)
        if wants_json():
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if wants_json():
            return jsonify(error=exc.description), exc.code
        return render_template("error.html", code=exc.code, name=exc.name, message=exc.description), exc.code

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        if wants_json():
            return jsonify(error=UNEXPECTED), 500
        return render_template("error.html", code=500, name="Internal Server Error", message=UNEXPECTED), 500
