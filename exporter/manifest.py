"""The manifest's records (an object's `Entry`, a bucket's `BucketRecord`), and the earlier releases'
manifest, EXPORT_DIR/_manifest.json (format 1), which the manifest store (store.py) reads once to migrate
it. A missing, unreadable or corrupt JSON manifest means "nothing known": a full pass.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    region: str | None = None
    cors: list[dict[str, Any]] | None = None
    """The bucket's CORS rules as get_bucket_cors returns them, so that a restore can put them back."""


@dataclass
class Manifest:
    buckets: dict[str, BucketRecord] = field(default_factory=dict)
    boot_id: str | None = None
    """The Moto instance the mirror was last synced with, where the endpoint tells (our gateway does)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "boot_id": self.boot_id,
            "buckets": {
                name: {
                    "created": record.created,
                    "gone": record.gone,
                    "region": record.region,
                    "cors": record.cors,
                    "objects": {
                        key: {
                            "path": entry.path,
                            "etag": entry.etag,
                            "size": entry.size,
                            "in_s3": entry.in_s3,
                            "headers": entry.headers,
                        }
                        for key, entry in sorted(record.objects.items())
                    },
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
            cors = record.get("cors")
            buckets[str(name)] = BucketRecord(
                created=record.get("created"),
                objects=objects,
                gone=bool(record.get("gone", False)),
                region=record.get("region"),
                cors=cors if isinstance(cors, list) else None,
            )
        boot_id = data.get("boot_id")
        return cls(buckets=buckets, boot_id=boot_id if isinstance(boot_id, str) else None)


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
