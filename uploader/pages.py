"""The pages: `/account/` (upload an avatar, fill in the form), `/submit_form/`, `/profile/<username>/`.

A profile belongs to the browser session that created it: the signed session cookie holds a random owner
token, the profile stores its digest, and only that session may overwrite the profile.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError
from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for

from common.s3 import describe_error
from common.units import human_bytes
from uploader import rules
from uploader.settings import get_settings
from uploader.storage import ProfileChanged, get_storage

log = logging.getLogger(__name__)
bp = Blueprint("pages", __name__)

CSRF_COOKIE = "uploader_csrf"
CSRF_FIELD = "csrf_token"
CSRF_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


OWNER = "owner"


def session_owner() -> str | None:
    """This browser session's owner token (from the signed session cookie), if it has one."""
    token = session.get(OWNER)
    return token if isinstance(token, str) and rules.OWNER_TOKEN.match(token) else None


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
    config = get_settings()
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
                max_size=human_bytes(config.upload_max_bytes),
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
    config = get_settings()
    profile, errors = rules.parse_profile_form(request.form, config.s3_public_endpoint_url, config.s3_bucket)
    if profile is None:
        return render_account(400, errors, request.form)
    storage = get_storage()
    token = session_owner()
    try:
        stored, etag = storage.read_profile(profile.username)
        if not rules.may_write_profile(stored if etag else None, token):
            return render_account(
                403,
                [
                    f"The profile {profile.username!r} was created from another browser session and only "
                    "that session can change it. Please choose another username."
                ],
                request.form,
            )
        if profile.avatar_key and not storage.object_exists(profile.avatar_key):
            return render_account(
                400, ["The uploaded avatar was not found in S3. Please choose the image again."], request.form
            )
        if token is None:
            token = secrets.token_urlsafe(32)
            session[OWNER] = token
        saved_at = datetime.now(UTC).isoformat(timespec="seconds")
        storage.save_profile(profile, saved_at, rules.owner_digest(token), replaces=etag)
    except ProfileChanged:
        return render_account(
            409,
            [
                f"The profile {profile.username!r} was changed elsewhere at the same moment; nothing was "
                "saved. Please submit again."
            ],
            request.form,
        )
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
        found = get_storage().load_profile(username)
        avatar_url = get_storage().display_url(found.avatar_key) if found and found.avatar_key else None
    except (ClientError, BotoCoreError) as exc:
        log.error("cannot load profile %s: %s", username, describe_error(exc))
        abort(
            503,
            description="The profile could not be loaded right now (S3 did not answer). Please try again.",
        )
    if found is None:
        abort(404, description=f"There is no profile called {username!r}.")
    return render_template("profile.html", profile=found, avatar_url=avatar_url)
