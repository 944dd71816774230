"""The uploader service: a Flask app that signs browser uploads straight to S3 and keeps small profiles.

`create_app()` is the factory gunicorn calls (`gunicorn 'uploader:create_app()'`): it reads the settings and
wires the app, without calling S3. Preparing S3 (waiting for it up to STARTUP_TIMEOUT, creating the bucket,
applying its CORS rules) is `storage.prepare_or_stop`, which gunicorn runs once before serving
(uploader/gunicorn.conf.py), as flaskr initialises its database outside its factory.
"""

from __future__ import annotations

import logging
import secrets

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from common.settings import load_settings, setup_logging
from uploader import storage
from uploader.settings import UploaderSettings, origin_of
from uploader.storage import StartupError, prepare_or_stop  # noqa: F401 (the start-up API)

log = logging.getLogger("uploader")

JSON_PATHS = ("/sign_s3", "/healthz")


def create_app(settings: UploaderSettings | None = None) -> Flask:
    """Build the app from `settings` (default: the environment); no S3 call (see prepare_or_stop)."""
    if settings is None:
        settings = load_settings(UploaderSettings, "uploader")
    setup_logging(settings.log_level)

    app = Flask(__name__)
    # Made once per factory call: gunicorn preloads the app, so its workers share the key (or set
    # UPLOADER_SECRET_KEY, which also keeps sessions valid across restarts).
    secret = settings.uploader_secret_key
    app.config.update(
        UPLOADER_SETTINGS=settings,
        SECRET_KEY=secret.get_secret_value() if secret else secrets.token_hex(32),
        MAX_CONTENT_LENGTH=64 * 1024,
        SESSION_COOKIE_NAME="uploader_session",
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=settings.uploader_public_url.startswith("https://"),
    )
    storage.init_app(app, settings)

    from uploader import health, pages, sign

    app.register_blueprint(health.bp)
    app.register_blueprint(sign.bp)
    app.register_blueprint(pages.bp)

    security_headers = [
        ("Content-Security-Policy", build_content_security_policy(settings)),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
    ]

    @app.after_request
    def add_security_headers(response):
        response.headers.extend(security_headers)
        if request.path.startswith(JSON_PATHS):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith(JSON_PATHS):
            return jsonify(error=exc.description), exc.code
        return render_template("error.html", code=exc.code, name=exc.name, message=exc.description), exc.code

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        message = "Something went wrong on our side; nothing was changed. Please try again."
        if request.path.startswith(JSON_PATHS):
            return jsonify(error=message), 500
        return render_template("error.html", code=500, name="Internal Server Error", message=message), 500

    return app


def build_content_security_policy(settings: UploaderSettings) -> str:
    """Scripts and styles only from us; images and uploads also from the S3 endpoint the browser uses."""
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
