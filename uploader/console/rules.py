"""The console's decisions, without I/O: S3 URIs, breadcrumbs, page sizes, share expiries, previews, counts,
the mirror path of a key, and which change-feed events concern a page."""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import posixpath
from dataclasses import dataclass
from urllib.parse import quote

from common.names import is_valid_bucket_name
from exporter import naming

PREVIEW_BYTES = 256 * 1024
MAX_CSV_ROWS = 1000
MIN_SHARE_SECONDS = 60
MAX_SHARE_SECONDS = 7 * 24 * 3600
"""S3's limit for a SigV4 presigned URL."""
SHARE_UNITS = {"minutes": 60, "hours": 3600, "days": 86400}
MAX_KEY_BYTES = 1024

REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
    "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1",
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2",
    "ap-south-1", "ap-east-1", "me-south-1", "af-south-1",
)  # fmt: skip

TEXT_TYPES = {
    "application/xml", "application/javascript", "application/x-yaml", "application/yaml",
    "application/toml", "application/x-sh", "application/sql", "application/x-ndjson",
}  # fmt: skip
TEXT_EXTENSIONS = {
    ".txt", ".md", ".log", ".yaml", ".yml", ".xml", ".toml", ".ini", ".cfg", ".py", ".js", ".ts", ".sh",
    ".sql", ".html", ".css", ".ndjson", ".jsonl", ".tsv", ".conf", ".env",
}  # fmt: skip
IMAGE_TYPES = {
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml", "image/bmp", "image/avif",
    "image/x-icon", "image/vnd.microsoft.icon",
}  # fmt: skip
IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".bmp", ".avif", ".ico"}


class Refused(ValueError):
    """A client's mistake, with the one sentence that says what was wrong."""


def key_ref(key: str) -> str:
    """A key as a form carries it: base64url of its UTF-8. Browsers turn every newline in a form value
    into CRLF, so a key with `\n` or `\r` would not come back as it went out."""
    return base64.urlsafe_b64encode(key.encode("utf-8", "surrogatepass")).decode("ascii").rstrip("=")


def from_ref(ref: str) -> str:
    """The key a `key_ref` stands for; Refused when it is not one."""
    try:
        raw = base64.b64decode(ref + "=" * (-len(ref) % 4), altchars=b"-_", validate=True)
        key = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        raise Refused("The form named a key in a shape the console does not send.") from None
    if len(raw) > MAX_KEY_BYTES:
        raise Refused("That key is longer than S3's limit of 1,024 bytes.")
    return key


@dataclass(frozen=True)
class Location:
    """Where an `s3://` URI points: a bucket and a key or prefix (empty: the bucket's top)."""

    bucket: str
    path: str


def parse_s3_uri(text: str) -> Location:
    """`s3://bucket/key-or-prefix` (also without `s3://`) -> Location; Refused when it names no bucket."""
    uri = text.lstrip().rstrip("\r\n")  # a key may end in spaces; a pasted line ends in a newline
    if uri.lower().startswith("s3://"):
        uri = uri[5:]
    bucket, _, path = uri.partition("/")
    if not is_valid_bucket_name(bucket):
        raise Refused(
            f"{text!r} is not an S3 URI: expected s3://bucket/key-or-prefix with a valid bucket name."
        )
    if len(path.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise Refused("That key is longer than S3's limit of 1,024 bytes.")
    return Location(bucket, path)


def parent_and_name(path: str) -> tuple[str, str]:
    """`a/b/c` -> (`a/b/`, `c`); `a/b/` -> (`a/`, `b/`): the prefix a key or folder is listed under."""
    cut = path.rstrip("/").rfind("/") if path.endswith("/") else path.rfind("/")
    return path[: cut + 1], path[cut + 1 :]


@dataclass(frozen=True)
class Crumb:
    label: str
    prefix: str


def breadcrumbs(prefix: str) -> list[Crumb]:
    """`a//b/` -> [a/, a//, a//b/] labelled `a`, `(empty)`, `b`: every folder from the top to `prefix`."""
    crumbs, end = [], prefix.find("/")
    while end != -1:
        start = len(crumbs[-1].prefix) if crumbs else 0
        label = prefix[start:end] or "(empty)"
        crumbs.append(Crumb(label, prefix[: end + 1]))
        end = prefix.find("/", end + 1)
    return crumbs


def page_size(value: str | None, default: int) -> int:
    """The `size` parameter: 100 to 1,000 entries a page; anything else is the default."""
    try:
        size = int(value) if value else default
    except ValueError:
        return default
    return size if 100 <= size <= 1000 else default


def share_seconds(amount: str, unit: str) -> int:
    """How long a share link lives: 1 minute to 7 days (S3's limit for a presigned URL)."""
    if unit not in SHARE_UNITS:
        raise Refused("Choose minutes, hours or days for the link's expiry.")
    try:
        count = int(amount)
    except ValueError:
        raise Refused("The expiry must be a whole number.") from None
    seconds = count * SHARE_UNITS[unit]
    if not MIN_SHARE_SECONDS <= seconds <= MAX_SHARE_SECONDS:
        raise Refused("A share link lives from 1 minute to 7 days (S3's limit for a presigned URL).")
    return seconds


def count_label(count: int, truncated: bool) -> str:
    """`1,234`, or `≥ 5,000` when the count stopped at its limit."""
    return f"≥ {count:,}" if truncated else f"{count:,}"


def folder_key(prefix: str, name: str) -> str:
    """The zero-byte key the AWS console makes for a new folder: `prefix` + `name` + `/`."""
    name = name.strip("/")
    if not name.strip():
        raise Refused("Give the folder a name.")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise Refused("A folder name cannot hold control characters.")
    key = f"{prefix}{name}/"
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise Refused("That folder's key would be longer than S3's limit of 1,024 bytes.")
    return key


def upload_key(prefix: str, relative_name: str) -> str:
    """Where a dropped or picked file goes: the current prefix + its name (as the browser gives it)."""
    if not relative_name or relative_name.endswith("/"):
        raise Refused("A file needs a name.")
    key = prefix + relative_name
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise Refused(f"The key {key!r} would be longer than S3's limit of 1,024 bytes.")
    return key


def mirror_path(mirror_dir: str, bucket: str, key: str, has_children: bool) -> str:
    """Where the exporter writes the key's file: its own naming rule (exporter/naming.py), which escapes
    any key that is unsafe as a path or that is also a folder (`a` beside `a/b`)."""
    keys = [key, key + "/"] if has_children else [key]
    return posixpath.join(mirror_dir.rstrip("/") or "/", bucket, naming.assign_paths(keys)[key])


def attachment_disposition(key: str) -> str:
    """Content-Disposition for a download: the key's last segment as the file name (RFC 6266/5987)."""
    name = key.rstrip("/").rsplit("/", 1)[-1] or "download"
    ascii_name = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def preview_kind(content_type: str | None, key: str) -> str:
    """image, json, csv, text, or none (offered for download): by media type, then by extension."""
    kind = media_type(content_type)
    extension = posixpath.splitext(key.lower())[1]
    if kind in IMAGE_TYPES or (kind in ("", "application/octet-stream") and extension in IMAGE_EXTENSIONS):
        return "image"
    if kind == "application/json" or kind.endswith("+json") or extension == ".json":
        return "json"
    if kind in ("text/csv", "application/csv") or extension == ".csv":
        return "csv"
    if (
        kind.startswith("text/")
        or kind in TEXT_TYPES
        or kind.endswith("+xml")
        or extension in TEXT_EXTENSIONS
    ):
        return "text"
    return "none"


@dataclass(frozen=True)
class Preview:
    kind: str
    """text, json, csv (text and json are shown in <pre>, csv as `rows`)."""
    text: str = ""
    rows: tuple[tuple[str, ...], ...] = ()
    truncated: bool = False
    """Only the first PREVIEW_BYTES of the object are shown."""
    note: str = ""


def text_preview(kind: str, head: bytes, size: int) -> Preview:
    """The preview of the first bytes `head` of an object of `size` bytes, decoded as UTF-8."""
    truncated = size > len(head)
    text = head.decode("utf-8", errors="replace")
    if truncated and text.endswith("\ufffd"):
        text = text.rstrip("\ufffd")  # a character cut at the end of the range
    if kind == "json":
        if truncated:
            return Preview("text", text, truncated=True, note="Too large to format as JSON: shown as text.")
        try:
            pretty = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            return Preview("text", text, note="Not valid JSON: shown as text.")
        return Preview("json", pretty)
    if kind == "csv":
        lines = text.splitlines(keepends=True)
        if truncated and len(lines) > 1:
            lines = lines[:-1]  # the last line was cut
        try:
            reader = csv.reader(io.StringIO("".join(lines)))
            rows = tuple(tuple(row) for _, row in zip(range(MAX_CSV_ROWS + 1), reader))
        except csv.Error:
            return Preview("text", text, truncated=truncated, note="Not valid CSV: shown as text.")
        note = f"The first {MAX_CSV_ROWS:,} rows are shown." if len(rows) > MAX_CSV_ROWS else ""
        return Preview("csv", rows=rows[:MAX_CSV_ROWS], truncated=truncated, note=note)
    return Preview("text", text, truncated=truncated)


def concerns(event: dict, bucket: str, prefix: str) -> bool:
    """Does this change-feed event change what a page listing `bucket` under `prefix` shows?"""
    if event.get("bucket") in ("", None):
        return True  # reset, snapshot-restore: all of S3 changed
    if event.get("bucket") != bucket:
        return False
    key = event.get("key")
    return key is None or key.startswith(prefix)
