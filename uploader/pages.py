"""The pages: `/account/` (upload an avatar, fill in the form), `/submit_form/`, `/profile/<username>/`."""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError
from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from common.s3 import describe_error
from uploader import rules

log = logging.getLogger(__name__)
bp = Blueprint("pages", __name__)

CSRF_COOKIE = "uploader_csrf"
CSRF_FIELD = "csrf_token"
CSRF_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def settings():
    return current_app.config["UPLOADER_SETTINGS"]


def storage():
    return current_app.extensions["uploader.storage"]


def csrf_token() -> str:
    """The browser's current form token (double-submit cookie), or a fresh one."""
    token = request.cookies.get(CSRF_COOKIE, "")
    return token if CSRF_TOKEN.match(token) else secrets.token_urlsafe(32)


def csrf_ok() -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    field = request.form.get(CSRF_FIELD, "")
    return bool(CSRF_TOKEN.match(cookie)) and hmac.compare_digest(cookie, field)


def render_account(status: int = 200, errors: list[str] | None = None, form=None):
    """The account page; after a refused submit it shows the errors and keeps what was typed."""
    form = form or {}
    config = settings()
    avatar_url = form.get("avatar-url", "")
    preview_url = (
        avatar_url
        if rules.key_from_display_url(avatar_url, config.s3_public_endpoint_url, config.s3_bucket)
        else ""
    )
    token = csrf_token()
    response = current_app.make_response(
        (
            render_template(
                "account.html",
                errors=errors or [],
                username=form.get("username", ""),
                full_name=form.get("full-name", ""),
                avatar_url=preview_url,
                csrf_token=token,
                max_bytes=config.upload_max_bytes,
                max_size=rules.human_size(config.upload_max_bytes),
                allowed_types=config.upload_allowed_types,
            ),
            status,
        )
    )
    response.set_cookie(
        CSRF_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=config.uploader_public_url.startswith("https://"),
        path="/",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def index():
    return redirect(url_for("pages.account"))


@bp.get("/account/")
def account():
    return render_account()


@bp.post("/submit_form/")
def submit_form():
    """Validate, store `profiles/<username>.json`, redirect to the profile; a refusal stores nothing."""
    if not csrf_ok():
        return render_account(
            403,
            ["This form expired or was not sent from this page. Please check it and submit it again."],
            request.form,
        )
    config = settings()
    profile, errors = rules.parse_profile_form(request.form, config.s3_public_endpoint_url, config.s3_bucket)
    if profile is None:
        return render_account(400, errors, request.form)
    try:
        if profile.avatar_key and not storage().object_exists(profile.avatar_key):
            return render_account(
                400, ["The uploaded avatar was not found in S3. Please choose the image again."], request.form
            )
        storage().save_profile(profile, datetime.now(UTC).isoformat(timespec="seconds"))
    except (ClientError, BotoCoreError) as exc:
        log.error("cannot save profile %s: %s", profile.username, describe_error(exc))
        return render_account(
            503,
            [
                "The profile could not be saved right now (S3 did not answer); nothing was saved. "
                "Please try again."
            ],
            request.form,
        )
    log.info("saved profile %s", profile.username)
    return redirect(url_for("pages.profile", username=profile.username), code=303)


@bp.get("/profile/<username>/")
def profile(username: str):
    if not rules.USERNAME.match(username):
        abort(404, description=f"There is no profile called {username!r}.")
    try:
        found = storage().load_profile(username)
        avatar_url = storage().display_url(found.avatar_key) if found and found.avatar_key else None
    except (ClientError, BotoCoreError) as exc:
        log.error("cannot load profile %s: %s", username, describe_error(exc))
        abort(
            503,
            description="The profile could not be loaded right now (S3 did not answer). Please try again.",
        )
    if found is None:
        abort(404, description=f"There is no profile called {username!r}.")
    return render_template("profile.html", profile=found, avatar_url=avatar_url)
