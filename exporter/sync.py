"""The full pass and the change batch: the exporter's shell, composing one part per job.

* `source.S3Source` says what S3 holds (buckets, listing pages, bucket settings);
* `reverse.restart.Recovery` puts the mirror back into a Moto that restarted, before anything is synced;
* a full pass streams each bucket's listing into the manifest store (a temporary table) a page at a time,
  then marches listing and manifest side by side in key order (`march`): the keys that differ go to
* `apply.Applier`, the one place a change is decided (`plan`, pure), carried out (`transfer`) and
  recorded (`store`). A change-feed batch goes there directly: its cost is that of the changed keys.

Deletes wait only for a complete listing (rclone's rule): one file that cannot be written does not hold
back the others or any delete. A path the mirror did not create is never overwritten or deleted: the
object that needs it is reported as blocked (`problems`) and retried about every second.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from common.s3 import describe_error
from exporter.apply import Applier
from exporter.crash_repair import repair
from exporter.endpoint import EndpointKind
from exporter.feed import GatewayClient, boot_id_of
from exporter.logtext import human_bytes
from exporter.manifest import BucketRecord
from exporter.march import march
from exporter.plan import RemoteObject
from exporter.problems import Problems
from exporter.reverse.restart import Recovery
from exporter.reverse.restore import RestoreProgress
from exporter.settings import ExporterSettings
from exporter.source import S3Source
from exporter.status import PassStats, Status
from exporter.store import ManifestStore
from exporter.transfer import Transfers

log = logging.getLogger("exporter")


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
        self.source = S3Source(client, settings.aws_endpoint_url)
        self.problems = Problems()
        self.applier = Applier(self.root, self.store, self.transfers, self.source, self.problems)
        self.recovery = Recovery(settings, client, self.root, self.store, self.source, self.transfers.submit, stop,
                                 status, self.gateway, self.on_moto)
        self._gone_warned: set[str] = set()
        self.objects_seen = 0
        """Objects mirrored: counted by each full pass, kept current by each change batch (never by counting
        the bucket again)."""
        repair(self.root, self.store)

    def close(self) -> None:
        self.transfers.close()
        self.store.close()

    @property
    def bulk(self) -> dict | None:
        """The gateway's bulk API as /_health advertises it (refreshed each full pass), else None."""
        return self.source.bulk

    @property
    def last_restore(self) -> RestoreProgress | None:
        return self.recovery.last_restore

    @property
    def restore_aborted(self) -> bool:
        return self.recovery.aborted

    @property
    def known_buckets(self) -> set[str]:
        return {name for name, record in self.store.buckets().items() if not record.gone}

    # -- one full pass -------------------------------------------------------------------------------

    def run_pass(self) -> PassStats:
        """One full reconciliation. Raises only when S3 cannot even list its buckets."""
        stats = PassStats()
        started = time.monotonic()
        buckets = self.source.buckets()
        health = self.gateway.health() if self.gateway else None
        boot_id = boot_id_of(health)
        if self.settings.bulk_transfers:
            self.source.learn_bulk(health)
        recovered = self.recovery.recover(buckets, self.store.buckets(), boot_id, stats)
        if recovered is None:
            stats.complete = False
            stats.duration = time.monotonic() - started
            return stats
        buckets, records = recovered
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
                self.store.set_synced_boot_id(boot_id)
        if stats.complete:
            self.store.fresh = False
            self.objects_seen = stats.objects
        stats.duration = time.monotonic() - started
        log_summary(stats)
        return stats

    def _sync_bucket(self, name: str, created: str | None, record: BucketRecord, stats: PassStats) -> None:
        recreated = record.created not in (None, created) or record.gone
        if recreated and self.store.count(name):
            log.warning(
                "bucket %s was created anew in S3 (did Moto restart?): none of its local file(s) will be "
                "deleted because of that; files whose objects are missing are kept", name)
        (self.root / name).mkdir(exist_ok=True)
        listing = self.store.new_listing(name)
        try:
            with self.store.transaction():
                for page in self.source.pages(name):
                    listing.add(page)
                    stats.objects += len(page)
                    stats.bytes += sum(size for _key, _etag, size in page)
        except Exception as exc:  # noqa: BLE001 (any failure: this bucket waits for the next pass)
            log.error("cannot list bucket %s: %s", name, describe_error(exc))
            stats.errors += 1
            stats.complete = False
            return
        stats.buckets += 1
        region, cors = self.source.settings(name, created, record)
        with self.store.transaction():
            self.store.put_bucket(name, BucketRecord(created=created, region=region, cors=cors))
        delete_sync = self.settings.delete_sync and not recreated
        for updates in march(listing, self.root / name):
            if updates:
                self.objects_seen += self.applier.sync_keys(name, updates, stats, delete_sync=delete_sync,
                                                            listing=listing)
            if self.stop.is_set():
                stats.complete = False
                return
        listing.clear()

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
        heads = {item: self.transfers.submit(self.transfers.head, *item) for item in unknown}
        for (bucket, key), future in heads.items():
            changes[bucket][key] = future.result()
        for bucket, keys in sorted(changes.items()):
            self.objects_seen += self.applier.sync_keys(bucket, keys, stats, delete_sync=self.settings.delete_sync,
                                                        listing=None)
        stats.objects = self.objects_seen
        stats.duration = time.monotonic() - started
        log_summary(stats)
        return stats

    def retry_problems(self) -> PassStats | None:
        """Try the objects that could not be written again (a blocked path may be free, the disk no longer full)."""
        if not self.problems:
            return None
        changes = self.problems.changes_to_retry(self.known_buckets)
        return self.sync_changes(changes) if changes else None


def log_summary(stats: PassStats) -> None:
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
