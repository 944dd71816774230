"""The one place a change is decided, carried out and recorded (rclone's fs/sync stages after the march):
some keys of one bucket go through `plan_changes` (pure), then moves, downloads and deletes
(`transfer`), then one transaction of the manifest store. Its cost is that of the keys it is given.

A path about to be created is recorded as an intent first (committed), so a kill at any instant leaves
nothing the next start cannot repair (exporter/crash_repair.py).
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any

from common.s3 import describe_error
from exporter.files import Cancelled, local_size
from exporter.logtext import human_bytes, printable
from exporter.manifest import Entry
from exporter.naming import folder_prefixes
from exporter.plan import BucketPlan, RemoteObject, keys_to_rename, plan_changes
from exporter.problems import Problems, blocked_reason, describe_write_error
from exporter.source import S3Source
from exporter.status import PassStats
from exporter.store import Intent, Listing, ManifestStore
from exporter.transfer import Blocked, DownloadResult, Transfers, crash_point

log = logging.getLogger("exporter")

BULK_MIN_DOWNLOADS = 16
"""From this many downloads in one bucket's batch on, one bulk export beats parallel GETs."""


class Applier:
    def __init__(self, root: Path, store: ManifestStore, transfers: Transfers, source: S3Source,
                 problems: Problems) -> None:
        self.root = root
        self.store = store
        self.transfers = transfers
        self.source = source
        """Where the bulk capability of this pass is known (a bulk export replaces many GETs)."""
        self.problems = problems

    def sync_keys(
        self,
        bucket: str,
        updates: dict[str, RemoteObject | None],
        stats: PassStats,
        *,
        delete_sync: bool,
        listing: Listing | None,
    ) -> int:
        """Bring `updates` (key -> what S3 holds, None: not in S3) in step, with every key whose path they
        may change; `listing`: the bucket's listing when a full pass runs (its keys count for the naming
        rule before they are recorded). Returns by how many the objects mirrored grew (negative: shrank)."""
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
        grown = sum(1 for key in updates if key in plan.entries and plan.entries[key].in_s3) - mirrored_before
        downloading = {download.key for download in plan.downloads}
        for key in updates.keys() - downloading:
            self.problems.solved(bucket, key)
        if vanished:
            # Deleted in S3 after the decision (a put's event can arrive after the delete that followed it):
            # handled as the deletion it is, so the mirror does not keep an older file until the next pass.
            grown += self.sync_keys(bucket, vanished, stats, delete_sync=delete_sync, listing=listing)
        if deleted:
            # A deleted key may have been all that kept a folder above it escaped: rename those back.
            above = {key for key in folder_prefixes(deleted)}
            after, _known = self._plan(bucket, above, {}, delete_sync, listing)
            if after.moves:
                self.store.add_intents([Intent(bucket, move.new_path, move.key) for move in after.moves])
                self._apply_moves(bucket, after, stats)
                with self.store.transaction():
                    self._record(bucket, after, set(after.entries))
        return grown

    def _plan(self, bucket: str, keys: set[str], updates: dict[str, RemoteObject | None], delete_sync: bool,
              listing: Listing | None) -> tuple[BucketPlan, dict[str, Entry]]:
        """The plan for `keys`, and their entries as they were."""
        entries: dict[str, Entry] = {}
        for key in keys:
            entry = self.store.entry(bucket, key)
            if entry is not None:
                entries[key] = entry
        bucket_dir = self.root / bucket
        sizes = {entry.path: local_size(bucket_dir / entry.path) for entry in entries.values()}

        def has_key_below(prefix: str) -> bool:
            return self.store.has_key_below(bucket, prefix) or (listing is not None and listing.has_key_below(prefix))

        return plan_changes(updates, entries, sizes, has_key_below, delete_sync=delete_sync), entries

    def _record(self, bucket: str, plan: BucketPlan, planned: set[str]) -> None:
        self.store.put_entries(bucket, plan.entries.items())
        self.store.delete_entries(bucket, planned - plan.entries.keys())
        self.store.clear_intents(bucket, [m.new_path for m in plan.moves] + [d.path for d in plan.downloads])

    def _apply_moves(self, bucket: str, plan: BucketPlan, stats: PassStats) -> None:
        for move in plan.moves:
            try:
                self.transfers.move(bucket, move)
            except (Blocked, OSError) as exc:
                blocked = isinstance(exc, Blocked)
                reason = blocked_reason(self.root, exc) if blocked else describe_write_error(exc)
                self.problems.report(bucket, move.key, move.new_path, reason, blocked=blocked, remote=None)
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
        bulk = self.source.bulk
        if bulk and len(owned) >= BULK_MIN_DOWNLOADS:
            outcomes, broke = self.transfers.bulk_download(self.source.endpoint_url, bulk, bucket, owned)
            if broke is not None:
                log.warning("bulk download from %s stopped (%s); fetching the rest one by one", bucket,
                            describe_error(broke))
            for download, _ours in owned:
                if download.key in outcomes:
                    futures.append((download, outcomes[download.key]))
            owned = [(download, ours) for download, ours in owned if download.key not in outcomes]
        for download, ours in owned:
            futures.append((download, self.transfers.submit(self.transfers.download, bucket, download, ours)))
        results = []
        logging_each = log.isEnabledFor(logging.INFO)
        for download, outcome in futures:
            try:
                result = settled(outcome)
            except Cancelled:
                continue
            except Blocked as exc:
                self.problems.report(bucket, download.key, download.path, blocked_reason(self.root, exc),
                                     blocked=True, remote=download.expected)
                continue
            except Exception as exc:  # noqa: BLE001 (one object's failure must not stop the others)
                stats.errors += 1
                self.problems.report(bucket, download.key, download.path, describe_write_error(exc),
                                     blocked=False, remote=download.expected)
                continue
            results.append(result)
            self.problems.solved(bucket, download.key)
            if result.entry is not None:
                stats.downloads += 1
                stats.downloaded_bytes += result.entry.size
                if logging_each:
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
                self.problems.report(bucket, delete.key, delete.path, describe_write_error(exc), blocked=False,
                                     remote=None)
                continue
            plan.entries.pop(delete.key, None)
            deleted.append(delete.key)
            stats.deletes += 1
            log.info("deleted %s/%s (object deleted in S3)", bucket, printable(delete.key))
        return deleted


def settled(outcome: Future[DownloadResult] | DownloadResult | BaseException) -> DownloadResult:
    """A download's result, whether it ran in the pool (a Future) or in a bulk download (a result or an
    exception): one loop handles both kinds, without a Future per bulk object."""
    if isinstance(outcome, Future):
        return outcome.result()
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome
