"""One follower of the gateway's change feed per uploader process, shared by every open console page.

The gateway lets only a few long polls of `/_changes` wait at once (GATEWAY_MAX_WAITING_POLLS, default 4,
one of them the exporter's), so pages must not each hold one. Here one daemon thread per process follows
the feed and keeps its recent events; a page's poll waits on a condition for events past its sequence
number, for at most a few seconds, and never reaches the gateway itself.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass

log = logging.getLogger(__name__)

FOLLOW_WAIT_SECONDS = 20
HELD_EVENTS = 10_000
PAUSE_AFTER_ERROR_SECONDS = 2.0


@dataclass(frozen=True)
class Moved:
    """What a page learns from a wait: where the feed is now, and the events after its number (None: the
    page must reload its table, for the feed restarted or the events it missed are no longer held)."""

    boot: str
    seq: int
    events: list[dict] | None


class FeedFollower:
    def __init__(self, endpoint_url: str | None):
        self.url = f"{endpoint_url.rstrip('/')}/_changes" if endpoint_url else None
        self.available = self.url is not None
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._moved = threading.Condition()
        self._boot: str | None = None
        self._seq = 0
        self._events: deque[dict] = deque(maxlen=HELD_EVENTS)

    def _read(self, after: int, wait: float) -> dict:
        with urllib.request.urlopen(f"{self.url}?after={after}&wait={wait:g}", timeout=wait + 10) as answer:
            return json.loads(answer.read())

    def position(self) -> tuple[str, int] | None:
        """(boot id, last sequence number) of the feed now, or None when there is no feed."""
        if not self.available:
            return None
        self._ensure_running()
        with self._moved:
            if self._boot is not None:
                return self._boot, self._seq
        try:
            answer = self._read(2**62, 0)  # past the end: no events, just the position
        except urllib.error.HTTPError as exc:
            if exc.code in (403, 404, 405):
                self.available = False
                return None
            raise
        return answer["boot_id"], answer["last_seq"]

    def wait(self, boot: str, after: int, timeout: float) -> Moved | None:
        """Wait up to `timeout` seconds for the feed to move past `after`; None when there is no feed."""
        if not self.available:
            return None
        self._ensure_running()
        deadline = time.monotonic() + timeout
        with self._moved:
            while self._boot is None or (self._boot == boot and self._seq <= after):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._moved.wait(remaining)
            if self._boot is None:
                return Moved(boot, after, [])  # the follower has not reached the feed yet: nothing known
            if self._boot != boot or after > self._seq:
                return Moved(self._boot, self._seq, None)
            held_from = self._events[0]["seq"] if self._events else self._seq + 1
            if after < held_from - 1:
                return Moved(self._boot, self._seq, None)
            return Moved(self._boot, self._seq, [event for event in self._events if event["seq"] > after])

    def _ensure_running(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            threading.Thread(target=self._follow, name="console-feed", daemon=True).start()

    def _follow(self) -> None:
        """Long-poll the feed for ever; after an error, wait a moment and ask again (a restarted gateway
        gives a new boot id, which makes every page reload its table)."""
        after = 2**62
        while self.available:
            try:
                answer = self._read(after, 0 if after == 2**62 else FOLLOW_WAIT_SECONDS)
            except urllib.error.HTTPError as exc:
                if exc.code in (403, 404, 405):
                    log.info("console: %s has no change feed; pages will not update by themselves", self.url)
                    self.available = False
                    return
                log.debug("console: the change feed answered %s", exc.code)
                time.sleep(PAUSE_AFTER_ERROR_SECONDS)
                continue
            except (OSError, ValueError) as exc:
                log.debug("console: cannot read the change feed: %s", exc)
                time.sleep(PAUSE_AFTER_ERROR_SECONDS)
                continue
            with self._moved:
                if answer["boot_id"] != self._boot or answer["gap"]:
                    self._events.clear()
                self._events.extend(answer["events"])
                self._boot, self._seq = answer["boot_id"], answer["last_seq"]
                self._moved.notify_all()
            after = answer["last_seq"]
