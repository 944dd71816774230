"""The exporter's main loop: full passes, and in between, the gateway's change feed when there is one.

With a feed: a full pass at start and every FEED_FULL_PASS_INTERVAL seconds (the backstop), and between
them a long poll that wakes as soon as something changes; a gap in the feed or a new boot id (Moto
restarted) asks for a full pass at once. Without a feed (and on any S3 that is not Moto): a full pass
every EXPORT_INTERVAL seconds.
Each long poll waits at most EXPORT_INTERVAL (and 20 s), so health stays fresh while nothing changes.
The long poll runs in a daemon thread so that SIGTERM stops the exporter at once, not when the poll ends.
While an object cannot be written (a blocked path, a full disk) or a restore was cut short, the loop
comes back about every second, so the mirror and its health recover within moments of the cause going.
"""

from __future__ import annotations

import logging
import threading
import time

from common.s3 import describe_error
from exporter.feed import FeedError, FeedPage, GatewayClient, batch_events, remote_from_event
from exporter.settings import ExporterSettings
from exporter.status import Status
from exporter.sync import Exporter

log = logging.getLogger("exporter")

FEED_WAIT_SECONDS = 20.0
FEED_RETRY_SECONDS = 1.0
RETRY_SECONDS = 1.0


class FeedReader:
    """One long poll at a time in a daemon thread; `wake` is set when it ends (or when the process stops)."""

    def __init__(self, client: GatewayClient, wake: threading.Event) -> None:
        self.client = client
        self.wake = wake

    def read(self, after: int, wait: float) -> FeedPage | None:
        """The page, None when there is no feed; raises FeedError. Returns early (None) once stopping."""
        outcome: dict[str, object] = {}

        def run() -> None:
            try:
                outcome["page"] = self.client.read(after, wait)
            except FeedError as exc:
                outcome["error"] = exc
            finally:
                outcome["done"] = True
                self.wake.set()

        self.wake.clear()
        threading.Thread(target=run, name="feed", daemon=True).start()
        self.wake.wait()
        if "error" in outcome:
            raise outcome["error"]  # type: ignore[misc]
        return outcome.get("page")  # type: ignore[return-value]


class SyncLoop:
    def __init__(
        self,
        exporter: Exporter,
        settings: ExporterSettings,
        status: Status,
        stop: threading.Event,
        wake: threading.Event,
    ) -> None:
        self.exporter = exporter
        self.settings = settings
        self.status = status
        self.stop = stop
        feed_possible = settings.change_feed and settings.aws_endpoint_url
        self.reader = FeedReader(exporter.gateway, wake) if feed_possible and exporter.gateway else None
        self.position: int | None = None
        """The last event of the feed applied or skipped (its `last_seq`); None: not following. Which Moto it
        counts the events of is the gateway client's business: it marks a page of another one `restarted`."""
        self.next_full_pass = 0.0
        self._feed_trouble = False
        self._following = False
        self._retry_soon = False

    def run(self) -> None:
        while not self.stop.is_set():
            if self.reader and self.position is None:
                self._find_position()
            if time.monotonic() >= self.next_full_pass:
                self._full_pass()
            if self.stop.is_set():
                break
            if self.position is None and self.reader is not None:
                continue  # the feed is in trouble: `_trouble` waited; look for it again
            if self.position is None:
                wait = max(0.0, self.next_full_pass - time.monotonic())
                self.stop.wait(min(wait, RETRY_SECONDS) if self.exporter.problems else wait)
                self._retry_problems()
            else:
                self._follow_once()

    def _find_position(self) -> None:
        """Where the feed stands now: read before a full pass, so no event during the pass is missed."""
        try:
            page = self.reader.read(after=0, wait=0)
        except FeedError as exc:
            self._trouble(exc)
            return
        if page is None:
            log.info("no change feed at %s: a full pass every %g s", self.settings.aws_endpoint_url,
                     self.settings.export_interval)
            self.reader = None
            return
        if not self._following or self._feed_trouble:
            log.info("following the change feed of %s (full pass every %g s as a backstop)",
                     self.settings.aws_endpoint_url, self.settings.feed_full_pass_interval)
        if page.restarted:
            log.info("change feed: Moto restarted, doing a full pass")
            self.next_full_pass = 0.0
        self._feed_trouble = False
        self._following = True
        self.position = page.last_seq

    def _follow_once(self) -> None:
        longest = min(FEED_WAIT_SECONDS, self.settings.export_interval)
        if self.exporter.problems:
            longest = min(longest, RETRY_SECONDS)
        wait = min(longest, max(0.0, self.next_full_pass - time.monotonic()))
        try:
            page = self.reader.read(after=self.position, wait=wait)
        except FeedError as exc:
            self._trouble(exc)
            return
        if self.stop.is_set():
            return
        if page is None:
            self.position = None
            return
        if page.restarted or page.gap:
            why = "Moto restarted" if page.restarted else "events were missed"
            log.info("change feed: %s, doing a full pass", why)
            self.position = page.last_seq
            self.next_full_pass = 0.0
            return
        batch = batch_events(page.events, self.exporter.known_buckets)
        if batch.full_pass_because:
            log.debug("change feed: %s, doing a full pass", batch.full_pass_because)
            self.position = page.last_seq
            self.next_full_pass = 0.0
            return
        if batch.latest:
            self.status.set_pending(batch.oldest, len(batch.latest))
            changes: dict[str, dict] = {}
            for (bucket, key), event in batch.latest.items():
                changes.setdefault(bucket, {})[key] = remote_from_event(event)
            try:
                stats = self.exporter.sync_changes(changes)
            except Exception as exc:  # noqa: BLE001 (a full pass will catch up)
                log.error("syncing changes failed: %s; doing a full pass", describe_error(exc))
                self.status.record_failure(describe_error(exc))
                self.next_full_pass = 0.0
                return
            finally:
                self.status.set_pending(None, 0)
            self.status.record_pass(stats)
            if stats.errors:
                self.next_full_pass = min(self.next_full_pass, time.monotonic() + self.settings.export_interval)
        else:
            self.status.mark_in_step()
        self.position = page.last_seq
        self._retry_problems()

    def _retry_problems(self) -> None:
        if not self.exporter.problems:
            return
        try:
            stats = self.exporter.retry_problems()
        except Exception as exc:  # noqa: BLE001 (tried again next time)
            log.debug("retry failed: %s", describe_error(exc))
            return
        finally:
            self.status.set_problems(self.exporter.problems.as_list())
        if stats is not None:
            self.status.record_pass(stats)

    def _trouble(self, exc: FeedError) -> None:
        if not self._feed_trouble:
            log.warning("%s; retrying", exc)
        self._feed_trouble = True
        self.position = None
        self.next_full_pass = min(self.next_full_pass, time.monotonic() + self.settings.export_interval)
        self.stop.wait(FEED_RETRY_SECONDS)

    def _full_pass(self) -> None:
        """A full pass; after a failed one the next comes after EXPORT_INTERVAL even while following a feed."""
        self.status.set_state("syncing")
        succeeded = False
        try:
            stats = self.exporter.run_pass()
            self.status.record_pass(stats)
            succeeded = stats.complete and not stats.errors
        except Exception as exc:  # noqa: BLE001 (log, keep looping)
            log.error("pass failed: %s", describe_error(exc))
            log.debug("pass failure", exc_info=True)
            self.status.record_failure(describe_error(exc))
        self.status.set_state("idle")
        self.status.set_problems(self.exporter.problems.as_list())
        if self.exporter.restore_aborted:
            self._retry_soon = True
        elif succeeded:
            self._retry_soon = False
        following = self.position is not None and succeeded
        interval = self.settings.feed_full_pass_interval if following else self.settings.export_interval
        if self._retry_soon:
            interval = min(interval, RETRY_SECONDS)
        self.next_full_pass = time.monotonic() + interval
