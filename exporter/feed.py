"""Following the gateway's change feed (GET /_changes): sub-second updates without listing every key.

`GatewayClient` is the exporter's one client of the gateway's own routes (`/_health` for the boot id and
the bulk capability, `/_changes` for the feed), and the one holder of the boot id of the Moto it talks to.
Against an endpoint without them (real AWS, any other S3) it says so by returning None, and the exporter
polls with full passes as before.

A put event of our gateway carries the ETag, size, content type and last-modified time of the version
it wrote, so the exporter needs no HEAD per key; an event without them (an older gateway) is HEADed.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from exporter.plan import RemoteObject

OBJECT_OPS = frozenset({"put", "delete"})
HEALTH_LIMIT = 65536
"""Bytes of a /_health answer read at most (any endpoint may answer anything)."""


class FeedError(RuntimeError):
    """The feed answered something unusable, or not at all."""


@dataclass(frozen=True)
class FeedPage:
    boot_id: str
    last_seq: int
    gap: bool
    events: list[dict] = field(default_factory=list)
    restarted: bool = False
    """Moto's boot id changed since the feed was last read (seen here or in /_health): `last_seq` counts
    the events of another Moto than the position the reader holds."""


@dataclass
class ChangeBatch:
    """What a page of events asks for: keys to sync per known bucket, or a full pass."""

    keys_by_bucket: dict[str, set[str]] = field(default_factory=dict)
    full_pass_because: str | None = None
    latest: dict[tuple[str, str], dict] = field(default_factory=dict)
    """The last event of each (bucket, key): repeated changes of one key within a batch coalesce."""
    oldest: float | None = None
    """When the oldest event of the batch happened (its `time`), for the lag the exporter reports."""


def batch_events(events: Iterable[dict], known_buckets: set[str]) -> ChangeBatch:
    """Object events of known buckets become keys to sync; anything else (bucket events, unknown buckets,
    ops this exporter does not know, such as a reset) asks for a full pass."""
    batch = ChangeBatch()
    for event in events:
        bucket, key, op = event.get("bucket"), event.get("key"), event.get("op")
        stamp = event.get("time")
        if isinstance(stamp, (int, float)) and (batch.oldest is None or stamp < batch.oldest):
            batch.oldest = float(stamp)
        if op in OBJECT_OPS and isinstance(key, str) and bucket in known_buckets:
            batch.keys_by_bucket.setdefault(bucket, set()).add(key)
            batch.latest[(bucket, key)] = event
        elif batch.full_pass_because is None:
            batch.full_pass_because = f"{op} in {bucket}"
    return batch


def remote_from_event(event: dict) -> RemoteObject | None | bool:
    """What S3 holds for the event's key: a RemoteObject (a put that carries its version), None (deleted),
    or False (a put without those fields: ask S3)."""
    key = event["key"]
    if event.get("op") == "delete":
        return None
    etag, size = event.get("etag"), event.get("size")
    if isinstance(etag, str) and isinstance(size, int) and not isinstance(size, bool) and size >= 0:
        return RemoteObject(key, etag, size)
    return False


def boot_id_of(health: dict | None) -> str | None:
    """The boot id a /_health answer carries, if it is a usable one."""
    boot_id = health.get("boot_id") if health else None
    return boot_id if isinstance(boot_id, str) and boot_id else None


def parse_health(body: bytes) -> dict | None:
    """A /_health answer as a JSON object; None when it is not one (an S3 error, a listing, HTML)."""
    try:
        health = json.loads(body)
    except ValueError:
        return None
    return health if isinstance(health, dict) else None


class GatewayClient:
    """The gateway's own routes: `/_health` (the boot id, the bulk capability) and `/_changes` (the feed).

    `boot_id` is the one place the exporter keeps the boot id of the Moto it talks to: every answer that
    carries one updates it, and a change marks the next feed page `restarted`. (The manifest store keeps
    another fact: the boot id of the Moto the mirror was last completely synced with.)
    """

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self.url = f"{endpoint_url}/_changes"
        self.boot_id: str | None = None
        self._restarted = False

    def _heard(self, boot_id: str | None) -> None:
        if boot_id is None or boot_id == self.boot_id:
            return
        if self.boot_id is not None:
            self._restarted = True
        self.boot_id = boot_id

    def health(self) -> dict | None:
        """GET /_health as a JSON object; None for an endpoint that has none (or does not answer)."""
        try:
            with urllib.request.urlopen(f"{self.endpoint_url}/_health", timeout=3) as response:
                health = parse_health(response.read(HEALTH_LIMIT))
        except (OSError, ValueError):
            return None
        self._heard(boot_id_of(health))
        return health

    def current_boot_id(self) -> str | None:
        """The boot id Moto answers now; None for an endpoint that does not tell (or does not answer)."""
        return boot_id_of(self.health())

    def read(self, after: int, wait: float) -> FeedPage | None:
        """Events after `after`, waiting up to `wait` s; None when the endpoint has no change feed."""
        try:
            with urllib.request.urlopen(f"{self.url}?after={after}&wait={wait:g}", timeout=wait + 15) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            if 400 <= exc.code < 500:
                return None
            raise FeedError(f"change feed answered {exc.code}") from None
        except (OSError, ValueError) as exc:
            raise FeedError(f"change feed unreachable: {exc}") from None
        page = parse_page(body)
        if page is None:
            return None
        self._heard(page.boot_id)
        restarted, self._restarted = self._restarted, False
        return replace(page, restarted=restarted)


def parse_page(body: bytes) -> FeedPage | None:
    """A feed page from the body of a 2xx answer; None when it is not one (an S3 error or listing, HTML)."""
    try:
        data = json.loads(body)
        return FeedPage(
            boot_id=str(data["boot_id"]),
            last_seq=int(data["last_seq"]),
            gap=bool(data["gap"]),
            events=list(data["events"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
