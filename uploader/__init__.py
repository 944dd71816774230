"""The uploader service: a Flask app that signs browser uploads straight to S3 and keeps small profiles.

`create_app()` is the factory gunicorn calls (`gunicorn 'uploader:create_app()'`): it reads the settings and
wires the app, without calling S3. Preparing S3 (waiting for it up to STARTUP_TIMEOUT, creating the bucket,
applying its CORS rules) is `storage.prepare_or_stop`, which gunicorn runs once before serving
(uploader/gunicorn.conf.py), as flaskr initialises its database outside its factory.
"""

from __future__ import annotations

import secrets

from flask import Flask

from common.settings import load_settings, setup_logging
from uploader import responses, storage
from uploader.settings import UploaderSettings
from uploader.storage import StartupError, prepare_or_stop  # noqa: F401 (the start-up API)


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
    responses.install(app, settings)

    from uploader import health, pages, sign

    app.register_blueprint(health.bp)
    app.register_blueprint(sign.bp)
    app.register_blueprint(pages.bp)
    if settings.console_enabled:
        from uploader.console import views

        views.init_app(app, settings)
    return app
