"""GATEWAY_CREDENTIALS (`key:secret:account,...`) read into entries; pure, so settings load before Moto."""

from __future__ import annotations

import re

ACCOUNT_ID_RE = re.compile(r"\d{12}")
ACCESS_KEY_RE = re.compile(r"[A-Za-z0-9_+=.@-]{1,128}")


def parse_credentials(text: str) -> list[tuple[str, str, str]]:
    """`key:secret:account,...` -> [(key, secret, account)]; ValueError naming the bad entry."""
    entries = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        parts = item.split(":")
        if len(parts) != 3 or not all(parts):
            raise ValueError("each entry is key:secret:account (12-digit account id)")
        key, secret, account_id = parts
        if not ACCESS_KEY_RE.fullmatch(key):
            raise ValueError(f"access key {key!r} has characters an access key cannot have")
        if not ACCOUNT_ID_RE.fullmatch(account_id):
            raise ValueError(f"account of key {key!r} must be 12 digits")
        entries.append((key, secret, account_id))
    keys = [key for key, _, _ in entries]
    if len(keys) != len(set(keys)):
        raise ValueError("an access key appears twice")
    return entries
