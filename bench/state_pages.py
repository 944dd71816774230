"""The state folder's page size (issue 24): what small objects cost on disk, and what a commit costs.

    python -m bench.state_pages [--objects 10000,100000] [--rounds 5] [--commits 300]

SQLite alone (no gateway), with the state folder's own table shapes and WAL settings, so that the page size
is the only thing that changes:
- format 2: `objects` WITHOUT ROWID keyed by (bucket, key), bytes in `bodies` rows, 16 KiB pages;
- format 3: `objects` rows found by id, a key's bytes in its row, at 16, 32 and 64 KiB pages.

1. Bytes an object costs beyond its own, for N objects with 27-byte keys and sizes spread uniformly from
   512 to 1,536 bytes (mean 1 KiB), inserted 6 to a commit as new keys are.
2. Wall time of a commit of 8 overwrites of keys spread at random over N objects (synchronous=FULL, the WAL
   truncated past 8 MiB as the writer does), medians of interleaved rounds. A commit writes each page it
   touches whole to the WAL, so spread overwrites are where large pages cost most; the PUT rate of
   `bench.durability` overwrites one key.
The databases are temporary folders on the disk that holds TMPDIR.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import tempfile
import time

from bench.common import print_table

LAYOUTS = [("format 2", 16384), ("format 3", 16384), ("format 3", 32768), ("format 3", 65536)]
RECORD_2 = 40
"""Bytes of a format 2 record of a 1 KiB object (deflated), and of a format 3 one, which leaves out the
size and the ETag (bench.durability's folders: 40 and 23)."""
RECORD_3 = 23
WAL_CHECKPOINT_BYTES = 8 * 1024 * 1024


def key_name(index: int) -> str:
    return f"data/{index // 1000:04d}/object-{index:06d}.bin"


class Folder:
    def __init__(self, layout: str, page: int) -> None:
        self.layout = layout
        self.page = page
        self.path = tempfile.mkdtemp(prefix="bench-pages-")
        self.conn = sqlite3.connect(os.path.join(self.path, "state.db"), isolation_level=None)
        self.conn.execute(f"PRAGMA page_size={page}")
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript(
            "CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB);"
            "INSERT INTO meta VALUES ('last_seq', 0);"
            "CREATE TABLE bodies (id INTEGER PRIMARY KEY, size INTEGER, refs INTEGER, data BLOB);"
        )
        if layout == "format 2":
            self.conn.execute(
                "CREATE TABLE objects (bucket TEXT, key TEXT, versions BLOB, bodies BLOB, "
                "PRIMARY KEY (bucket, key)) WITHOUT ROWID"
            )
        else:
            self.conn.execute(
                "CREATE TABLE objects (id INTEGER PRIMARY KEY, bucket INTEGER, key TEXT, versions BLOB, "
                "bodies BLOB, data BLOB)"
            )
        self.next_body = 1
        self.seq = 0

    def put(self, index: int, data: bytes) -> None:
        """One object stored as the writer stores a PUT of a key's only version."""
        conn = self.conn
        if self.layout == "format 2":
            body = self.next_body
            self.next_body += 1
            conn.execute("INSERT INTO bodies VALUES (?, ?, 0, ?)", (body, len(data), data))
            old = conn.execute(
                "SELECT bodies FROM objects WHERE bucket = 'sizes' AND key = ?", (key_name(index),)
            ).fetchone()
            conn.execute(
                "INSERT OR REPLACE INTO objects VALUES ('sizes', ?, ?, ?)",
                (key_name(index), os.urandom(RECORD_2), body),
            )
            conn.execute("UPDATE bodies SET refs = refs + 1 WHERE id = ?", (body,))
            if old is not None:
                conn.execute("UPDATE bodies SET refs = refs - 1 WHERE id = ?", (old[0],))
                conn.execute("SELECT refs FROM bodies WHERE id = ?", (old[0],)).fetchone()
                conn.execute("DELETE FROM bodies WHERE id = ?", (old[0],))
        else:
            conn.execute("SELECT bodies FROM objects WHERE id = ?", (index + 1,)).fetchone()
            conn.execute(
                "INSERT OR REPLACE INTO objects VALUES (?, 1, ?, ?, x'', ?)",
                (index + 1, key_name(index), os.urandom(RECORD_3), data),
            )

    def commit(self, puts: list[tuple[int, bytes]]) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        for index, data in puts:
            self.put(index, data)
        self.seq += 1
        self.conn.execute("UPDATE meta SET value = ? WHERE name = 'last_seq'", (self.seq,))
        self.conn.execute("COMMIT")
        if os.path.getsize(os.path.join(self.path, "state.db-wal")) > WAL_CHECKPOINT_BYTES:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def table_bytes(self) -> int:
        """The pages of the objects' tables beyond the first of each (which, as every other table's, is a
        constant: format 3's bodies table stays empty here)."""
        return self.conn.execute(
            "SELECT sum(pgsize) - count(DISTINCT name) * ? FROM dbstat WHERE name IN ('objects', 'bodies')",
            (self.page,),
        ).fetchone()[0]

    def close(self) -> None:
        self.conn.close()
        shutil.rmtree(self.path, ignore_errors=True)


def filled(layout: str, page: int, count: int, sizes: list[int]) -> Folder:
    folder = Folder(layout, page)
    for start in range(0, count, 6):
        folder.commit([(index, os.urandom(sizes[index])) for index in range(start, min(start + 6, count))])
    return folder


def overwrites(folder: Folder, count: int, commits: int) -> float:
    """Microseconds a commit of 8 overwrites of keys spread at random over `count`."""
    data = os.urandom(1024)
    started = time.perf_counter()
    for _ in range(commits):
        folder.commit([(random.randrange(count), data) for _ in range(8)])
    return (time.perf_counter() - started) / commits * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", default="10000,100000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--commits", type=int, default=300)
    args = parser.parse_args()
    random.seed(1)
    size_rows, commit_rows = [], []
    for count in (int(value) for value in args.objects.split(",")):
        sizes = [random.randint(512, 1536) for _ in range(count)]
        stored = sum(sizes)
        folders = [filled(layout, page, count, sizes) for layout, page in LAYOUTS]
        try:
            for folder in folders:
                extra = (folder.table_bytes() - stored) / count
                size_rows.append([f"{count:,}", f"{folder.layout}, {folder.page // 1024} KiB pages",
                                  f"{extra:,.0f}", f"{extra * count / stored:+.1%}"])
            times: dict[Folder, list[float]] = {folder: [] for folder in folders}
            for _ in range(args.rounds):
                for folder in folders:
                    times[folder].append(overwrites(folder, count, args.commits))
            for folder in folders:
                commit_rows.append([f"{count:,}", f"{folder.layout}, {folder.page // 1024} KiB pages",
                                    f"{statistics.median(times[folder]) / 1000:.2f}"])
        finally:
            for folder in folders:
                folder.close()
    print_table("Bytes an object costs beyond its own (sizes 512 to 1,536 bytes, mean 1 KiB)",
                ["objects", "layout", "bytes", "of the bytes stored"], size_rows)
    print_table(f"A commit of 8 overwrites of keys spread over the objects, medians of {args.rounds} interleaved "
                f"rounds of {args.commits} commits (synchronous=FULL)",
                ["objects", "layout", "ms a commit"], commit_rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
