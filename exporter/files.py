"""File operations of the mirror: atomic writes, streamed downloads to disk, deletes that prune empty folders."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

from exporter.naming import TEMP_PREFIX


class Cancelled(Exception):
    """The exporter is stopping: an unfinished write was abandoned (its temp file removed)."""


def temp_path_for(target: Path) -> Path:
    return target.parent / f"{TEMP_PREFIX}{secrets.token_hex(8)}"


def atomic_write_chunks(
    target: Path,
    chunks: Iterable[bytes],
    *,
    durable: bool = False,
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    """Write chunks to a temp file beside `target`, then rename it over `target`: never a partial file."""
    temp = temp_path_for(target)
    written = 0
    try:
        try:
            out = open(temp, "wb")  # noqa: SIM115 (closed by the with below)
        except FileNotFoundError:
            target.parent.mkdir(parents=True, exist_ok=True)
            out = open(temp, "wb")  # noqa: SIM115
        with out:
            for chunk in chunks:
                if should_stop():
                    raise Cancelled(str(target))
                out.write(chunk)
                written += len(chunk)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return written


def atomic_write_small(target: str | Path, data: bytes, *, should_stop: Callable[[], bool] = lambda: False) -> int:
    """atomic_write_chunks for bytes already in memory, by plain system calls (create, write, close, rename):
    a file object costs three more calls per file, and a first mirror writes thousands of small files."""
    if should_stop():
        raise Cancelled(str(target))
    target = os.fspath(target)
    folder = os.path.dirname(target)
    temp = f"{folder}/{TEMP_PREFIX}{secrets.token_hex(8)}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    try:
        descriptor = os.open(temp, flags, 0o666)
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)
        descriptor = os.open(temp, flags, 0o666)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view) :]
        finally:
            os.close(descriptor)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    return len(data)


def remove_file_and_empty_parents(path: Path, stop_at: Path) -> None:
    """Delete a mirrored file, then every folder it leaves empty, up to (not including) `stop_at`."""
    path.unlink(missing_ok=True)
    folder = path.parent
    while folder != stop_at and stop_at in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def local_size(path: Path) -> int | None:
    """The size of a regular file, or None when there is none (deleted by hand, or a folder in the way)."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def remove_stale_temp_files(root: Path) -> int:
    """Temp files left by a crash; escaped and plain names never start with TEMP_PREFIX, so these are ours."""
    removed = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            if name.startswith(TEMP_PREFIX):
                Path(folder, name).unlink(missing_ok=True)
                removed += 1
    return removed


def obstacle(
    folder: Path, relative: str, *, file_is_ours: bool, folders_seen: dict[str, bool] | None = None
) -> Path | None:
    """What stands where `folder/relative` must go: a file where a parent folder must be, a folder (not
    empty) where the file must be, or a file the mirror did not write. None when the way is clear.

    An empty folder in the way is removed (nothing is lost). Only the mirror's own files are overwritten.
    `folders_seen` (relative folder -> it is a folder; False: it is missing) carries what earlier calls of
    one batch found, so files side by side cost one lstat each instead of one per level of folders.
    """
    parent, _, name = relative.rpartition("/")
    seen = folders_seen.get(parent) if folders_seen is not None and parent else None
    if seen is False:
        return None
    current = folder / parent if parent else folder
    if seen is None and parent:
        walked = folder
        for part in parent.split("/"):
            walked = walked / part
            try:
                info = walked.lstat()
            except FileNotFoundError:
                if folders_seen is not None:
                    folders_seen[parent] = False
                return None
            except OSError:
                return walked
            if not stat.S_ISDIR(info.st_mode):
                return walked
        if folders_seen is not None:
            folders_seen[parent] = True
    target = current / name
    try:
        info = target.lstat()
    except FileNotFoundError:
        return None
    except OSError:
        return target
    if stat.S_ISDIR(info.st_mode):
        try:
            target.rmdir()
        except OSError:
            return target
        return None
    if stat.S_ISREG(info.st_mode) and file_is_ours:
        return None
    return target
