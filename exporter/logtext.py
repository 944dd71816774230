"""How keys and sizes appear in log lines."""


def printable(key: str) -> str:
    """A key as it may appear in a log line: control characters escaped, so no key can forge a line."""
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in key)


def human_bytes(size: float) -> str:
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"
