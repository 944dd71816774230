"""Real image files for upload tests, made with zlib and struct (no Pillow)."""

import struct
import zlib


def png_bytes(
    width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (47, 111, 222), padding: int = 0
) -> bytes:
    """A valid RGB PNG of one colour; `padding` adds an uncompressed text chunk to make the file bigger."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunks = [chunk(b"IHDR", header), chunk(b"IDAT", zlib.compress(row * height, 9))]
    if padding:
        chunks.append(chunk(b"tEXt", b"Comment\x00" + b"x" * padding))
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks) + chunk(b"IEND", b"")
