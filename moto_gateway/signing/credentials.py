"""GATEWAY_CREDENTIALS (`key:secret:account[:id=..][:name=..][:email=..],...`) read into entries and profiles;
pure, so settings load before Moto."""

from __future__ import annotations

import re

ACCOUNT_ID_RE = re.compile(r"\d{12}")
ACCESS_KEY_RE = re.compile(r"[A-Za-z0-9_+=.@-]{1,128}")


PROFILE_FIELDS = {"id": re.compile(r"[0-9a-f]{64}"), "name": re.compile(r"[^,:=]{1,64}"),
                  "email": re.compile(r"[^@\s,:=]+@[^@\s,:=]+")}


def profile_of(extras: list[str], key: str) -> dict[str, str]:
    """The optional `id=<64 hex>`, `name=<display name>`, `email=<address>` after an entry's account."""
    profile = {}
    for extra in extras:
        name, sep, value = extra.partition("=")
        if not sep or name not in PROFILE_FIELDS or name in profile:
            raise ValueError(f"key {key!r}: after the account come only id=, name= and email=, once each")
        if not PROFILE_FIELDS[name].fullmatch(value):
            raise ValueError(f"key {key!r}: {name}= is not valid (id: 64 lowercase hex digits)")
        profile[name] = value
    return profile


def parse_profiles(text: str) -> dict[str, dict[str, str]]:
    """account id -> its optional canonical id, display name and e-mail, from GATEWAY_CREDENTIALS."""
    profiles: dict[str, dict[str, str]] = {}
    for raw in text.split(","):
        parts = raw.strip().split(":")
        if len(parts) > 3:
            profiles.setdefault(parts[2], {}).update(profile_of(parts[3:], parts[0]))
    return profiles


def parse_credentials(text: str) -> list[tuple[str, str, str]]:
    """`key:secret:account[:id=..][:name=..][:email=..],...` -> [(key, secret, account)]; ValueError naming
    the bad entry (parse_profiles reads the optional fields)."""
    entries = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        parts = item.split(":")
        if len(parts) < 3 or not all(parts[:3]):
            raise ValueError("each entry is key:secret:account (12-digit account id)")
        key, secret, account_id = parts[:3]
        profile_of(parts[3:], key)
        if not ACCESS_KEY_RE.fullmatch(key):
            raise ValueError(f"access key {key!r} has characters an access key cannot have")
        if not ACCOUNT_ID_RE.fullmatch(account_id):
            raise ValueError(f"account of key {key!r} must be 12 digits")
        entries.append((key, secret, account_id))
    keys = [key for key, _, _ in entries]
    if len(keys) != len(set(keys)):
        raise ValueError("an access key appears twice")
    return entries
