"""The uploader's decisions, as pure functions: what a request may do, which key it gets, what a form means.

Nothing here talks to S3 or Flask, so every rule is tested directly.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from common.units import human_bytes

UPLOAD_PREFIX = "uploads/"
PROFILE_PREFIX = "profiles/"
MAX_FILE_NAME_CHARS = 1024
MAX_SAFE_NAME_CHARS = 100
UPLOAD_KEY = re.compile(r"^uploads/[0-9a-f]{32}/[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$")
MAX_FULL_NAME_CHARS = 100
MAX_URL_CHARS = 4096


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: the HTTP status and a message meant for the person who sent it."""

    status: int
    message: str


@dataclass(frozen=True)
class UploadRequest:
    file_name: str
    content_type: str
    size: int | None


@dataclass(frozen=True)
class UploadRules:
    allowed_types: tuple[str, ...]
    max_bytes: int


@dataclass(frozen=True)
class Profile:
    username: str
    full_name: str
    avatar_key: str | None


def parse_upload_request(
    args: Mapping[str, str], rules: UploadRules, *, size_required: bool = False
) -> UploadRequest | Refusal:
    """Check `file_name`, `file_type` and the optional (required for PUT) `file_size` of a sign request."""
    file_name = args.get("file_name", "")
    if not file_name.strip():
        return Refusal(400, "file_name is required")
    if len(file_name) > MAX_FILE_NAME_CHARS:
        return Refusal(400, f"file_name is longer than {MAX_FILE_NAME_CHARS} characters")
    if any(unicodedata.category(char) == "Cc" for char in file_name):
        return Refusal(400, "file_name contains control characters")

    content_type = args.get("file_type", "").strip().lower()
    if not content_type:
        return Refusal(400, "file_type is required (a media type such as image/png)")
    if not MEDIA_TYPE.match(content_type):
        return Refusal(400, f"file_type {content_type[:80]!r} is not a media type such as image/png")
    if content_type not in rules.allowed_types:
        allowed = ", ".join(rules.allowed_types)
        return Refusal(415, f"files of type {content_type} are not accepted; allowed types: {allowed}")

    raw_size = args.get("file_size")
    if raw_size is None or raw_size == "":
        if size_required:
            return Refusal(400, "file_size is required (the exact size of the file in bytes)")
        return UploadRequest(file_name, content_type, None)
    if not raw_size.isascii() or not raw_size.isdigit() or len(raw_size) > 19:
        return Refusal(400, "file_size must be a whole number of bytes")
    size = int(raw_size)
    if size == 0:
        return Refusal(400, "the file is empty")
    if size > rules.max_bytes:
        return Refusal(
            413, f"the file is too large ({human_bytes(size)}); the limit is {human_bytes(rules.max_bytes)}"
        )
    return UploadRequest(file_name, content_type, size)


def sanitise_file_name(file_name: str) -> str:
    """A safe last path segment from whatever a client calls its file: `../../a b.PNG` -> `a-b.PNG`.

    Only the base name survives, reduced to ASCII letters, digits, `.`, `_` and `-`, at most 100
    characters, keeping the extension; a name with nothing left becomes `file` (`日本語.png` -> `file.png`).
    """
    base = re.split(r"[/\\]", file_name)[-1]
    ascii_name = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name)
    safe = re.sub(r"-{2,}", "-", safe)
    stem, dot, extension = safe.rpartition(".")
    if dot and extension.isalnum() and len(extension) <= 10:
        stem = stem.strip(".-_")[: MAX_SAFE_NAME_CHARS - len(extension) - 1].rstrip(".-_") or "file"
        return f"{stem}.{extension}"
    safe = safe.strip(".-_")[:MAX_SAFE_NAME_CHARS].rstrip(".-_")
    return safe or "file"


def upload_key(file_name: str, unique_hex: str) -> str:
    """The object key the server chooses: `uploads/<32 hex>/<sanitised name>`."""
    if not re.fullmatch(r"[0-9a-f]{32}", unique_hex):
        raise ValueError("unique_hex must be 32 lowercase hex digits")
    return f"{UPLOAD_PREFIX}{unique_hex}/{sanitise_file_name(file_name)}"


def post_policy(content_type: str, max_bytes: int, public_read: bool) -> tuple[dict, list]:
    """Fields and conditions of a presigned POST: exactly this type, 1..max_bytes bytes, the ACL if public."""
    fields: dict[str, str] = {"Content-Type": content_type}
    conditions: list = [{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]]
    if public_read:
        fields["acl"] = "public-read"
        conditions.append({"acl": "public-read"})
    return fields, conditions


def object_url(endpoint_url: str, bucket: str, key: str) -> str:
    """The plain, path-style URL of an object (public-read display URLs)."""
    return f"{endpoint_url.rstrip('/')}/{bucket}/{quote(key, safe='/~')}"


def key_from_display_url(url: str, endpoint_url: str, bucket: str) -> str | None:
    """The upload key a display URL we handed out points at, or None when it is not one of ours."""
    if len(url) > MAX_URL_CHARS:
        return None
    parts = urlsplit(url)
    endpoint = urlsplit(endpoint_url.rstrip("/"))
    if (parts.scheme, parts.netloc.lower()) != (endpoint.scheme, endpoint.netloc.lower()):
        return None
    prefix = f"{endpoint.path}/{bucket}/"
    if not parts.path.startswith(prefix):
        return None
    key = unquote(parts.path[len(prefix) :])
    return key if UPLOAD_KEY.match(key) else None


def profile_key(username: str) -> str:
    return f"{PROFILE_PREFIX}{username}.json"


def parse_profile_form(
    form: Mapping[str, str], endpoint_url: str, bucket: str
) -> tuple[Profile | None, list[str]]:
    """The profile a submitted form describes, or the reasons it does not (one sentence each)."""
    errors = []
    username = form.get("username", "").strip()
    full_name = " ".join(form.get("full-name", "").split())
    avatar_url = form.get("avatar-url", "").strip()

    if not username:
        errors.append("Username is required.")
    elif not USERNAME.match(username):
        errors.append(
            "Username must be 3 to 32 characters: letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    if not full_name:
        errors.append("Full name is required.")
    elif len(full_name) > MAX_FULL_NAME_CHARS:
        errors.append(f"Full name must be at most {MAX_FULL_NAME_CHARS} characters.")
    elif any(unicodedata.category(char) in ("Cc", "Cf") for char in full_name):
        errors.append("Full name contains control characters.")

    avatar_key = None
    if avatar_url:
        avatar_key = key_from_display_url(avatar_url, endpoint_url, bucket)
        if avatar_key is None:
            errors.append("The avatar must be an image uploaded on this page.")

    if errors:
        return None, errors
    return Profile(username, full_name, avatar_key), []


OWNER_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def owner_digest(token: str) -> str:
    """What a profile stores of its owner's session token: a digest, so that reading the profile (or the
    mirror) does not hand anyone the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def may_write_profile(stored: dict | None, session_token: str | None) -> bool:
    """A new username may be taken by anyone; an existing profile only from the browser session that
    created it (its token's digest is the stored `owner`). A profile without an owner (older, or edited
    by hand) is nobody's to overwrite."""
    if stored is None:
        return True
    owner = stored.get("owner") if isinstance(stored, dict) else None
    return bool(session_token and isinstance(owner, str) and owner == owner_digest(session_token))


def profile_document(profile: Profile, saved_at: str, owner: str) -> dict:
    """What is stored at profiles/<username>.json; `owner` is the creating session's owner_digest."""
    return {
        "username": profile.username,
        "full_name": profile.full_name,
        "avatar_key": profile.avatar_key,
        "updated_at": saved_at,
        "owner": owner,
    }


def profile_from_document(document: object) -> Profile | None:
    """Read back a stored profile; anything malformed (edited by hand, say) is None, never an exception."""
    if not isinstance(document, dict):
        return None
    username, full_name, avatar_key = (document.get(k) for k in ("username", "full_name", "avatar_key"))
    if not isinstance(username, str) or not isinstance(full_name, str):
        return None
    if avatar_key is not None and not (isinstance(avatar_key, str) and UPLOAD_KEY.match(avatar_key)):
        avatar_key = None
    return Profile(username, full_name, avatar_key)
