"""Durable Moto: when Moto comes back empty, put the mirror's buckets and objects back into it.

The decision (did Moto restart? what is missing?) is pure; `restore` does the uploads in the exporter's
bounded pool. A restore only ever creates: it deletes nothing on either side and leaves every object
that already exists in S3 alone.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from common.s3 import call_with_retries, create_bucket_if_missing, describe_error, make_s3_client
from common.settings import AwsSettings
from exporter.files import local_size
from exporter.logtext import human_bytes, printable
from exporter.manifest import BucketRecord, Entry, Manifest
from exporter.plan import RemoteObject

log = logging.getLogger("exporter.restore")

MULTIPART_THRESHOLD = 64 * 1024 * 1024
PROGRESS_EVERY = 2.0


def fetch_boot_id(endpoint_url: str | None) -> str | None:
    """The Moto instance's boot id from our gateway's GET /_health; None for any other endpoint."""
    if not endpoint_url:
        return None
    try:
        with urllib.request.urlopen(f"{endpoint_url}/_health", timeout=3) as response:
            boot_id = json.loads(response.read()).get("boot_id")
    except (OSError, ValueError, AttributeError):
        return None
    return boot_id if isinstance(boot_id, str) and boot_id else None


def holds_objects(record: BucketRecord) -> bool:
    return any(entry.in_s3 for entry in record.objects.values())


def restart_reason(manifest: Manifest, buckets: dict[str, str | None], boot_id: str | None) -> str | None:
    """Why we believe Moto restarted since the last pass, or None.

    With our gateway the boot id says it for sure. Elsewhere: every bucket that held objects is missing
    or was created anew (a single missing bucket is more likely a user's deletion than a restart).
    """
    if boot_id and manifest.boot_id:
        return f"Moto's boot id changed ({manifest.boot_id[:8]} -> {boot_id[:8]})" if boot_id != manifest.boot_id else None
    known = {name: record for name, record in manifest.buckets.items() if holds_objects(record)}
    if not known:
        return None
    renewed = [
        name
        for name, record in known.items()
        if name not in buckets or record.gone or record.created not in (None, buckets[name])
    ]
    if len(renewed) == len(known):
        return f"all {len(known)} bucket(s) the mirror holds are missing or new in S3"
    return None


def objects_to_restore(
    record: BucketRecord, keys_in_s3: set[str], sizes_on_disk: dict[str, int | None]
) -> list[tuple[str, Entry]]:
    """Objects that were in S3 at the last pass, are not now, and whose file is intact in the mirror."""
    return [
        (key, entry)
        for key, entry in sorted(record.objects.items())
        if entry.in_s3 and key not in keys_in_s3 and sizes_on_disk.get(entry.path) == entry.size
    ]


@dataclass
class RestoreProgress:
    objects_total: int = 0
    objects_done: int = 0
    bytes_total: int = 0
    bytes_done: int = 0
    buckets_created: int = 0
    errors: int = 0
    started: float = 0.0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": round(self.seconds, 3)}


class Restore:
    """One restore: create missing buckets (region and CORS as recorded), then upload missing objects."""

    def __init__(
        self,
        client: Any,
        root: Path,
        pool: ThreadPoolExecutor,
        settings: AwsSettings,
        stop: threading.Event,
        on_progress: Callable[[RestoreProgress], None] = lambda _progress: None,
    ) -> None:
        self.client = client
        self.root = root
        self.pool = pool
        self.settings = settings
        self._regional_clients: dict[str, Any] = {settings.aws_region: client}
        self.stop = stop
        self.on_progress = on_progress
        self.progress = RestoreProgress()
        self._lock = threading.Lock()
        self._last_report = 0.0

    def run(
        self,
        manifest: Manifest,
        buckets: dict[str, str | None],
        list_objects: Callable[[str], dict[str, RemoteObject]],
    ) -> tuple[dict[str, dict[str, Entry]], dict[str, dict[str, RemoteObject]]]:
        """Restore every bucket of `manifest`.

        Returns, per bucket, the entries whose ETag changed, and what S3 holds after the restore (the
        listing taken before it plus what it uploaded), so the pass that follows need not list again.
        """
        self.progress = RestoreProgress(started=time.monotonic())
        work: list[tuple[str, str, Entry]] = []
        listings: dict[str, dict[str, RemoteObject]] = {}
        for name, record in sorted(manifest.buckets.items()):
            if name not in buckets and not self._create_bucket(name, record):
                continue
            if record.cors and not self._has_cors(name):
                self._put_cors(name, record.cors)
            try:
                listings[name] = list_objects(name)
            except Exception as exc:  # noqa: BLE001 (that bucket waits for the next restore)
                self.progress.errors += 1
                log.error("restore: cannot list %s: %s", name, describe_error(exc))
                continue
            bucket_dir = self.root / name
            sizes = {entry.path: local_size(bucket_dir / entry.path) for entry in record.objects.values()}
            work += [(name, key, entry) for key, entry in objects_to_restore(record, set(listings[name]), sizes)]
        self.progress.objects_total = len(work)
        self.progress.bytes_total = sum(entry.size for _, _, entry in work)
        log.info(
            "restore: uploading %d object(s) (%s) from the mirror", len(work), human_bytes(self.progress.bytes_total)
        )
        futures = [(bucket, key, self.pool.submit(self._upload, bucket, key, entry)) for bucket, key, entry in work]
        updated: dict[str, dict[str, Entry]] = {}
        for bucket, key, future in futures:
            try:
                entry = future.result()
            except Exception as exc:  # noqa: BLE001 (one object's failure must not stop the others)
                with self._lock:
                    self.progress.errors += 1
                log.error("restore: cannot upload %s/%s: %s", bucket, printable(key), describe_error(exc))
                continue
            if entry is not None:
                updated.setdefault(bucket, {})[key] = entry
                listings[bucket][key] = RemoteObject(key, entry.etag, entry.size)
        self.progress.seconds = time.monotonic() - self.progress.started
        self._report(force=True)
        return updated, listings

    def _create_bucket(self, name: str, record: BucketRecord) -> bool:
        region = record.region or self.settings.aws_region
        if region not in self._regional_clients:
            self._regional_clients[region] = make_s3_client(self.settings.model_copy(update={"aws_region": region}))
        try:
            create_bucket_if_missing(self._regional_clients[region], name, region)
        except ClientError as exc:
            self.progress.errors += 1
            log.error("restore: cannot create bucket %s: %s", name, describe_error(exc))
            return False
        self.progress.buckets_created += 1
        log.info("restore: created bucket %s (region %s)", name, region)
        return True

    def _has_cors(self, name: str) -> bool:
        try:
            call_with_retries(lambda: self.client.get_bucket_cors(Bucket=name))
            return True
        except ClientError:
            return False

    def _put_cors(self, name: str, rules: list[dict[str, Any]]) -> None:
        try:
            call_with_retries(
                lambda: self.client.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
            )
            log.info("restore: put back the CORS rules of %s", name)
        except ClientError as exc:
            self.progress.errors += 1
            log.error("restore: cannot put the CORS rules of %s: %s", name, describe_error(exc))

    def _upload(self, bucket: str, key: str, entry: Entry) -> Entry | None:
        if self.stop.is_set():
            return None
        path = self.root / bucket / entry.path
        headers = {name: value for name, value in entry.headers.items() if value}
        if entry.size > MULTIPART_THRESHOLD:
            call_with_retries(lambda: self.client.upload_file(str(path), bucket, key, ExtraArgs=headers))
            etag = call_with_retries(lambda: self.client.head_object(Bucket=bucket, Key=key))["ETag"]
        else:

            def put() -> str:
                with open(path, "rb") as body:
                    return self.client.put_object(Bucket=bucket, Key=key, Body=body, **headers)["ETag"]

            etag = call_with_retries(put)
        with self._lock:
            self.progress.objects_done += 1
            self.progress.bytes_done += entry.size
        self._report()
        return replace(entry, etag=etag)

    def _report(self, force: bool = False) -> None:
        now = time.monotonic()
        with self._lock:
            if not force and now - self._last_report < PROGRESS_EVERY:
                return
            self._last_report = now
            progress = self.progress
            progress.seconds = now - progress.started
            rate = progress.objects_done / progress.seconds if progress.seconds > 0 else 0.0
        log.info(
            "restore: %d/%d object(s), %s of %s, %.0f object(s)/s%s",
            progress.objects_done,
            progress.objects_total,
            human_bytes(progress.bytes_done),
            human_bytes(progress.bytes_total),
            rate,
            f", {progress.errors} error(s)" if progress.errors else "",
        )
        self.on_progress(progress)
