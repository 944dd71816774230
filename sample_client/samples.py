"""The sample objects, decided without any I/O: keys, bytes and Content-Types, from a timestamp."""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass
from datetime import datetime

BUCKET = "test-bucket"


@dataclass(frozen=True)
class SampleObject:
    key: str
    body: bytes
    content_type: str


def png(width: int, height: int) -> bytes:
    """A real RGB PNG (a colour gradient), built with zlib so the image needs no imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    def pixel(x: int, y: int) -> bytes:
        return bytes((x * 255 // (width - 1), y * 255 // (height - 1), 160))

    rows = b"".join(b"\x00" + b"".join(pixel(x, y) for x in range(width)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    image = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + image


def sales_csv() -> bytes:
    rows = [
        ("date", "region", "product", "units", "revenue"),
        ("2025-01-06", "tokyo", "widget", "12", "144.00"),
        ("2025-01-06", "osaka", "gadget", "3", "89.97"),
        ("2025-01-07", "tokyo", "gadget", "7", "209.93"),
        ("2025-01-08", "sapporo", "widget", "20", "240.00"),
    ]
    return "".join(",".join(row) + "\r\n" for row in rows).encode()


def sample_objects(created_at: datetime) -> list[SampleObject]:
    """What `seed` puts into test-bucket; `unseed` deletes exactly these keys."""
    stamp = created_at.isoformat(timespec="seconds")
    message = "hello moto server"
    return [
        SampleObject("sample/hello.txt", f"{message}\ncreated_at: {stamp}\n".encode(), "text/plain"),
        SampleObject(
            "sample/data.json",
            (json.dumps({"message": message, "created_at": stamp}, indent=2) + "\n").encode(),
            "application/json",
        ),
        SampleObject("sample/images/gradient.png", png(64, 48), "image/png"),
        SampleObject("sample/reports/2025/01/sales.csv", sales_csv(), "text/csv"),
        SampleObject(
            "sample/docs/guides/getting started/README.md",
            b"# Getting started\n\nThis object lives under a nested path with a space in it.\n",
            "text/markdown",
        ),
    ]


def sample_keys() -> list[str]:
    return [obj.key for obj in sample_objects(datetime(2000, 1, 1))]
