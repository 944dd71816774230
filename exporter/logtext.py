"""How keys and sizes appear in log lines."""

from common.units import human_bytes  # noqa: F401 (one byte formatter, in common)


def printable(key: str) -> str:
    """A key as it may appear in a log line: control characters escaped, so no key can forge a line."""
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in key)


