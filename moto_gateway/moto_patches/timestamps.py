"""Speed: Moto keeps an object's Last-Modified as an ISO-8601 string, and its response serializer parses it
back with botocore's general parser (dateutil) for every timestamp it writes: 31% of the CPU of a
ListObjectsV2 of 100 keys (py-spy, GIL samples). Strings in exactly that form are parsed with
`datetime.fromisoformat` instead (UTC, with or without the `Z`); everything else still goes to botocore's
parser, so the output is unchanged. Written for Moto 5.2.5.
"""

from __future__ import annotations

import re
from datetime import datetime

from botocore.utils import parse_to_aware_datetime
from dateutil.tz import tzutc
from moto.core import serialize

from moto_gateway.moto_patches import require_moto

ISO_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3}|\.\d{6})?Z?")
UTC = tzutc()


def fast_aware_datetime(value):
    """botocore's `parse_to_aware_datetime`, with a fast path for full ISO-8601 strings."""
    if isinstance(value, str) and ISO_TIMESTAMP.fullmatch(value):
        return datetime.fromisoformat(value.rstrip("Z")).replace(tzinfo=UTC)  # UTC, as botocore assumes
    return parse_to_aware_datetime(value)


def apply() -> None:
    require_moto("5.2.5", "timestamps")
    if getattr(serialize, "parse_to_aware_datetime", None) is parse_to_aware_datetime:
        serialize.parse_to_aware_datetime = fast_aware_datetime
