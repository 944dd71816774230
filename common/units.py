"""How sizes read in log lines and messages."""

from __future__ import annotations


def human_bytes(size: float) -> str:
    """12 -> "12 B", 1536 -> "1.5 KiB", 5242880 -> "5 MiB", 3 * 1024**3 -> "3 GiB"."""
    if size < 1024:
        return f"{size:.0f} B"
    for unit in ("KiB", "MiB", "GiB"):
        size /= 1024
        if size < 1024 or unit == "GiB":
            return f"{size:.1f}".removesuffix(".0") + f" {unit}"
    raise AssertionError("unreachable")
