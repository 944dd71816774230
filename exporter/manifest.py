"""The manifest: what the last pass wrote, so the next pass downloads only what changed.

It lives at EXPORT_DIR/_manifest.json (no bucket can be called that: bucket names have no `_`) and is
always replaced atomically. A missing, unreadable or corrupt manifest means "nothing known": a full pass.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from exporter.files import atomic_write_bytes
from exporter.naming import is_safe_path, is_valid_bucket_name, key_for_path

log = logging.getLogger(__name__)

MANIFEST_NAME = "_manifest.json"
FORMAT = 1


@dataclass(frozen=True)
class Entry:
    """One object's file in the mirror. `in_s3` is False for a file kept after its object was deleted."""

    path: str
    etag: str
    size: int
    in_s3: bool = True
    headers: dict[str, Any] = field(default_factory=dict)


@dataclass
class BucketRecord:
    created: str | None = None
    objects: dict[str, Entry] = field(default_factory=dict)
    gone: bool = False
    """The bucket was missing from S3's listing: if it comes back, it is a new bucket (Moto restarted)."""


@dataclass
class Manifest:
    buckets: dict[str, BucketRecord] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "buckets": {
                name: {
                    "created": record.created,
                    "gone": record.gone,
                    "objects": {key: asdict(entry) for key, entry in sorted(record.objects.items())},
                }
                for name, record in sorted(self.buckets.items())
            },
        }

    @classmethod
    def from_json(cls, data: Any) -> Manifest:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("unknown manifest format")
        buckets = {}
        for name, record in data["buckets"].items():
            if not is_valid_bucket_name(name):
                log.warning("manifest: ignoring %r, not a bucket name", name)
                continue
            objects = {}
            for key, raw in record["objects"].items():
                if not (isinstance(raw.get("path"), str) and is_safe_path(raw["path"])
                        and key_for_path(raw["path"]) == key):
                    log.warning("manifest: ignoring the entry of %s/%r: its path does not match the key", name, key)
                    continue
                entry = Entry(
                    path=str(raw["path"]),
                    etag=str(raw["etag"]),
                    size=int(raw["size"]),
                    in_s3=bool(raw.get("in_s3", True)),
                    headers=dict(raw.get("headers") or {}),
                )
                objects[str(key)] = entry
            buckets[str(name)] = BucketRecord(
                created=record.get("created"), objects=objects, gone=bool(record.get("gone", False))
            )
        return cls(buckets=buckets)


def manifest_path(export_dir: Path) -> Path:
    return export_dir / MANIFEST_NAME


def load_manifest(export_dir: Path) -> Manifest:
    path = manifest_path(export_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Manifest()
    except OSError as exc:
        log.warning("cannot read %s (%s): doing a full pass", path, exc.strerror)
        return Manifest()
    try:
        return Manifest.from_json(json.loads(raw))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("manifest %s is corrupt (%s): doing a full pass", path, exc)
        return Manifest()


def save_manifest(export_dir: Path, manifest: Manifest) -> None:
    data = json.dumps(manifest.to_json(), ensure_ascii=False, separators=(",", ":")).encode()
    atomic_write_bytes(manifest_path(export_dir), data, durable=True)
    log.debug("manifest written (%d bytes)", len(data))


def is_inside(root: Path, candidate: Path) -> bool:
    """True when `candidate` (made absolute without following links) stays within `root`."""
    root_abs = os.path.abspath(root)
    return os.path.commonpath([root_abs, os.path.abspath(candidate)]) == root_abs
