"""S3's state on disk (GATEWAY_STATE_DIR): every change a client is told about is stored first.

Moto stays the S3 engine and keeps serving from memory; the state folder is a copy of it that is always
at least as new as every answer given (store.py, layer.py). Start-up loads it into Moto before S3 is
served (503 SlowDown and `/_health` "loading" until then).

The contract for code that changes Moto's S3 objects (moto_patches, s3_features, schedulers):
- What is stored is each object's attributes, not a list of fields: a bucket's `__dict__` (all but `keys`
  and `multiparts`), each version's `__dict__` (all but its buffer, lock, metadata object and disposal
  flag, stored on their own), delete markers, uploads in progress with their parts, the tags Moto keeps
  for buckets and versions, and named snapshots. An attribute a helper adds to a FakeKey, FakeBucket or
  FakeMultipart is stored and loaded with it, provided its value pickles and its class lives in
  `moto.s3`, `moto.core`, `moto.utilities`, `moto.moto_api`, `moto_gateway.s3_features`,
  `moto_gateway.moto_patches` or `moto_gateway.state` (or is a builtin, datetime or collections type):
  a snapshot file naming another class is refused on import (codec.SafeUnpickler). Values other
  than lists, dicts and sets must be replaced, never changed in place, when they change (Moto's practice
  for ACLs): a loaded key may share such a value with the folder's key template.
- Requests need nothing: the capture layer stores, after every successful mutating S3 request, its
  bucket's configuration (bucket-level requests), the versions of the key it names (or the keys a
  DeleteObjects deleted), and the bucket's uploads whose parts changed. A layer inside the capture that
  changes an upload's attributes without a part (a mark) calls `upload_changed` so that capture stores it.
- The gateway's own settings that must outlive a restart (registered webhooks) are kept with
  `persist_setting` and read back at start-up with `stored_setting`.
- Code that changes S3 outside a request (a lifecycle scheduler, a restore, an import) holds the bucket's
  lock (BucketLocks), changes Moto, calls one of the functions below, releases the lock, then calls
  `.wait()` on the ticket they return (it raises DurabilityError if the change could not be stored; it
  was then undone). Inside a request, the gateway holds the answer until the ticket is done instead.
  With no state folder they return a ticket that is already done.
"""

from __future__ import annotations

from collections.abc import Iterable

from moto_gateway.state.durable.layer import Durability
from moto_gateway.state.durable.store import DONE, DurabilityError, DurableStore, Ticket

__all__ = [
    "DurabilityError",
    "Ticket",
    "active",
    "open_state",
    "persist_bucket",
    "persist_changed",
    "persist_everything",
    "persist_keys",
    "persist_setting",
    "stored_setting",
    "upload_changed",
]

_active: Durability | None = None


def active() -> Durability | None:
    return _active


def open_state(folder: str, fsync: str, batch_ms: int) -> DurableStore:
    store = DurableStore(folder, fsync, batch_ms)
    store.open()
    return store


def activate(durability: Durability | None) -> None:
    global _active
    _active = durability


def stop_active() -> None:
    """A clean stop (SIGTERM, SIGINT): what is queued is committed and the writer folds the WAL into the
    database. Without it the folder is still whole, but keeps its WAL until a gateway opens it again."""
    if _active is not None:
        _active.store.stop()


def persist_keys(bucket: str, keys: Iterable[str]) -> Ticket:
    """The versions of `keys` in `bucket` (and the bucket's uploads whose parts changed), as Moto has them."""
    return _active.persist_keys(bucket, keys) if _active else DONE


def persist_bucket(bucket: str) -> Ticket:
    """The bucket's configuration and tags (or its removal, when Moto no longer has it)."""
    return _active.persist_bucket(bucket) if _active else DONE


def persist_changed(bucket: str) -> Ticket:
    """Every key of `bucket` whose versions are not all stored, or whose version count changed."""
    return _active.persist_changed(bucket) if _active else DONE


def persist_everything() -> Ticket:
    """All of S3 as Moto holds it, replacing the folder's copy (hold every bucket's lock)."""
    return _active.persist_everything() if _active else DONE


def persist_setting(name: str, value: str) -> Ticket:
    """One of the gateway's own settings (registered webhooks), kept in the folder, replacing its value.
    Not queued for the request's answer: the caller waits for the ticket and undoes its change on failure."""
    return _active.store.submit(_active.store.setting_ops(name, value), _active.seq()) if _active else DONE


def stored_setting(name: str) -> str | None:
    """The value of a setting as the folder held it when the gateway started; None: none, or no folder."""
    return _active.store.settings.get(name) if _active else None


def upload_changed(bucket: str, upload_id: str) -> None:
    """The upload's attributes changed in this request (its parts did not): the request's capture stores it.
    Call it under the bucket's lock, inside the capture layer."""
    if _active:
        _active.store.forget_upload(bucket, upload_id)
