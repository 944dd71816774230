"""The speed patches to Moto keep Moto's output: the fast timestamp parser agrees with botocore's."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from botocore.utils import parse_to_aware_datetime
from hypothesis import given
from hypothesis import strategies as st

from moto_gateway import moto_patches
from moto_gateway.moto_patches import timestamps

MOMENTS = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(9998, 12, 31))


@given(MOMENTS, st.sampled_from(["%Y-%m-%dT%H:%M:%S.000Z", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ",
                                 "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f"]))
def test_the_fast_path_parses_iso_timestamps_as_botocore_does(moment, layout):
    text = moment.strftime(layout)
    fast, reference = timestamps.fast_aware_datetime(text), parse_to_aware_datetime(text)
    assert fast == reference
    assert fast.utcoffset() == reference.utcoffset() == timedelta(0)


AWARE_MOMENTS = MOMENTS.map(lambda moment: moment.replace(tzinfo=timezone.utc))


@given(st.one_of(st.text(max_size=40), st.integers(0, 2**31), AWARE_MOMENTS))
def test_anything_else_gets_botocores_answer(value):
    try:
        expected = parse_to_aware_datetime(value)
    except Exception as exc:  # noqa: BLE001 (botocore refuses it; so must the patch)
        expected = type(exc)
    try:
        got = timestamps.fast_aware_datetime(value)
    except Exception as exc:  # noqa: BLE001
        got = type(exc)
    assert got == expected


def test_moto_uses_the_patched_parser_once_applied():
    from moto.core import serialize

    moto_patches.apply()
    assert serialize.parse_to_aware_datetime is timestamps.fast_aware_datetime
