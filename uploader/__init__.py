"""The uploader service: a Flask app that signs browser uploads straight to S3 and keeps small profiles.

`create_app()` is the factory gunicorn calls (`gunicorn 'uploader:create_app()'`). It reads the settings,
waits for S3 (up to STARTUP_TIMEOUT), creates the bucket and applies its CORS rules before serving.
"""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError
from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from common.s3 import S3Unreachable, describe_error, make_s3_client
from common.settings import load_settings, setup_logging
from uploader.settings import UploaderSettings, origin_of
from uploader.storage import BucketKeeper, Storage, prepare_bucket

log = logging.getLogger("uploader")

JSON_PATHS = ("/sign_s3", "/healthz")


class StartupError(SystemExit):
    """S3 could not be prepared: gunicorn stops with this one-line reason instead of serving errors."""


def create_app(settings: UploaderSettings | None = None) -> Flask:
    """Build the app from `settings` (default: the environment) once S3 is ready for it."""
    if settings is None:
        settings = load_settings(UploaderSettings, "uploader")
    setup_logging(settings.log_level)
    setup_client = make_s3_client(settings)
    try:
        prepare_bucket(setup_client, settings)
    except S3Unreachable as exc:
        log.error("uploader cannot start: %s", exc)
        raise StartupError(1) from None
    except (ClientError, BotoCoreError) as exc:
        log.error("uploader cannot prepare bucket %s: %s", settings.s3_bucket, describe_error(exc))
        raise StartupError(1) from None
    finally:
        setup_client.close()

    app = Flask(__name__)
    app.config.update(
        UPLOADER_SETTINGS=settings,
        MAX_CONTENT_LENGTH=64 * 1024,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=settings.uploader_public_url.startswith("https://"),
    )
    app.extensions["uploader.storage"] = Storage(settings)
    keeper = BucketKeeper(settings)
    app.extensions["uploader.bucket_keeper"] = keeper
    app.before_request(keeper.ensure_running)

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
