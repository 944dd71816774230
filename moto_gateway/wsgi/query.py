"""A raw query string split as S3 reads it (the request view's parameters, SigV4's canonical query)."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes


def split_query(raw_query: str) -> list[tuple[bytes, bytes]]:
    """`a=1&b&c=%20` -> decoded (name, value) byte pairs in order; '+' stays '+' as S3 reads it."""
    pairs = []
    for piece in raw_query.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        pairs.append((unquote_to_bytes(name), unquote_to_bytes(value)))
    return pairs
