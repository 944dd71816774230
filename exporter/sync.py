"""The imperative shell: list S3 (or take the change feed's word), let `plan` decide, let `transfer` act,
record the outcome in the manifest store.

Both a full pass and a change-feed batch end in `_sync_keys`: the keys that differ, their entries and
those of the folders above them go through `plan_changes`, whose cost is that of the changed keys. A full
pass streams each bucket's listing into the store (a temporary table) a page at a time, then walks
listing and manifest side by side in key order, a page at a time: memory does not grow with the bucket.

Deletes wait only for a complete listing (rclone's rule): one file that cannot be written does not hold
back the others or any delete. A path the mirror did not create is never overwritten or deleted: the
object that needs it is reported as blocked and retried about every second.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from common.s3 import call_with_retries, describe_error, error_code
from exporter.bulk import advertised_bulk
from exporter.bulk import list_pages as bulk_list_pages
from exporter.feed import GatewayClient, boot_id_of
from exporter.files import Cancelled, local_size, remove_file_and_empty_parents, remove_stale_temp_files
from exporter.logtext import human_bytes, printable
from exporter.endpoint import EndpointKind
from exporter.manifest import BucketRecord, Entry
from exporter.naming import folder_prefixes, is_own_path, is_valid_bucket_name
from exporter.plan import BucketPlan, RemoteObject, keys_to_rename, plan_changes
from exporter.restore import Restore, RestoreAborted, RestoreProgress, restart_reason
from exporter.settings import ExporterSettings
from exporter.status import PassStats, Status
from exporter.store import Intent, ManifestStore
from exporter.transfer import Blocked, DownloadResult, Transfers, crash_point

log = logging.getLogger("exporter")

BULK_MIN_DOWNLOADS = 16
"""From this many downloads in one bucket's batch on, one bulk export beats parallel GETs."""


@dataclass(frozen=True)
class Problem:
    """An object the mirror could not bring in step: retried about every second until it is."""

    bucket: str
    key: str
    path: str
    reason: str
    blocked: bool
    remote: RemoteObject | None


def creation_stamp(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


class Exporter:
    """Owns the mirror folder and its manifest store; `run_pass` makes the mirror equal to S3 once,
    `sync_changes` brings the keys the change feed named in step."""

    def __init__(
        self,
        settings: ExporterSettings,
        client: Any,
        stop: threading.Event,
        status: Status | None = None,
        gateway: GatewayClient | None = None,
        endpoint_kind: EndpointKind | None = None,
    ) -> None:
        self.settings = settings
        self.on_moto = endpoint_kind is None or endpoint_kind.is_moto
        """Moto, whose restarts empty it (a restore applies) and whose gateway may have a feed; an endpoint
        not probed (None) is treated as Moto. Any other S3 is only mirrored, never restored into."""
        self.status = status
        self.client = client
        self.stop = stop
        self.gateway = (
            gateway or (GatewayClient(settings.aws_endpoint_url) if settings.aws_endpoint_url else None)
            if self.on_moto
            else None
        )
        self.root = Path(settings.export_dir)
        self.root.mkdir(parents=True, exist_ok=True)
        self.store = ManifestStore(self.root)
        self.transfers = Transfers(client, self.root, settings.export_concurrency, stop)
        self.pool = self.transfers.pool
        self.problems: dict[tuple[str, str], Problem] = {}
        self._gone_warned: set[str] = set()
        self._regions: dict[str, tuple[str | None, str]] = {}
        self.last_restore: RestoreProgress | None = None
        self._unrestored_reason: str | None = None
        self.restore_aborted = False
        self.bulk: dict | None = None
        """The gateway's bulk API as /_health advertises it (refreshed each full pass), else None."""
        self.objects_seen = 0
        """Objects mirrored: counted by each full pass, kept current by each change batch (never by counting
        the bucket again)."""
        self._repair()

    def close(self) -> None:
        self.transfers.close()
        self.store.close()

    @property
    def known_buckets(self) -> set[str]:
        return {name for name, record in self.store.buckets().items() if not record.gone}

    # -- repairs after a kill ----------------------------------------------------------------------------

    def _repair(self) -> None:
        """Temp files and paths created after their intent was recorded but before their result was."""
        removed = remove_stale_temp_files(self.root)
        if removed:
            log.info("removed %d unfinished temp file(s) left by an earlier run", removed)
        intents = self.store.intents()
        if not intents:
            return
        with self.store.transaction():
            for intent in intents:
                self._repair_intent(intent)
                self.store.clear_intents(intent.bucket, [intent.path])
        log.info("repaired %d path(s) an earlier run was creating when it stopped", len(intents))

    def _repair_intent(self, intent: Intent) -> None:
        bucket_dir = self.root / intent.bucket
        path = bucket_dir / intent.path
        owner = self.store.key_at(intent.bucket, intent.path)
        if owner is not None:
            entry = self.store.entry(intent.bucket, owner)
            if entry is not None:
                # The file may be a newer version than the entry says: make the next pass fetch it again.
                self.store.put_entries(intent.bucket, [(owner, replace(entry, etag=""))])
            return
        if local_size(path) is not None:
            remove_file_and_empty_parents(path, stop_at=bucket_dir)
            log.info("removed %s/%s: written by an earlier run that stopped before recording it",
                     intent.bucket, printable(intent.path))

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

    def list_pages(self, bucket: str):
        if self.bulk and isinstance(self.bulk.get("list"), str) and self.bulk["list"].startswith("/_"):
            yield from bulk_list_pages(self.settings.aws_endpoint_url, self.bulk, bucket)
            return
        kwargs: dict[str, Any] = {"Bucket": bucket, "MaxKeys": 1000}
        while True:
            page = call_with_retries(lambda: self.client.list_objects_v2(**kwargs))
            yield [(item["Key"], item.get("ETag", ""), int(item.get("Size", 0))) for item in page.get("Contents", [])]
            if not page.get("IsTruncated"):
                return
            kwargs["ContinuationToken"] = page["NextContinuationToken"]

    def list_keys(self, bucket: str) -> set[str]:
        return {key for page in self.list_pages(bucket) for key, _etag, _size in page}

    # -- one full pass -------------------------------------------------------------------------------

    def run_pass(self) -> PassStats:
        """One full reconciliation. Raises only when S3 cannot even list its buckets."""
        stats = PassStats()
        started = time.monotonic()
        buckets = self.list_buckets()
        health = self.gateway.health() if self.gateway else None
        boot_id = boot_id_of(health)
        if self.settings.bulk_transfers:
            self.bulk = advertised_bulk(health)
        records = self.store.buckets()
        reason = (
            restart_reason(self.store.boot_id, records, self.store.buckets_holding_objects(), buckets, boot_id)
            if self.on_moto
            else None
        )
        self.restore_aborted = False
        if reason and self.settings.restore_on_start:
            log.warning("Moto restarted (%s): restoring buckets and objects from the mirror", reason)
            if not self._restore(buckets, boot_id, stats):
                stats.complete = False
                stats.duration = time.monotonic() - started
                return stats
            buckets = self.list_buckets()
            with self.store.transaction():
                for name, record in records.items():
                    if name in buckets:
                        self.store.put_bucket(name, replace(record, created=buckets[name], gone=False))
            records = self.store.buckets()
        elif reason and reason != self._unrestored_reason:
            log.warning("Moto restarted (%s); RESTORE_ON_START is off, so nothing is restored", reason)
        self._unrestored_reason = reason
        self._warn_about_gone_buckets(records, buckets)
        for name, created in sorted(buckets.items()):
            if self.stop.is_set():
                stats.complete = False
                break
            record = records.get(name, BucketRecord())
            self._sync_bucket(name, created, record, stats)
        with self.store.transaction():
            for name, record in records.items():
                if name not in buckets and not record.gone:
                    self.store.put_bucket(name, replace(record, gone=True))
            if stats.complete:
                self.store.set_boot_id(boot_id)
        if stats.complete:
            self.store.fresh = False
        if stats.complete:
            self.objects_seen = stats.objects
        stats.duration = time.monotonic() - started
        self._log_summary(stats)
        return stats

    def _sync_bucket(self, name: str, created: str | None, record: BucketRecord, stats: PassStats) -> None:
        recreated = record.created not in (None, created) or record.gone
        if recreated and self.store.count(name):
            log.warning(
                "bucket %s was created anew in S3 (did Moto restart?): none of its local file(s) will be "
                "deleted because of that; files whose objects are missing are kept", name)
        (self.root / name).mkdir(exist_ok=True)
        try:
            with self.store.transaction():
                self.store.begin_listing()
                for page in self.list_pages(name):
                    self.store.add_listing(page)
                    stats.objects += len(page)
                    stats.bytes += sum(size for _key, _etag, size in page)
        except Exception as exc:  # noqa: BLE001 (any failure: this bucket waits for the next pass)
            log.error("cannot list bucket %s: %s", name, describe_error(exc))
            stats.errors += 1
            stats.complete = False
            return
        stats.buckets += 1
        region, cors = self._bucket_settings(name, created, record)
        with self.store.transaction():
            self.store.put_bucket(name, BucketRecord(created=created, region=region, cors=cors))
        delete_sync = self.settings.delete_sync and not recreated
        bucket_dir = self.root / name
        for rows in self.store.listing_diff_pages(name):
            updates: dict[str, RemoteObject | None] = {}
            for key, etag, size, path, known_etag, known_size, in_s3 in rows:
                on_disk = local_size(bucket_dir / path) if path is not None and is_own_path(key, path) else None
                if etag is None:
                    if path is not None and (in_s3 or on_disk is None):
                        updates[key] = None
                elif path is None or not in_s3 or on_disk != known_size or (known_etag, known_size) != (etag, size):
                    updates[key] = RemoteObject(key, etag, size)
            if updates:
                self._sync_keys(name, updates, stats, delete_sync=delete_sync, listing=True)
            if self.stop.is_set():
                stats.complete = False
                return
        self.store.end_listing()

    def _bucket_settings(self, bucket: str, created: str | None, record: BucketRecord):
        """Region (once per bucket) and CORS rules (every pass): what a restore needs besides objects."""
        known = self._regions.get(bucket)
        region = known[1] if known and known[0] == created else None
        try:
            if region is None:
                location = call_with_retries(lambda: self.client.get_bucket_location(Bucket=bucket))
                region = location.get("LocationConstraint") or "us-east-1"
                self._regions[bucket] = (created, region)
            try:
                cors = call_with_retries(lambda: self.client.get_bucket_cors(Bucket=bucket))["CORSRules"]
            except ClientError as exc:
                if error_code(exc) != "NoSuchCORSConfiguration":
                    raise
                cors = None
        except Exception as exc:  # noqa: BLE001 (keep what we knew; the next pass asks again)
            log.warning("cannot read the settings of bucket %s: %s", bucket, describe_error(exc))
            return record.region, record.cors
        return region, cors

    def _restore(self, buckets: dict[str, str | None], boot_id: str | None, stats: PassStats) -> bool:
        """Put the mirror back into an empty Moto: whether every bucket and object made it."""
        if self.status:
            self.status.set_state("restoring")
        bulk = (self.settings.aws_endpoint_url, self.bulk) if self.bulk else None
        restore = Restore(self.client, self.root, self.pool, self.settings, self.stop, bulk=bulk)
        if self.status:
            restore.on_progress = lambda progress: self.status.set_restore(progress.as_dict())

        def moto_changed() -> bool:
            """A different boot id, not an unanswered /_health (a slow gateway is not a restarted one)."""
            if not boot_id or self.gateway is None:
                return False
            now = self.gateway.boot_id()
            return now is not None and now != boot_id

        try:
            updated = restore.run(self.store, buckets, self.list_keys, moto_changed)
        except RestoreAborted as exc:
            log.warning("restore stopped after %d object(s): %s; starting over as soon as Moto answers",
                        restore.progress.objects_done, exc)
            self.restore_aborted = True
            self.last_restore = restore.progress
            return False
        with self.store.transaction():
            for name, entries in updated.items():
                self.store.put_entries(name, entries.items())
        stats.restored = restore.progress.objects_done
        stats.errors += restore.progress.errors
        if self.status:
            self.status.set_restore(restore.progress.as_dict())
            self.status.set_state("syncing")
        self.last_restore = restore.progress
        if restore.progress.errors:
            log.error("the restore had %d error(s): it runs again next pass; no sync until it succeeds",
                      restore.progress.errors)
        return restore.progress.errors == 0 and not self.stop.is_set()

    def _warn_about_gone_buckets(self, records: dict[str, BucketRecord], buckets: dict[str, str | None]) -> None:
        for name in records:
            if name in buckets:
                self._gone_warned.discard(name)
            elif name not in self._gone_warned and self.store.count(name):
                self._gone_warned.add(name)
                log.warning(
                    "bucket %s is gone from S3 (did Moto restart empty?): keeping its %d local file(s), "
                    "nothing is deleted for a missing bucket", name, self.store.count(name))

    # -- change-feed batches -------------------------------------------------------------------------

    def sync_changes(self, changes: dict[str, dict[str, RemoteObject | None | bool]]) -> PassStats:
        """Bring just these keys of known buckets in step: each maps to what S3 holds (None: deleted;
        False: unknown, ask S3). Every other file is trusted to be as the store says; the periodic full
        pass checks them all."""
        stats = PassStats(kind="changes")
        started = time.monotonic()
        unknown = [(bucket, key) for bucket, keys in changes.items() for key, remote in keys.items() if remote is False]
        heads = {item: self.pool.submit(self.transfers.head, *item) for item in unknown}
        for (bucket, key), future in heads.items():
            changes[bucket][key] = future.result()
        for bucket, keys in sorted(changes.items()):
            self._sync_keys(bucket, keys, stats, delete_sync=self.settings.delete_sync, listing=False)
        stats.objects = self.objects_seen
        stats.duration = time.monotonic() - started
        self._log_summary(stats)
        return stats

    def retry_problems(self) -> PassStats | None:
        """Try the objects that could not be written again (a blocked path may be free, the disk no longer full)."""
        if not self.problems:
            return None
        changes: dict[str, dict[str, RemoteObject | None | bool]] = {}
        for problem in self.problems.values():
            changes.setdefault(problem.bucket, {})[problem.key] = problem.remote if problem.remote else False
        known = self.known_buckets
        for bucket in list(changes):
            if bucket not in known:
                for key in changes.pop(bucket):
                    self.problems.pop((bucket, key), None)
        return self.sync_changes(changes) if changes else None

    # -- the one place a change is decided, carried out and recorded ---------------------------------

    def _sync_keys(
        self,
        bucket: str,
        updates: dict[str, RemoteObject | None],
        stats: PassStats,
        *,
        delete_sync: bool,
        listing: bool,
    ) -> None:
        plan, known = self._plan(bucket, keys_to_rename(updates), updates, delete_sync, listing)
        mirrored_before = sum(1 for key in updates if key in known and known[key].in_s3)
        self.store.add_intents(
            [Intent(bucket, move.new_path, move.key) for move in plan.moves]
            + [Intent(bucket, download.path, download.key) for download in plan.downloads]
        )
        crash_point("after-intent")
        planned = set(plan.entries) | {d.key for d in plan.downloads} | set(updates)
        self._apply_moves(bucket, plan, stats)
        vanished = {}
        for result in self._download_all(bucket, plan, stats):
            if result.entry is not None:
                plan.entries[result.key] = result.entry
            else:
                vanished[result.key] = None
        deleted = self._apply_deletes(bucket, plan, stats)
        with self.store.transaction():
            self._record(bucket, plan, planned)
        self.objects_seen += sum(1 for key in updates if key in plan.entries and plan.entries[key].in_s3)
        self.objects_seen -= mirrored_before
        for key in updates:
            if (bucket, key) in self.problems and not any(d.key == key for d in plan.downloads):
                self.problems.pop((bucket, key), None)
        if vanished:
            # Deleted in S3 after the decision (a put's event can arrive after the delete that followed it):
            # handled as the deletion it is, so the mirror does not keep an older file until the next pass.
            self._sync_keys(bucket, vanished, stats, delete_sync=delete_sync, listing=listing)
        if deleted:
            # A deleted key may have been all that kept a folder above it escaped: rename those back.
            above = {key for key in folder_prefixes(deleted)}
            after, _known = self._plan(bucket, above, {}, delete_sync, listing)
            if after.moves:
                self.store.add_intents([Intent(bucket, move.new_path, move.key) for move in after.moves])
                self._apply_moves(bucket, after, stats)
                with self.store.transaction():
                    self._record(bucket, after, set(after.entries))

    def _plan(self, bucket: str, keys: set[str], updates: dict[str, RemoteObject | None], delete_sync: bool,
              listing: bool) -> tuple[BucketPlan, dict[str, Entry]]:
        """The plan for `keys`, and their entries as they were."""
        entries: dict[str, Entry] = {}
        for key in keys:
            entry = self.store.entry(bucket, key)
            if entry is not None:
                entries[key] = entry
        bucket_dir = self.root / bucket
        sizes = {entry.path: local_size(bucket_dir / entry.path) for entry in entries.values()}

        def has_key_below(prefix: str) -> bool:
            return self.store.has_key_below(bucket, prefix) or (listing and self.store.listing_has_key_below(prefix))

        return plan_changes(updates, entries, sizes, has_key_below, delete_sync=delete_sync), entries

    def _record(self, bucket: str, plan: BucketPlan, planned: set[str]) -> None:
        self.store.put_entries(bucket, plan.entries.items())
        self.store.delete_entries(bucket, planned - plan.entries.keys())
        self.store.clear_intents(bucket, [m.new_path for m in plan.moves] + [d.path for d in plan.downloads])

    def _problem(self, bucket: str, key: str, path: str, reason: str, *, blocked: bool,
                 remote: RemoteObject | None) -> None:
        known = self.problems.get((bucket, key))
        self.problems[(bucket, key)] = Problem(bucket, key, path, reason, blocked, remote)
        if known is None or known.reason != reason:
            log.error("cannot write %s/%s (mirror path %s/%s): %s", bucket, printable(key), bucket,
                      printable(path), reason)

    def _apply_moves(self, bucket: str, plan: BucketPlan, stats: PassStats) -> None:
        for move in plan.moves:
            try:
                self.transfers.move(bucket, move)
            except (Blocked, OSError) as exc:
                blocked = isinstance(exc, Blocked)
                reason = blocked_reason(self.root, exc) if blocked else describe_write_error(exc)
                self._problem(bucket, move.key, move.new_path, reason, blocked=blocked, remote=None)
                if not blocked:
                    stats.errors += 1
                plan.entries[move.key] = replace(plan.entries[move.key], path=move.old_path)
                plan.downloads = [d for d in plan.downloads if d.key != move.key]
                continue
            stats.moves += 1
            log.info("moved %s/%s -> %s (naming rule)", bucket, printable(move.old_path), printable(move.new_path))

    def _download_all(self, bucket: str, plan: BucketPlan, stats: PassStats) -> list[DownloadResult]:
        futures: list[tuple[Any, Future[DownloadResult]]] = []
        owned = []
        for download in plan.downloads:
            entry = plan.entries.get(download.key)
            owned.append((download, self.store.fresh or (entry is not None and entry.path == download.path)))
        if self.bulk and len(owned) >= BULK_MIN_DOWNLOADS:
            outcomes, broke = self.transfers.bulk_download(self.settings.aws_endpoint_url, self.bulk, bucket, owned)
            if broke is not None:
                log.warning("bulk download from %s stopped (%s); fetching the rest one by one", bucket,
                            describe_error(broke))
            for download, _ours in owned:
                if download.key in outcomes:
                    futures.append((download, completed(outcomes[download.key])))
            owned = [(download, ours) for download, ours in owned if download.key not in outcomes]
        for download, ours in owned:
            futures.append((download, self.pool.submit(self.transfers.download, bucket, download, ours)))
        results = []
        for download, future in futures:
            try:
                result = future.result()
            except Cancelled:
                continue
            except Blocked as exc:
                self._problem(bucket, download.key, download.path, blocked_reason(self.root, exc), blocked=True,
                              remote=download.expected)
                continue
            except Exception as exc:  # noqa: BLE001 (one object's failure must not stop the others)
                stats.errors += 1
                self._problem(bucket, download.key, download.path, describe_write_error(exc), blocked=False,
                              remote=download.expected)
                continue
            results.append(result)
            self.problems.pop((bucket, download.key), None)
            if result.entry is not None:
                stats.downloads += 1
                stats.downloaded_bytes += result.entry.size
                log.info("downloaded %s/%s (%s)", bucket, printable(download.key), human_bytes(result.entry.size))
            else:
                log.info("skipped %s/%s: deleted in S3 meanwhile", bucket, printable(download.key))
        return results

    def _apply_deletes(self, bucket: str, plan: BucketPlan, stats: PassStats) -> list[str]:
        deleted = []
        for delete in plan.deletes:
            try:
                self.transfers.delete(bucket, delete.path)
            except OSError as exc:
                stats.errors += 1
                self._problem(bucket, delete.key, delete.path, describe_write_error(exc), blocked=False, remote=None)
                continue
            plan.entries.pop(delete.key, None)
            deleted.append(delete.key)
            stats.deletes += 1
            log.info("deleted %s/%s (object deleted in S3)", bucket, printable(delete.key))
        return deleted

    def _log_summary(self, stats: PassStats) -> None:
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
            logging.INFO if stats.changed else logging.DEBUG,
            "pass %s in %.2f s: %s; %d object(s) (%s) in %d bucket(s)",
            "done" if stats.complete else "incomplete",
            stats.duration,
            counts,
            stats.objects,
            human_bytes(stats.bytes),
            stats.buckets,
        )


def completed(outcome: DownloadResult | BaseException) -> Future[DownloadResult]:
    """A bulk download's outcome as a finished Future, so that one loop handles both kinds."""
    future: Future[DownloadResult] = Future()
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
    return future


def blocked_reason(root: Path, exc: Blocked) -> str:
    try:
        where = exc.path.relative_to(root).as_posix()
    except ValueError:
        where = str(exc.path)
    kind = "folder" if exc.path.is_dir() else "file"
    return f"a {kind} the exporter did not create is in the way ({printable(where)}); move it away to let this object in"


def describe_write_error(exc: BaseException) -> str:
    if isinstance(exc, IsADirectoryError):
        return "a folder is in the way"
    if isinstance(exc, NotADirectoryError):
        return "a file is in the way of a folder"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return describe_error(exc)
