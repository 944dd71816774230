"""The transfer stage (rclone's fs/sync runs it apart from the march): downloads and HEADs in a bounded
pool, moves and deletes in the calling thread. Nothing here reads or writes the manifest store.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from common.s3 import call_with_retries, is_not_found
from exporter.bulk import export, headers_for_manifest
from exporter.files import Cancelled, atomic_write_chunks, atomic_write_small, obstacle, remove_file_and_empty_parents
from exporter.manifest import Entry
from exporter.plan import Download, Move, RemoteObject

T = TypeVar("T")

log = logging.getLogger("exporter")

CHUNK_BYTES = 1024 * 1024
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


class Transfers:
    def __init__(self, client: Any, root: Path, concurrency: int, stop: threading.Event) -> None:
        self.client = client
        self.root = root
        self.stop = stop
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="transfer")

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, work: Callable[..., T], *args: Any) -> Future[T]:
        """`work(*args)` in the bounded pool of transfers (heads, downloads, a restore's uploads): at most
        EXPORT_CONCURRENCY at once, whoever asks."""
        return self._pool.submit(work, *args)

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

        This thread reads the stream and writes each object as it arrives (objects up to CHUNK_BYTES from
        memory by plain system calls, larger ones streamed to disk), so memory holds one object at a time.
        Writing on this thread was faster than handing groups of files to the pool (5 to 7%, interleaved
        A/B on tmpfs and ext4): a writer thread waits for the GIL after each of its four system calls per
        file while this thread parses. Returns each handled download's outcome by key (a result, or
        Blocked/Cancelled/OSError for that file), and what broke the stream if it broke: the downloads
        without an outcome are then left to `download`. An object the export does not carry was deleted
        meanwhile: its entry is None.
        """
        outcomes: dict[str, DownloadResult | BaseException] = {}
        wanted: dict[str, tuple[Download, bool]] = {}
        bucket_dir = self.root / bucket
        bucket_folder = os.fspath(bucket_dir)
        folders_seen: dict[str, bool] = {}
        for download, ours in downloads:
            in_the_way = obstacle(bucket_dir, download.path, file_is_ours=ours, folders_seen=folders_seen)
            if in_the_way is not None:
                outcomes[download.key] = Blocked(in_the_way)
            else:
                wanted[download.key] = (download, ours)
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
                    try:
                        if archived.size <= CHUNK_BYTES:
                            written = atomic_write_small(f"{bucket_folder}/{download.path}", body.read(),
                                                         should_stop=self.stop.is_set)
                        else:
                            written = atomic_write_chunks(bucket_dir / download.path, body.chunks(CHUNK_BYTES),
                                                          should_stop=self.stop.is_set)
                    except (OSError, Cancelled) as exc:
                        outcomes[download.key] = exc
                        continue
                    crash_point("after-rename")
                    outcomes[download.key] = DownloadResult(
                        download.key, entry if written == entry.size else replace(entry, size=written))
        except Exception as exc:  # noqa: BLE001 (the stream broke: the caller fetches the rest one by one)
            return outcomes, exc
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
