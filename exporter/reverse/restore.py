"""Durable Moto: when Moto comes back empty, put the mirror's buckets and objects back into it.

The decision (did Moto restart? what is missing?) is pure; `restore` does the uploads in the exporter's
bounded pool, or, when the endpoint advertises the gateway's bulk API, streams them in a few imports
(exporter/bulk.py). A restore only ever creates: it deletes nothing on either side and leaves every
object that already exists in S3 alone.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from collections import deque
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures import wait as futures_wait
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from common.bulk_tar import BucketEntry
from common.s3 import call_with_retries, create_bucket_if_missing, describe_error, error_code, make_s3_client
from common.settings import AwsSettings
from exporter.bulk import BulkError
from exporter.logtext import human_bytes, printable
from exporter.manifest import BucketRecord, Entry
from exporter.reverse.bulk_import import FileToImport, ImportResult, import_files
from exporter.store import ManifestStore

log = logging.getLogger("exporter.restore")

MULTIPART_THRESHOLD = 64 * 1024 * 1024
PROGRESS_EVERY = 2.0
"""Seconds between progress lines in the log."""
STATUS_EVERY = 0.2
"""Seconds between progress updates of /status (cheap: no log line), so a short restore is seen too."""
BULK_BATCH_OBJECTS = 1000
"""Objects per bulk import: progress is reported, and a new Moto noticed, between batches."""
BULK_IMPORTS_IN_FLIGHT = 2
"""Imports sent at once: the gateway stores one batch while the next is read from disk and sent (the
gateway takes them one at a time), so the two processes work side by side instead of taking turns."""


def restart_reason(
    stored_boot_id: str | None,
    records: dict[str, BucketRecord],
    holding: set[str],
    buckets: dict[str, str | None],
    boot_id: str | None,
) -> str | None:
    """Why we believe Moto restarted since the last pass, or None.

    With our gateway the boot id says it for sure. Elsewhere: every bucket that held objects (`holding`)
    is missing or was created anew (a single missing bucket is more likely a user's deletion than a restart).
    """
    if boot_id and stored_boot_id:
        if boot_id != stored_boot_id:
            return f"Moto's boot id changed ({stored_boot_id[:8]} -> {boot_id[:8]})"
        return None
    known = {name: record for name, record in records.items() if name in holding}
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
    entries: Iterable[tuple[str, Entry]], keys_in_s3: set[str], size_on_disk: Callable[[str], int | None]
) -> Iterator[tuple[str, Entry]]:
    """Objects that were in S3 at the last pass, are not now, and whose file is intact in the mirror."""
    for key, entry in entries:
        if entry.in_s3 and key not in keys_in_s3 and size_on_disk(entry.path) == entry.size:
            yield key, entry


def file_size(folder: str, path: str) -> int | None:
    """The size of the regular file `folder/path`, or None (exporter.files.local_size on strings: a restore
    checks every file of the mirror, and pathlib's joins were a third of its time, profiled)."""
    try:
        info = os.stat(f"{folder}/{path}")
    except (OSError, ValueError):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


class RestoreAborted(Exception):
    """Moto went away (a new boot id, or the bucket vanished) during the restore: start over."""


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
        submit: Callable[..., Future],
        settings: AwsSettings,
        stop: threading.Event,
        on_progress: Callable[[RestoreProgress], None] = lambda _progress: None,
        bulk: tuple[str, dict] | None = None,
    ) -> None:
        self.client = client
        self.bulk = bulk
        """(endpoint, capability) when the endpoint has the gateway's bulk API, else None."""
        self.root = root
        self.submit = submit
        self.settings = settings
        self._regional_clients: dict[str, Any] = {settings.aws_region: client}
        self.stop = stop
        self.on_progress = on_progress
        self.progress = RestoreProgress()
        self.aborted: str | None = None
        self._lock = threading.Lock()
        self._last_report = 0.0
        self._last_status = 0.0

    def run(
        self,
        store: ManifestStore,
        buckets: dict[str, str | None],
        list_keys: Callable[[str], set[str]],
        moto_changed: Callable[[], bool] = lambda: False,
    ) -> dict[str, dict[str, Entry]]:
        """Restore every bucket the store knows; returns, per bucket, the entries whose ETag changed.

        Raises RestoreAborted as soon as `moto_changed()` (checked about every second) or a NoSuchBucket
        answer shows that this Moto is not the one being restored: the caller starts over at once.
        """
        self.progress = RestoreProgress(started=time.monotonic())
        self.aborted = None
        work: list[tuple[str, str, Entry]] = []
        for name, record in sorted(store.buckets().items()):
            if name not in buckets and not self._create_bucket(name, record):
                continue
            if record.cors and not self._has_cors(name):
                self._put_cors(name, record.cors)
            try:
                keys = list_keys(name)
            except Exception as exc:  # noqa: BLE001 (that bucket waits for the next restore)
                self.progress.errors += 1
                log.error("restore: cannot list %s: %s", name, describe_error(exc))
                continue
            bucket_dir = os.path.join(self.root, name)
            work += [(name, key, entry) for key, entry in
                     objects_to_restore(store.entries(name), keys, lambda path: file_size(bucket_dir, path))]
        self.progress.objects_total = len(work)
        self.progress.bytes_total = sum(entry.size for _, _, entry in work)
        log.info(
            "restore: uploading %d object(s) (%s) from the mirror%s", len(work), human_bytes(self.progress.bytes_total),
            " through the bulk API" if self.bulk and work else "",
        )
        updated: dict[str, dict[str, Entry]] = {}
        if self.bulk and work:
            records = store.buckets()
            work = self._import_in_bulk(work, records, updated, moto_changed)
        futures = [(bucket, key, self.submit(self._upload, bucket, key, entry)) for bucket, key, entry in work]
        last_check = time.monotonic()
        for bucket, key, future in futures:
            while True:
                try:
                    entry = future.result(timeout=0.5)
                except FutureTimeout:
                    entry = None
                except RestoreAborted:
                    break
                except Exception as exc:  # noqa: BLE001 (one object's failure must not stop the others)
                    with self._lock:
                        self.progress.errors += 1
                    log.error("restore: cannot upload %s/%s: %s", bucket, printable(key), describe_error(exc))
                    break
                else:
                    if entry is not None:
                        updated.setdefault(bucket, {})[key] = entry
                    break
                finally:
                    if time.monotonic() - last_check >= 1.0 and self.aborted is None:
                        last_check = time.monotonic()
                        if moto_changed():
                            self.aborted = "Moto restarted again"
                if self.aborted:
                    break
            if self.aborted:
                break
        if self.aborted:
            for _bucket, _key, future in futures:
                future.cancel()
            self.progress.seconds = time.monotonic() - self.progress.started
            raise RestoreAborted(self.aborted)
        self.progress.seconds = time.monotonic() - self.progress.started
        self._report(force=True)
        return updated

    def _import_in_bulk(
        self,
        work: list[tuple[str, str, Entry]],
        records: dict[str, BucketRecord],
        updated: dict[str, dict[str, Entry]],
        moto_changed: Callable[[], bool],
    ) -> list[tuple[str, str, Entry]]:
        """Streams `work` in batches through the bulk import, BULK_IMPORTS_IN_FLIGHT at a time; returns what
        is left for the S3 API (the batches that failed and those not sent after a failure). Raises
        RestoreAborted like `run`."""
        endpoint, cap = self.bulk
        root = str(self.root)

        def send(batch: list[tuple[str, str, Entry]]) -> Future:
            names = sorted({bucket for bucket, _, _ in batch})
            buckets = [BucketEntry(name, records[name].region, records[name].cors) if name in records
                       else BucketEntry(name) for name in names]
            files = [FileToImport(bucket, key, f"{root}/{bucket}/{entry.path}", entry.size, entry.headers)
                     for bucket, key, entry in batch]
            return self.submit(import_files, endpoint, cap, files, buckets)

        batches = [work[start : start + BULK_BATCH_OBJECTS] for start in range(0, len(work), BULK_BATCH_OBJECTS)]
        in_flight: deque[tuple[list, Future]] = deque()
        left: list[tuple[str, str, Entry]] = []
        upcoming = iter(batches)
        try:
            while True:
                while len(in_flight) < BULK_IMPORTS_IN_FLIGHT and not left and not self.stop.is_set():
                    batch = next(upcoming, None)
                    if batch is None:
                        break
                    in_flight.append((batch, send(batch)))
                if not in_flight:
                    break
                batch, future = in_flight.popleft()
                try:
                    result = future.result()
                except BulkError as exc:
                    if not left:
                        log.warning("restore: the bulk import failed (%s); uploading the rest through the S3 API",
                                    exc)
                    left += batch
                    continue
                self._account(batch, result, updated)
                if moto_changed():
                    self.aborted = "Moto restarted again"
                    self.progress.seconds = time.monotonic() - self.progress.started
                    raise RestoreAborted(self.aborted)
        finally:
            for _batch, future in in_flight:  # aborted: the imports already sent finish, unused
                if not future.cancel():
                    futures_wait([future])
        if left:
            left += [item for batch in upcoming for item in batch]
        return [] if self.stop.is_set() else left

    def _account(self, batch: list[tuple[str, str, Entry]], result: ImportResult,
                 updated: dict[str, dict[str, Entry]]) -> None:
        for bucket, key, why in result.unreadable:
            self.progress.errors += 1
            log.error("restore: cannot read the mirror's file of %s/%s: %s", bucket, printable(key), why)
        for message in result.summary.get("errors", []):
            log.error("restore: the bulk import refused %s", message)
        self.progress.errors += int(result.summary.get("error_count", 0))
        for bucket, key, entry in batch:
            etag = result.etags.get((bucket, key))
            if etag is not None:  # Entry(...), not dataclasses.replace: ten times cheaper, 10,000s of times
                updated.setdefault(bucket, {})[key] = Entry(entry.path, etag, entry.size, entry.in_s3, entry.headers)
                self.progress.objects_done += 1
                self.progress.bytes_done += entry.size
        self._report()

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
        if self.stop.is_set() or self.aborted:
            return None
        try:
            return self._put(bucket, key, entry)
        except ClientError as exc:
            if error_code(exc) == "NoSuchBucket":
                self.aborted = f"bucket {bucket} vanished"
                raise RestoreAborted(self.aborted) from None
            raise

    def _put(self, bucket: str, key: str, entry: Entry) -> Entry | None:
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
            if not force and now - self._last_status < STATUS_EVERY:
                return
            self._last_status = now
            write_log = force or now - self._last_report >= PROGRESS_EVERY
            if write_log:
                self._last_report = now
            progress = self.progress
            progress.seconds = now - progress.started
            rate = progress.objects_done / progress.seconds if progress.seconds > 0 else 0.0
        if not write_log:
            self.on_progress(progress)
            return
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
