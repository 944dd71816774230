"""Names S3 allows: the one bucket-name rule every service checks against."""

from __future__ import annotations

import re

BUCKET_NAME = re.compile(r"^(?!xn--)(?!.*\.\.)(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
"""3-63 characters of a-z, 0-9, `.` and `-`, starting and ending with a letter or digit; no `..`, no
IP-address shape, no `xn--` prefix."""


def is_valid_bucket_name(name: str) -> bool:
    """S3's rules; such a name is also a safe folder name (no `/`, `_`, leading `.`, or `..`)."""
    return bool(BUCKET_NAME.match(name))
