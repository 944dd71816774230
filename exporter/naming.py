"""Where each object key lives on disk: a pure, reversible mapping that can never leave the bucket's folder.

Keys come from users, so a key is stored "as is" only when that is safe and one-to-one:

* A key is *plain* when every `/`-separated segment is non-empty, not `.` or `..`, at most 255 bytes of
  UTF-8, free of backslashes and control characters, does not start with TEMP_PREFIX, its first segment
  is not ESCAPE_DIR, and no other key of the bucket lives "below" it (`a` beside `a/b`). A plain key's
  path is the key itself.
* Every other key is *escaped*: its path is `ESCAPE_DIR/` + the key percent-encoded with nothing left
  safe but `A-Z a-z 0-9 _ . - ~` (so `/` becomes `%2F`), a leading `.` also encoded (`%2E`). Encodings
  longer than CHUNK characters are cut into CHUNK-sized folders, each folder name ending in `+`
  (a character the encoding never produces), so no escaped file can collide with an escaped folder.

`key_for_path` reverses the mapping; the manifest also records key -> path for every object.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, unquote

from common.names import BUCKET_NAME, is_valid_bucket_name  # noqa: F401 (the bucket rule lives in common)

ESCAPE_DIR = "_escaped"
TEMP_PREFIX = ".motostack-tmp-"
CHUNK = 200
MAX_SEGMENT_BYTES = 255
UNSAFE_CHARACTERS = re.compile(r"[\x00-\x1f\x7f\\]")
"""Control characters and the backslash: never in a plain key or a safe path."""


def _segment_is_plain(segment: str) -> bool:
    return (
        segment not in ("", ".", "..")
        and (
            len(segment) <= MAX_SEGMENT_BYTES // 4  # at most 4 bytes a character: short enough, no encoding
            or len(segment.encode("utf-8", "surrogatepass")) <= MAX_SEGMENT_BYTES
        )
        and not segment.startswith(TEMP_PREFIX)
    )


def is_plain_key(key: str) -> bool:
    """Safe to store as is, judged on the key alone (conflicts with other keys are checked separately)."""
    if UNSAFE_CHARACTERS.search(key):
        return False
    segments = key.split("/")
    return segments[0] != ESCAPE_DIR and all(_segment_is_plain(segment) for segment in segments)


def is_safe_path(path: str) -> bool:
    """A relative path whose every segment is an ordinary name: it cannot leave the folder it is joined to."""
    return not UNSAFE_CHARACTERS.search(path) and all(segment not in ("", ".", "..") for segment in path.split("/"))


def escaped_path(key: str) -> str:
    encoded = quote(key, safe="", encoding="utf-8", errors="surrogatepass")
    pieces = [encoded[i : i + CHUNK] for i in range(0, len(encoded), CHUNK)] or [""]
    pieces = ["%2E" + piece[1:] if piece.startswith(".") else piece for piece in pieces]
    return "/".join([ESCAPE_DIR, *(piece + "+" for piece in pieces[:-1]), pieces[-1]])


def folder_prefixes(keys: Iterable[str]) -> set[str]:
    """Every `a`, `a/b` such that some key starts with `a/` or `a/b/`: the names that must stay folders."""
    prefixes: set[str] = set()
    for key in keys:
        end = key.find("/")
        while end != -1:
            prefixes.add(key[:end])
            end = key.find("/", end + 1)
    return prefixes


def assign_paths(keys: Iterable[str]) -> dict[str, str]:
    """Map every key of one bucket to its path, relative to the bucket's folder (always `/`-separated)."""
    keys = list(keys)
    folders = folder_prefixes(keys)
    return {key: key if is_plain_key(key) and key not in folders else escaped_path(key) for key in keys}


def key_for_path(path: str) -> str:
    """The key a path (relative to the bucket's folder) stands for: the inverse of `assign_paths`."""
    head, sep, rest = path.partition("/")
    if head != ESCAPE_DIR or not sep:
        return path
    pieces = rest.split("/")
    encoded = "".join([piece.removesuffix("+") for piece in pieces[:-1]] + [pieces[-1]])
    return unquote(encoded, encoding="utf-8", errors="surrogatepass")


def is_own_path(key: str, path: str) -> bool:
    """Whether `path` is where the naming rule may put `key` (a record claiming any other path is not
    trusted: it must not make the exporter touch a file outside its bucket, or another key's file)."""
    return is_safe_path(path) and (path == key or key_for_path(path) == key)
