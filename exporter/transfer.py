"""The transfer stage (rclone's fs/sync runs it apart from the march): downloads and HEADs in a bounded
pool, moves and deletes in the calling thread. Nothing here reads or writes the manifest store.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from common.s3 import call_with_retries, is_not_found
from exporter.bulk import export, headers_for_manifest
from exporter.files import Cancelled, atomic_write_chunks, atomic_write_small, obstacle, remove_file_and_empty_parents
from exporter.manifest import Entry
from exporter.plan import Download, Move, RemoteObject

log = logging.getLogger("exporter")

CHUNK_BYTES = 1024 * 1024
BULK_WRITE_GROUP = 32
"""Small objects written by one pool task (fewer when they reach BULK_GROUP_BYTES): a task per file cost
more in futures than in writing (py-spy)."""
BULK_GROUP_BYTES = 4 * 1024 * 1024
BULK_GROUPS_IN_FLIGHT = 2
"""Groups being written at once: more writer threads only fight over the GIL around each system call
(strace of a first mirror with eight: futex was 94% of system time, sys time three times user time)."""
RESTORABLE_HEADERS = ("ContentType", "ContentEncoding", "CacheControl", "ContentDisposition", "ContentLanguage")
CRASH_POINT_ENV = "EXPORTER_CRASH_AT"
"""Test hook: `after-intent` (intent rows committed, nothing renamed yet) or `after-rename` (a download
renamed into place, its entry not yet recorded), optionally `:N` for the N-th time that point is reached,
kills the process (SIGKILL) there, so tests can prove that a kill at that instant is repaired."""
_crash_counts: dict[str, int] = {}
_crash_lock = threading.Lock()


def crash_point(name: str) -> None:
    wanted = os.environ.get(CRASH_POINT_ENV)
    if not wanted or wanted.partition(":")[0] != name:
        return
    with _crash_lock:
        _crash_counts[name] = _crash_counts.get(name, 0) + 1
        if _crash_counts[name] >= int(wanted.partition(":")[2] or 1):
            os.kill(os.getpid(), signal.SIGKILL)


class IncompleteDownload(IOError):
    """The body ended before Content-Length bytes arrived."""


class Blocked(Exception):
    """A path the mirror did not create stands where an object's file must go."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.path = path


@dataclass(frozen=True)
class DownloadResult:
    key: str
    entry: Entry | None
    """None when the object was deleted between the decision and the download."""


def restorable_headers(response: dict[str, Any]) -> dict[str, Any]:
    """The headers a restore needs to put the object back as it was, named as put_object names them."""
    headers = {name: response[name] for name in RESTORABLE_HEADERS if response.get(name)}
    if response.get("Metadata"):
        headers["Metadata"] = dict(response["Metadata"])
    return headers


def write_group(items: list[tuple[Any, Any, str, bytes]], should_stop) -> list[int | BaseException]:
    """Each small object of a bulk download written atomically: its size, or why it could not be."""
    written: list[int | BaseException] = []
    for _download, _entry, target, data in items:
        try:
            written.append(atomic_write_small(target, data, should_stop=should_stop))
        except (OSError, Cancelled) as exc:
            written.append(exc)
    return written


class Transfers:
    def __init__(self, client: Any, root: Path, concurrency: int, stop: threading.Event) -> None:
        self.client = client
        self.root = root
        self.stop = stop
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="transfer")

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def head(self, bucket: str, key: str) -> RemoteObject | None:
        try:
            head = call_with_retries(lambda: self.client.head_object(Bucket=bucket, Key=key))
        except ClientError as exc:
            if is_not_found(exc):
                return None
            raise
        return RemoteObject(key, head.get("ETag", ""), int(head.get("ContentLength", 0)))

    def download(self, bucket: str, download: Download, file_is_ours: bool) -> DownloadResult:
        """Fetch one object into its path; raises Blocked when a path the mirror did not create is there."""
        if self.stop.is_set():
            raise Cancelled(download.key)
        bucket_dir = self.root / bucket
        in_the_way = obstacle(bucket_dir, download.path, file_is_ours=file_is_ours)
        if in_the_way is not None:
            raise Blocked(in_the_way)
        target = bucket_dir / download.path

        def attempt() -> DownloadResult:
            try:
                response = self.client.get_object(Bucket=bucket, Key=download.key)
            except ClientError as exc:
                if is_not_found(exc):
                    return DownloadResult(download.key, None)
                raise
            body = response["Body"]
            expected = int(response.get("ContentLength", -1))
            chunks = [body.read()] if 0 <= expected <= CHUNK_BYTES else body.iter_chunks(CHUNK_BYTES)
            try:
                written = atomic_write_chunks(target, chunks, should_stop=self.stop.is_set)
            finally:
                body.close()
            crash_point("after-rename")
            expected = written if expected < 0 else expected
            if written != expected:
                raise IncompleteDownload(f"got {written} of {expected} bytes")
            entry = Entry(
                path=download.path,
                etag=response.get("ETag", download.expected.etag),
                size=written,
                headers=restorable_headers(response),
            )
            return DownloadResult(download.key, entry)

        return call_with_retries(attempt)

    def bulk_download(
        self, endpoint_url: str, cap: dict, bucket: str, downloads: list[tuple[Download, bool]]
    ) -> tuple[dict[str, DownloadResult | BaseException], BaseException | None]:
        """Fetch many objects of one bucket in one streamed export (the gateway's bulk API).

        This thread reads the stream; objects up to CHUNK_BYTES are written by the pool (creating files
        is most of the cost, and it runs outside the GIL) in groups, BULK_GROUPS_IN_FLIGHT at a time while
        the next fills, so memory stays bounded (about three times BULK_GROUP_BYTES); larger ones are
        streamed to disk here. Returns each handled download's
        outcome by key (a result, or Blocked/Cancelled/OSError for that file), and what broke the stream
        if it broke: the downloads without an outcome are then left to `download`. An object the export
        does not carry was deleted meanwhile: its entry is None.
        """
        outcomes: dict[str, DownloadResult | BaseException] = {}
        wanted: dict[str, tuple[Download, bool]] = {}
        bucket_dir = self.root / bucket
        folders_seen: dict[str, bool] = {}
        for download, ours in downloads:
            in_the_way = obstacle(bucket_dir, download.path, file_is_ours=ours, folders_seen=folders_seen)
            if in_the_way is not None:
                outcomes[download.key] = Blocked(in_the_way)
            else:
                wanted[download.key] = (download, ours)
        writing: deque[tuple[list[tuple[Download, Entry, str, bytes]], Future[list]]] = deque()
        group: list[tuple[Download, Entry, str, bytes]] = []
        bucket_folder = os.fspath(bucket_dir)
        group_bytes = 0

        def settle(download: Download, entry: Entry, written: int | BaseException) -> None:
            if isinstance(written, BaseException):
                outcomes[download.key] = written
                return
            crash_point("after-rename")
            outcomes[download.key] = DownloadResult(download.key, entry if written == entry.size else replace(entry, size=written))

        def settle_group() -> None:
            items, future = writing.popleft()
            for (download, entry, _target, _data), written in zip(items, future.result(), strict=True):
                settle(download, entry, written)

        def send_group() -> None:
            nonlocal group, group_bytes
            if group:
                writing.append((group, self.pool.submit(write_group, group, self.stop.is_set)))
                group, group_bytes = [], 0
            while len(writing) > BULK_GROUPS_IN_FLIGHT:
                settle_group()

        try:
            with export(endpoint_url, cap, objects={bucket: list(wanted)}) as members:
                for archived, body in members:
                    if body is None or archived.bucket != bucket or archived.key not in wanted:
                        continue
                    download, _ours = wanted.pop(archived.key)
                    if self.stop.is_set():
                        outcomes[download.key] = Cancelled(download.key)
                        continue
                    entry = Entry(path=download.path, etag=archived.etag or "", size=archived.size,
                                  headers=headers_for_manifest(archived))
                    if archived.size <= CHUNK_BYTES:
                        data = body.read()
                        group.append((download, entry, f"{bucket_folder}/{download.path}", data))
                        group_bytes += len(data)
                        if len(group) >= BULK_WRITE_GROUP or group_bytes >= BULK_GROUP_BYTES:
                            send_group()
                        continue
                    try:
                        written = atomic_write_chunks(bucket_dir / download.path, body.chunks(CHUNK_BYTES),
                                                      should_stop=self.stop.is_set)
                    except (OSError, Cancelled) as exc:
                        outcomes[download.key] = exc
                        continue
                    settle(download, entry, written)
                send_group()
        except Exception as exc:  # noqa: BLE001 (the stream broke: the caller fetches the rest one by one)
            send_group()
            while writing:
                settle_group()
            return outcomes, exc
        while writing:
            settle_group()
        for key in wanted:
            outcomes[key] = DownloadResult(key, None)
        return outcomes, None

    def move(self, bucket: str, move: Move) -> None:
        """Rename a file to its new path; raises Blocked or OSError (the file then stays where it was)."""
        bucket_dir = self.root / bucket
        in_the_way = obstacle(bucket_dir, move.new_path, file_is_ours=False)
        if in_the_way is not None:
            raise Blocked(in_the_way)
        target = bucket_dir / move.new_path
        target.parent.mkdir(parents=True, exist_ok=True)
        (bucket_dir / move.old_path).replace(target)
        remove_file_and_empty_parents(bucket_dir / move.old_path, stop_at=bucket_dir)

    def delete(self, bucket: str, path: str) -> None:
        bucket_dir = self.root / bucket
        remove_file_and_empty_parents(bucket_dir / path, stop_at=bucket_dir)
