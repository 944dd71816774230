"""Durable Moto, the orchestration: at the start of a full pass, decide whether Moto restarted
(`restore.restart_reason`, pure) and, if so, put the mirror back into it (`restore.Restore`) before the
pass syncs anything; record what came back in the manifest store and in /status.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any

from exporter.feed import GatewayClient
from exporter.manifest import BucketRecord
from exporter.reverse.restore import Restore, RestoreAborted, RestoreProgress, restart_reason
from exporter.settings import ExporterSettings
from exporter.source import S3Source
from exporter.status import PassStats, Status
from exporter.store import ManifestStore

log = logging.getLogger("exporter")


class Recovery:
    def __init__(
        self,
        settings: ExporterSettings,
        client: Any,
        root: Path,
        store: ManifestStore,
        source: S3Source,
        submit: Callable[..., Future],
        stop: threading.Event,
        status: Status | None,
        gateway: GatewayClient | None,
        on_moto: bool,
    ) -> None:
        self.settings = settings
        self.client = client
        self.root = root
        self.store = store
        self.source = source
        self.submit = submit
        """Runs a piece of the restore in the exporter's bounded pool of transfers."""
        self.stop = stop
        self.status = status
        self.gateway = gateway
        self.on_moto = on_moto
        """Any other S3 is only mirrored, never restored into: a bucket gone there was deleted by its owner."""
        self.last_restore: RestoreProgress | None = None
        self.aborted = False
        """The last restore was cut short (Moto restarted again): the loop tries again within a second."""
        self._unrestored_reason: str | None = None

    def recover(
        self, buckets: dict[str, str | None], records: dict[str, BucketRecord], boot_id: str | None, stats: PassStats
    ) -> tuple[dict[str, str | None], dict[str, BucketRecord]] | None:
        """Restore when Moto restarted; the buckets and records the pass goes on with, or None when the
        restore did not fully succeed (the pass must not sync: it would take the gaps for deletions)."""
        reason = (
            restart_reason(self.store.synced_boot_id, records, self.store.buckets_holding_objects(), buckets, boot_id)
            if self.on_moto
            else None
        )
        self.aborted = False
        if reason and self.settings.restore_on_start:
            log.warning("Moto restarted (%s): restoring buckets and objects from the mirror", reason)
            if not self._restore(buckets, boot_id, stats):
                return None
            buckets = self.source.buckets()
            with self.store.transaction():
                for name, record in records.items():
                    if name in buckets:
                        self.store.put_bucket(name, replace(record, created=buckets[name], gone=False))
            records = self.store.buckets()
        elif reason and reason != self._unrestored_reason:
            log.warning("Moto restarted (%s); RESTORE_ON_START is off, so nothing is restored", reason)
        self._unrestored_reason = reason
        return buckets, records

    def _restore(self, buckets: dict[str, str | None], boot_id: str | None, stats: PassStats) -> bool:
        """Put the mirror back into an empty Moto: whether every bucket and object made it."""
        if self.status:
            self.status.set_state("restoring")
        bulk = (self.settings.aws_endpoint_url, self.source.bulk) if self.source.bulk else None
        restore = Restore(self.client, self.root, self.submit, self.settings, self.stop, bulk=bulk)
        if self.status:
            restore.on_progress = lambda progress: self.status.set_restore(progress.as_dict())

        def moto_changed() -> bool:
            """A different boot id, not an unanswered /_health (a slow gateway is not a restarted one)."""
            if not boot_id or self.gateway is None:
                return False
            now = self.gateway.current_boot_id()
            return now is not None and now != boot_id

        try:
            updated = restore.run(self.store, buckets, self.source.keys, moto_changed)
        except RestoreAborted as exc:
            log.warning("restore stopped after %d object(s): %s; starting over as soon as Moto answers",
                        restore.progress.objects_done, exc)
            self.aborted = True
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
