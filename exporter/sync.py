"""The imperative shell of a pass: list S3, let `plan` decide, then move, download and delete files."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from common.s3 import call_with_retries, describe_error, is_not_found
from exporter.files import (
    Cancelled,
    atomic_write_chunks,
    local_size,
    remove_file_and_empty_parents,
    remove_stale_temp_files,
)
from exporter.logtext import human_bytes, printable
from exporter.manifest import BucketRecord, Entry, Manifest, load_manifest, manifest_path, save_manifest
from exporter.naming import is_valid_bucket_name
from exporter.plan import BucketPlan, Download, RemoteObject, plan_bucket
from exporter.endpoint import EndpointKind
from exporter.restore import Restore, RestoreProgress, fetch_boot_id, restart_reason
from exporter.settings import ExporterSettings
from exporter.status import PassStats, Status

log = logging.getLogger("exporter")

CHUNK_BYTES = 1024 * 1024
RESTORABLE_HEADERS = ("ContentType", "ContentEncoding", "CacheControl", "ContentDisposition", "ContentLanguage")


class IncompleteDownload(IOError):
    """The body ended before Content-Length bytes arrived."""


@dataclass(frozen=True)
class DownloadResult:
    bucket: str
    key: str
    entry: Entry | None
    """None when the object was deleted between the listing and the download: a file it had before stays
    in the manifest, so that the deletion is handled like any other (DELETE_SYNC decides)."""


def restorable_headers(response: dict[str, Any]) -> dict[str, Any]:
    """The headers a restore needs to put the object back as it was, named as put_object names them."""
    headers = {name: response[name] for name in RESTORABLE_HEADERS if response.get(name)}
    if response.get("Metadata"):
        headers["Metadata"] = dict(response["Metadata"])
    return headers


def creation_stamp(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


class Exporter:
    """Owns the mirror folder and its manifest; `run_pass` makes the mirror equal to S3 once."""

    def __init__(
        self,
        settings: ExporterSettings,
        client: Any,
        stop: threading.Event,
        status: Status | None = None,
        endpoint_kind: EndpointKind | None = None,
    ) -> None:
        self.settings = settings
        # None (not probed): behave as on Moto, asking for the boot id each pass.
        self.endpoint_kind = endpoint_kind
        self.status = status
        self.client = client
        self.stop = stop
        self.root = Path(settings.export_dir)
        self.root.mkdir(parents=True, exist_ok=True)
        removed = remove_stale_temp_files(self.root)
        if removed:
            log.info("removed %d unfinished temp file(s) left by an earlier run", removed)
        self.manifest: Manifest = load_manifest(self.root)
        self.pool = ThreadPoolExecutor(max_workers=settings.export_concurrency, thread_name_prefix="transfer")
        self._gone_warned: set[str] = set()
        self._bucket_settings: dict[str, dict[str, Any]] = {}
        self.last_restore: RestoreProgress | None = None
        self._unrestored_reason: str | None = None

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    # -- listing -------------------------------------------------------------------------------------

    def list_buckets(self) -> dict[str, str | None]:
        response = call_with_retries(self.client.list_buckets)
        buckets = {}
        for bucket in response.get("Buckets", []):
            name = bucket["Name"]
            if is_valid_bucket_name(name):
                buckets[name] = creation_stamp(bucket.get("CreationDate"))
            else:
                log.warning("skipping bucket %r: not a valid S3 bucket name, so not a safe folder name", name)
        return buckets

    def list_objects(self, bucket: str) -> dict[str, RemoteObject]:
        objects: dict[str, RemoteObject] = {}
        kwargs: dict[str, Any] = {"Bucket": bucket, "MaxKeys": 1000}
        while True:
            page = call_with_retries(lambda: self.client.list_objects_v2(**kwargs))
            for item in page.get("Contents", []):
                objects[item["Key"]] = RemoteObject(item["Key"], item.get("ETag", ""), int(item.get("Size", 0)))
            if not page.get("IsTruncated"):
                return objects
            kwargs["ContinuationToken"] = page["NextContinuationToken"]

    # -- one pass ------------------------------------------------------------------------------------

    def run_pass(self) -> PassStats:
        """One full reconciliation. Raises only when S3 cannot even list its buckets."""
        stats = PassStats()
        started = time.monotonic()
        buckets = self.list_buckets()
        on_moto = self.endpoint_kind is None or self.endpoint_kind.is_moto
        boot_id = fetch_boot_id(self.settings.aws_endpoint_url) if on_moto else None
        reason = restart_reason(self.manifest, buckets, boot_id) if on_moto else None
        listings: dict[str, dict[str, RemoteObject]] = {}
        if reason and self.settings.restore_on_start:
            log.warning("Moto restarted (%s): restoring buckets and objects from the mirror", reason)
            restored, listings = self._restore(buckets, stats)
            if not restored:
                log.error("the restore had %d error(s): it runs again next pass; no sync until it succeeds",
                          stats.errors)
                stats.complete = False
                stats.duration = time.monotonic() - started
                return stats
            buckets = self.list_buckets()
            for name, record in self.manifest.buckets.items():
                if name in buckets:
                    record.created, record.gone = buckets[name], False
        elif reason and reason != self._unrestored_reason:
            log.warning("Moto restarted (%s); RESTORE_ON_START is off, so nothing is restored", reason)
        self._unrestored_reason = reason
        self._warn_about_gone_buckets(buckets)
        plans: dict[str, BucketPlan] = {}
        for name, created in sorted(buckets.items()):
            try:
                remote = listings[name] if name in listings else self.list_objects(name)
            except Exception as exc:  # noqa: BLE001 (any failure: this bucket waits for the next pass)
                log.error("cannot list bucket %s: %s", name, describe_error(exc))
                stats.errors += 1
                stats.complete = False
                continue
            stats.buckets += 1
            stats.objects += len(remote)
            stats.bytes += sum(obj.size for obj in remote.values())
            plans[name] = self._plan(name, created, remote)
            self._refresh_bucket_settings(name, created)

        self._execute(plans, buckets, boot_id, stats, started)
        return stats

    def sync_changes(self, keys_by_bucket: dict[str, set[str]]) -> PassStats:
        """Bring just these keys of known buckets in step (they came from the change feed).

        Every other file is trusted to be as the manifest says; the periodic full pass checks them all.
        """
        stats = PassStats(kind="changes")
        started = time.monotonic()
        plans: dict[str, BucketPlan] = {}
        for bucket, keys in sorted(keys_by_bucket.items()):
            record = self.manifest.buckets[bucket]
            remote = {
                key: RemoteObject(key, entry.etag, entry.size)
                for key, entry in record.objects.items()
                if entry.in_s3 and key not in keys
            }
            for key in sorted(keys):
                try:
                    head = call_with_retries(lambda key=key: self.client.head_object(Bucket=bucket, Key=key))
                except ClientError as exc:
                    if is_not_found(exc):
                        continue
                    raise
                remote[key] = RemoteObject(key, head.get("ETag", ""), int(head.get("ContentLength", 0)))
            bucket_dir = self.root / bucket
            sizes = {
                entry.path: local_size(bucket_dir / entry.path) if key in keys else entry.size
                for key, entry in record.objects.items()
            }
            plans[bucket] = plan_bucket(remote, record.objects, sizes, delete_sync=self.settings.delete_sync)
        buckets = {name: record.created for name, record in self.manifest.buckets.items() if not record.gone}
        self._execute(plans, buckets, self.manifest.boot_id, stats, started)
        stats.objects = sum(len(record.objects) for record in self.manifest.buckets.values())
        return stats

    def _execute(
        self,
        plans: dict[str, BucketPlan],
        buckets: dict[str, str | None],
        boot_id: str | None,
        stats: PassStats,
        started: float,
    ) -> None:
        """Moves, then downloads in the pool, then (only after an error-free, complete pass) deletes."""
        for name, plan in plans.items():
            self._apply_moves(name, plan, stats)
        results = self._download_all(plans, stats)
        for result in results:
            if result.entry is not None:
                plans[result.bucket].entries[result.key] = result.entry
        if self.stop.is_set():
            stats.complete = False
        if stats.complete and not stats.errors:
            for name, plan in plans.items():
                self._apply_deletes(name, plan, stats)
        elif any(plan.deletes for plan in plans.values()):
            log.warning("not deleting anything this pass: it had errors or was interrupted")

        self._update_manifest(buckets, plans, boot_id)
        stats.duration = time.monotonic() - started
        self._log_summary(stats)

    def _plan(self, bucket: str, created: str | None, remote: dict[str, RemoteObject]) -> BucketPlan:
        record = self.manifest.buckets.get(bucket, BucketRecord())
        recreated = bool(record.objects) and (record.gone or record.created not in (None, created))
        if recreated:
            log.warning(
                "bucket %s was created anew in S3 (did Moto restart?): none of its %d local file(s) will be "
                "deleted because of that; files whose objects are missing are kept",
                bucket,
                len(record.objects),
            )
        bucket_dir = self.root / bucket
        bucket_dir.mkdir(exist_ok=True)
        sizes = {entry.path: local_size(bucket_dir / entry.path) for entry in record.objects.values()}
        return plan_bucket(
            remote, record.objects, sizes, delete_sync=self.settings.delete_sync and not recreated
        )

    def _refresh_bucket_settings(self, bucket: str, created: str | None) -> None:
        """Region (once per bucket) and CORS rules (every pass): what a restore needs besides objects."""
        known = self._bucket_settings.get(bucket)
        record = self.manifest.buckets.get(bucket, BucketRecord())
        region = known["region"] if known and known.get("created") == created else None
        try:
            if region is None:
                location = call_with_retries(lambda: self.client.get_bucket_location(Bucket=bucket))
                region = location.get("LocationConstraint") or "us-east-1"
            try:
                cors = call_with_retries(lambda: self.client.get_bucket_cors(Bucket=bucket))["CORSRules"]
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "NoSuchCORSConfiguration":
                    raise
                cors = None
        except Exception as exc:  # noqa: BLE001 (keep what we knew; the next pass asks again)
            log.warning("cannot read the settings of bucket %s: %s", bucket, describe_error(exc))
            region, cors = record.region, record.cors
        self._bucket_settings[bucket] = {"created": created, "region": region, "cors": cors}

    def _restore(
        self, buckets: dict[str, str | None], stats: PassStats
    ) -> tuple[bool, dict[str, dict[str, RemoteObject]]]:
        """Put the mirror back into an empty Moto: whether every bucket and object made it, and what S3
        holds now per restored bucket."""
        if self.status:
            self.status.set_state("restoring")
        restore = Restore(
            self.client,
            self.root,
            self.pool,
            self.settings,
            self.stop,
        )
        if self.status:
            restore.on_progress = lambda progress: self.status.set_restore(progress.as_dict())
        updated, listings = restore.run(self.manifest, buckets, self.list_objects)
        for name, entries in updated.items():
            self.manifest.buckets[name].objects.update(entries)
        stats.restored = restore.progress.objects_done
        stats.errors += restore.progress.errors
        if self.status:
            self.status.set_restore(restore.progress.as_dict())
            self.status.set_state("syncing")
        self.last_restore = restore.progress
        return restore.progress.errors == 0 and not self.stop.is_set(), listings

    def _warn_about_gone_buckets(self, buckets: dict[str, str | None]) -> None:
        for name, record in self.manifest.buckets.items():
            if name in buckets:
                self._gone_warned.discard(name)
            elif name not in self._gone_warned and record.objects:
                self._gone_warned.add(name)
                log.warning(
                    "bucket %s is gone from S3 (did Moto restart empty?): keeping its %d local file(s), "
                    "nothing is deleted for a missing bucket",
                    name,
                    len(record.objects),
                )

    # -- moves, downloads, deletes ---------------------------------------------------------------------

    def _apply_moves(self, bucket: str, plan: BucketPlan, stats: PassStats) -> None:
        bucket_dir = self.root / bucket
        for move in plan.moves:
            target = bucket_dir / move.new_path
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                (bucket_dir / move.old_path).replace(target)
                remove_file_and_empty_parents(bucket_dir / move.old_path, stop_at=bucket_dir)
            except OSError as exc:
                stats.errors += 1
                log.error("cannot move %s/%s to %s: %s", bucket, move.old_path, move.new_path, exc.strerror)
                plan.entries[move.key] = replace(plan.entries[move.key], path=move.old_path)
                plan.downloads = [d for d in plan.downloads if d.key != move.key]
                continue
            stats.moves += 1
            log.info("moved %s/%s -> %s (naming rule)", bucket, move.old_path, move.new_path)

    def _download_all(self, plans: dict[str, BucketPlan], stats: PassStats) -> list[DownloadResult]:
        futures: list[tuple[str, Download, Future[DownloadResult]]] = [
            (bucket, download, self.pool.submit(self._download, bucket, download))
            for bucket, plan in plans.items()
            for download in plan.downloads
        ]
        results = []
        for bucket, download, future in futures:
            try:
                result = future.result()
            except Cancelled:
                continue
            except Exception as exc:  # noqa: BLE001 (one object's failure must not stop the others)
                stats.errors += 1
                log.error("cannot download %s/%s: %s", bucket, printable(download.key), describe_write_error(exc))
                continue
            results.append(result)
            if result.entry is not None:
                stats.downloads += 1
                stats.downloaded_bytes += result.entry.size
        return results

    def _download(self, bucket: str, download: Download) -> DownloadResult:
        if self.stop.is_set():
            raise Cancelled(download.key)
        target = self.root / bucket / download.path

        def attempt() -> DownloadResult:
            try:
                response = self.client.get_object(Bucket=bucket, Key=download.key)
            except ClientError as exc:
                if is_not_found(exc):
                    log.info("skipped %s/%s: deleted while this pass ran", bucket, printable(download.key))
                    return DownloadResult(bucket, download.key, None)
                raise
            body = response["Body"]
            expected = int(response.get("ContentLength", -1))
            chunks = [body.read()] if 0 <= expected <= CHUNK_BYTES else body.iter_chunks(CHUNK_BYTES)
            try:
                written = atomic_write_chunks(target, chunks, should_stop=self.stop.is_set)
            finally:
                body.close()
            expected = written if expected < 0 else expected
            if written != expected:
                raise IncompleteDownload(f"got {written} of {expected} bytes")
            entry = Entry(
                path=download.path,
                etag=response.get("ETag", download.expected.etag),
                size=written,
                headers=restorable_headers(response),
            )
            log.info("downloaded %s/%s (%s)", bucket, printable(download.key), human_bytes(written))
            return DownloadResult(bucket, download.key, entry)

        return call_with_retries(attempt)

    def _apply_deletes(self, bucket: str, plan: BucketPlan, stats: PassStats) -> None:
        bucket_dir = self.root / bucket
        for delete in plan.deletes:
            try:
                remove_file_and_empty_parents(bucket_dir / delete.path, stop_at=bucket_dir)
            except OSError as exc:
                stats.errors += 1
                log.error("cannot delete %s/%s: %s", bucket, delete.path, exc.strerror)
                continue
            plan.entries.pop(delete.key, None)
            stats.deletes += 1
            log.info("deleted %s/%s (object deleted in S3)", bucket, printable(delete.key))

    # -- manifest and logs ---------------------------------------------------------------------------

    def _update_manifest(
        self, buckets: dict[str, str | None], plans: dict[str, BucketPlan], boot_id: str | None
    ) -> None:
        new = Manifest(
            buckets={
                name: record if name in buckets else replace(record, gone=True)
                for name, record in self.manifest.buckets.items()
            },
            boot_id=boot_id or self.manifest.boot_id,
        )
        for name, plan in plans.items():
            old = self.manifest.buckets.get(name, BucketRecord())
            settings = self._bucket_settings.get(name) or {"region": old.region, "cors": old.cors}
            new.buckets[name] = BucketRecord(
                created=buckets[name], objects=plan.entries, region=settings.get("region"), cors=settings.get("cors")
            )
        if new != self.manifest or not manifest_path(self.root).exists():
            save_manifest(self.root, new)
        self.manifest = new

    def _log_summary(self, stats: PassStats) -> None:
        level = logging.INFO if stats.changed else logging.DEBUG
        counts = (
            f"{stats.downloads} downloaded ({human_bytes(stats.downloaded_bytes)}), {stats.moves} moved, "
            f"{stats.deletes} deleted, {stats.restored} restored, {stats.errors} error(s)"
        )
        if stats.kind == "changes":
            # Each change already has its own line; the feed's small batches need no summary unless it failed.
            log.log(logging.WARNING if stats.errors else logging.DEBUG, "changes synced in %.2f s: %s",
                    stats.duration, counts)
            return
        log.log(
            level,
            "pass %s in %.2f s: %s; %d object(s) (%s) in %d bucket(s)",
            "done" if stats.complete else "incomplete",
            stats.duration,
            counts,
            stats.objects,
            human_bytes(stats.bytes),
            stats.buckets,
        )


def describe_write_error(exc: BaseException) -> str:
    if isinstance(exc, IsADirectoryError):
        return f"a folder is in the way ({exc.filename})"
    if isinstance(exc, NotADirectoryError):
        return f"a file is in the way of a folder ({exc.filename})"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror} ({exc.filename})" if exc.filename else exc.strerror
    return describe_error(exc)
