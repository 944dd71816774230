"""The pure parts of streamed GetObject bodies (moto_gateway/fast_paths/streamed_reads.py), without sockets.

A KeyBody must answer exactly what Moto does with the `bytes` it replaces (length, slices as Python slices
bytes, truthiness); a BodyStream must yield exactly those bytes; a lease must keep a key's body readable
after Moto disposes of the key (an overwrite, a delete) and close it once the last holder lets go.
"""

from __future__ import annotations

import gc

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import FakeKey

from moto_gateway import moto_patches
from moto_gateway.fast_paths.streamed_reads import is_object_read, streamed_answer, with_content_length
from moto_gateway.state.key_bodies import BodyStream, KeyBody, Reading, lazy_value
from moto_gateway.state import to_moto
from moto_gateway.wsgi.request import RequestView

DATA = bytes(range(256)) * 40  # 10,240 bytes


def key_of(data: bytes, buffer: int = 1024) -> FakeKey:
    moto_patches.apply()
    return FakeKey("k", data, account_id=DEFAULT_ACCOUNT_ID, region_name="us-east-1", max_buffer_size=buffer)


def streamed(body: KeyBody, chunk: int = 1000) -> bytes:
    (stream,) = list(body)
    stream.chunk = chunk
    try:
        return b"".join(stream)
    finally:
        stream.close()


def view(method: str, path: str, query: str = "") -> RequestView:
    return RequestView.from_environ(
        {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "HTTP_HOST": "localhost:5000"}
    )


@pytest.mark.parametrize(
    "method, path, query, expected",
    [
        ("GET", "/bucket/key", "", True),
        ("GET", "/bucket/dir/key", "partNumber=2", True),
        ("GET", "/bucket/key", "X-Amz-Signature=ab&response-content-type=text%2Fplain", True),
        ("GET", "/bucket/key", "versionId=abc", True),
        ("HEAD", "/bucket/key", "", False),
        ("PUT", "/bucket/key", "", False),
        ("GET", "/bucket", "", False),
        ("GET", "/bucket/", "", False),
        ("GET", "/bucket/key", "attributes", False),
        ("GET", "/bucket/key", "uploadId=1", False),
        ("GET", "/bucket/key", "tagging", False),
        ("GET", "/bucket/key", "acl", False),
    ],
)
def test_only_get_object_reads_are_streamed(method, path, query, expected):
    assert is_object_read(view(method, path, query)) is expected


def test_a_key_body_slices_and_measures_as_the_bytes_it_stands_for():
    key = key_of(DATA)
    body = lazy_value(key, Reading(threshold=100))
    assert isinstance(body, KeyBody)
    assert len(body) == len(DATA) and bool(body)
    parts = (slice(0, 10), slice(100, 5001), slice(5000, None), slice(-7, None), slice(9000, 99999), slice(50, 10))
    for part in parts:
        assert len(body[part]) == len(DATA[part])
        assert bool(body[part]) == bool(DATA[part])
        assert streamed(body[part]) == DATA[part]
    assert streamed(body[100:5000][10:20]) == DATA[100:5000][10:20]
    assert streamed(body) == DATA
    with pytest.raises(ValueError):
        body[::2]


def test_only_the_first_read_of_a_large_key_in_a_get_is_lazy():
    key = key_of(DATA)
    assert lazy_value(key, None) is None
    assert lazy_value(key, Reading(threshold=len(DATA))) is None  # not above the threshold
    reading = Reading(threshold=100)
    assert lazy_value(key, reading) is not None
    assert lazy_value(key, reading) is None


def test_the_patched_value_is_lazy_only_during_a_get_object():
    key = key_of(DATA)
    assert key.value == DATA
    token = to_moto.object_read.set(Reading(threshold=100))
    try:
        first = key.value
        assert isinstance(first, KeyBody)
        assert key.value == DATA  # any further read: Moto's bytes
    finally:
        to_moto.object_read.reset(token)
    assert streamed(first) == DATA


@pytest.mark.parametrize("buffer", [1024, 1024 * 1024])  # body on disk, body in memory
def test_a_leased_body_survives_the_key_s_disposal_and_closes_with_the_last_holder(buffer):
    key = key_of(DATA, buffer)
    body = lazy_value(key, Reading(threshold=100))
    (stream,) = list(body[10:])
    stream.chunk = 100
    chunks = iter(stream)
    first = next(chunks)
    key.dispose()  # what an overwrite or a delete does to the replaced key
    assert first + b"".join(chunks) == DATA[10:]
    shared = body.lease.shared
    assert shared.refs == 1 and not shared.buffer.closed
    del body, chunks
    stream.close()
    assert shared.refs == 0 and shared.buffer.closed
    stream.close()  # idempotent
    assert shared.refs == 0


def test_a_lease_never_streamed_is_released_when_dropped():
    key = key_of(DATA)
    body = lazy_value(key, Reading(threshold=100))
    shared = body.lease.shared
    assert shared.refs == 2  # the key's and the GET's
    del body
    gc.collect()
    assert shared.refs == 1 and not shared.buffer.closed
    key.dispose()
    assert shared.buffer.closed


def test_a_disposed_key_is_read_as_moto_reads_it():
    key = key_of(DATA)
    key.dispose()
    assert lazy_value(key, Reading(threshold=100)) is None


def test_a_key_already_shared_by_a_snapshot_is_leased_from_the_same_body():
    from moto_gateway.state.s3state import share_body

    key = key_of(DATA)
    snapshot = share_body(key)
    body = lazy_value(key, Reading(threshold=100))
    assert body.lease.shared is snapshot and snapshot.refs == 3
    assert streamed(body) == DATA
    assert snapshot.refs == 2


def test_a_truncated_body_fails_loudly_rather_than_sending_short():
    key = key_of(DATA)
    body = lazy_value(key, Reading(threshold=100))
    (stream,) = list(KeyBody(body.lease, 0, len(DATA) + 10))
    with pytest.raises(OSError):
        b"".join(stream)
    stream.close()


def test_the_answer_s_stream_is_found_and_given_its_length():
    key = key_of(DATA)
    body = lazy_value(key, Reading(threshold=100))
    chunks = list(body[5:105])
    stream = streamed_answer(chunks)
    assert isinstance(stream, BodyStream) and len(stream) == 100
    stream.close()
    assert streamed_answer([b"<xml/>"]) is None
    assert streamed_answer([]) is None
    headers = [("Content-Type", "binary/octet-stream")]
    assert with_content_length(headers, 100) == [*headers, ("Content-Length", "100")]
    kept = [("content-length", "7")]
    assert with_content_length(kept, 100) == kept
