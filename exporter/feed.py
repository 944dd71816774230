"""Following the gateway's change feed (GET /_changes): sub-second updates without listing every key.

`GatewayClient` is the exporter's one client of the gateway's own routes (`/_health` for the boot id,
`/_changes` for the feed). Against an endpoint without them (real AWS, any other S3) it says so by
returning None, and the exporter polls with full passes as before.

A put event of our gateway carries the ETag, size, content type and last-modified time of the version
it wrote, so the exporter needs no HEAD per key; an event without them (an older gateway) is HEADed.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field

from exporter.plan import RemoteObject

OBJECT_OPS = frozenset({"put", "delete"})


class FeedError(RuntimeError):
    """The feed answered something unusable, or not at all."""


@dataclass(frozen=True)
class FeedPage:
    boot_id: str
    last_seq: int
    gap: bool
    events: list[dict] = field(default_factory=list)


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


class GatewayClient:
    """The gateway's own routes: `/_health` (the boot id) and `/_changes` (the feed)."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self.url = f"{endpoint_url}/_changes"

    def health(self) -> dict | None:
        """GET /_health as a JSON object; None for an endpoint that has none (or does not answer)."""
        try:
            with urllib.request.urlopen(f"{self.endpoint_url}/_health", timeout=3) as response:
                health = json.loads(response.read())
        except (OSError, ValueError):
            return None
        return health if isinstance(health, dict) else None

    def boot_id(self) -> str | None:
        """The Moto instance's boot id; None for an endpoint that does not tell (or does not answer)."""
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
        return parse_page(body)


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
