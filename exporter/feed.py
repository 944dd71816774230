"""Following the gateway's change feed (GET /_changes): sub-second updates without listing every key.

Against an endpoint without a feed (real AWS, any other S3) `FeedClient.read` says so by returning None,
and the exporter polls with full passes as before.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field

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


def batch_events(events: Iterable[dict], known_buckets: set[str]) -> ChangeBatch:
    """Object events of known buckets become keys to sync; anything about buckets asks for a full pass."""
    batch = ChangeBatch()
    for event in events:
        bucket, key, op = event.get("bucket"), event.get("key"), event.get("op")
        if op in OBJECT_OPS and isinstance(key, str) and bucket in known_buckets:
            batch.keys_by_bucket.setdefault(bucket, set()).add(key)
        elif batch.full_pass_because is None:
            batch.full_pass_because = f"{op} in {bucket}"
    return batch


class FeedClient:
    def __init__(self, endpoint_url: str) -> None:
        self.url = f"{endpoint_url}/_changes"

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
