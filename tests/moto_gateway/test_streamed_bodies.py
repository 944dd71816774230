"""streamed_bodies.py without sockets: which requests stream, aws-chunked decoding, checksums computed chunk
by chunk equal Moto's one-shot ones, and the Moto patches (a key adopting a spool, key-to-key slices, a
multipart completion) give exactly what unpatched Moto gives."""

from __future__ import annotations

import io
import random

import moto
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import FakeKey, FakeMultipart, s3_backends
from moto.s3 import utils as s3_utils

from moto_gateway import moto_patches
from moto_gateway.fast_paths.streamed_bodies import decoded_chunks, should_stream
from moto_gateway.moto_patches import (
    checksum_of_slices,
    key_value,
    streamed_completion,
    streamed_request_body,
)
from moto_gateway.moto_patches.checksum_algorithms import RunningChecksum
from moto_gateway.moto_patches.streamed_completion import complete_streamed
from moto_gateway.state.key_bodies import KeySlice, StreamedBody, spool_object
from moto_gateway.wsgi.request import RequestView

moto_patches.apply()


def view(method: str, path: str, query: str = "", **headers: str) -> RequestView:
    return RequestView(method, path, query, {"host": "127.0.0.1:5000", **headers})


@pytest.mark.parametrize(
    ("request_view", "streams"),
    [
        (view("PUT", "/b/k"), True),
        (view("PUT", "/b/k", "uploadId=u&partNumber=3"), True),
        (view("PUT", "/b/k", "x-id=PutObject&X-Amz-Signature=ab"), True),
        (view("PUT", "/b/k", "tagging"), False),
        (view("PUT", "/b/k", "acl"), False),
        (view("PUT", "/b/k", "retention"), False),
        (view("PUT", "/b/k", "legal-hold"), False),
        (view("PUT", "/b/k", **{"x-amz-copy-source": "b/other"}), False),
        (view("PUT", "/b"), False),
        (view("PUT", "/b/", "cors"), False),
        (view("POST", "/b/k", "uploads"), False),
        (view("GET", "/b/k"), False),
    ],
)
def test_only_object_and_part_bodies_above_the_threshold_stream(request_view, streams):
    assert should_stream(request_view, 100, 10) is streams
    assert should_stream(request_view, 10, 10) is False
    assert should_stream(request_view, None, 10) is False


def test_aws_chunked_bodies_are_decoded_with_their_trailers():
    data = random.Random(1).randbytes(300_000)
    framed = b"".join(
        f"{len(piece):x};chunk-signature=ab\r\n".encode() + piece + b"\r\n"
        for piece in (data[:70_000], data[70_000:])
    ) + b"0;chunk-signature=cd\r\nx-amz-checksum-crc32:AAAAAA==\r\nX-Other: 1\r\n\r\n"
    trailers: dict[str, str] = {}
    assert b"".join(decoded_chunks(io.BytesIO(framed), trailers)) == data
    assert trailers == {"x-amz-checksum-crc32": "AAAAAA==", "x-other": "1"}


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_running_checksums_equal_moto_s(algorithm):
    """Equal to what the gateway's Moto computes: with its patches, CRC32C and CRC64NVME are real ones."""
    moto_patches.apply()
    data = random.Random(2).randbytes(3_000_000)
    running = RunningChecksum(algorithm)
    for start in range(0, len(data), 1 << 20):
        running.update(data[start : start + (1 << 20)])
    assert running.value() == s3_utils.compute_checksum(data, algorithm).decode()


def test_a_key_adopts_a_streamed_body_with_its_size_and_md5():
    data = random.Random(3).randbytes(2_000_000)
    body = spool_object([data[:1_000_000], data[1_000_000:]], None)
    key = FakeKey("k", body, account_id=DEFAULT_ACCOUNT_ID, region_name="us-east-1", max_buffer_size=1024)
    assert body.taken
    plain = FakeKey("k", data, account_id=DEFAULT_ACCOUNT_ID, region_name="us-east-1")
    assert (key.value, key.size, key.etag) == (plain.value, plain.size, plain.etag)
    body.close()  # taken: the key's buffer stays open
    assert key.value == data
    with pytest.raises(RuntimeError):
        body.take()


def test_key_slices_copy_what_bytes_slices_would():
    data = random.Random(4).randbytes(100_000)
    source = FakeKey("src", data, account_id=DEFAULT_ACCOUNT_ID, region_name="us-east-1")
    whole = KeySlice(source)
    assert len(whole) == len(data)
    for start, stop in [(0, None), (10, 20), (99_990, 200_000), (5, 5)]:
        piece = whole[start:stop]
        copy = FakeKey("dst", piece, account_id=DEFAULT_ACCOUNT_ID, region_name="us-east-1")
        expected = FakeKey("dst", data[start:stop], account_id=DEFAULT_ACCOUNT_ID, region_name="us-east-1")
        assert (copy.value, copy.size, copy.etag) == (expected.value, expected.size, expected.etag)


@pytest.mark.parametrize(
    ("algorithm", "checksum_type"),
    [(None, None), ("SHA256", None), ("CRC32", "FULL_OBJECT"), ("SHA1", "COMPOSITE"), ("CRC32", None)],
)
def test_a_streamed_multipart_completion_equals_moto_s(algorithm, checksum_type):
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    metadata = {}
    if algorithm:
        metadata["x-amz-checksum-algorithm"] = algorithm
    if checksum_type:
        metadata["x-amz-checksum-type"] = checksum_type
    upload = FakeMultipart("k", metadata, account_id=backend.account_id, region_name="us-east-1")
    sizes = [5 * 1024 * 1024, 5 * 1024 * 1024 + 7, 1234]
    rng = random.Random(5)
    parts = [upload.set_part(number, rng.randbytes(size)) for number, size in enumerate(sizes, 1)]
    listed = [(number, part.etag) for number, part in enumerate(parts, 1)]
    original = streamed_completion.MOTO_COMPLETE
    expected_value, expected_etag, expected_checksum = original(upload, iter(listed))
    value, etag, checksum = complete_streamed(upload, iter(listed))
    assert isinstance(value, StreamedBody)
    key = FakeKey("k", value, account_id=DEFAULT_ACCOUNT_ID, region_name="us-east-1", etag=etag)
    assert key.value == expected_value
    assert (etag, checksum) == (expected_etag, expected_checksum)
    assert key.etag == f'"{expected_etag}"'


def test_a_completion_refuses_what_moto_refuses():
    from moto.s3.exceptions import EntityTooSmall, InvalidPart, MalformedXML

    upload = FakeMultipart("k", {}, account_id=DEFAULT_ACCOUNT_ID, region_name="us-east-1")
    small = upload.set_part(1, b"small")
    upload.set_part(2, b"tail")
    with pytest.raises(InvalidPart):
        complete_streamed(upload, iter([(1, '"0000"')]))
    with pytest.raises(EntityTooSmall):
        complete_streamed(upload, iter([(1, small.etag), (2, upload.parts[2].etag)]))
    with pytest.raises(MalformedXML):
        complete_streamed(upload, iter([]))


@pytest.mark.parametrize(
    "patch",
    [streamed_request_body, key_value, streamed_completion, checksum_of_slices],
    ids=lambda module: module.__name__.rsplit(".", 1)[1],
)
def test_each_streaming_patch_refuses_another_moto(monkeypatch, patch):
    monkeypatch.setattr(moto, "__version__", "9.9.9")
    with pytest.raises(RuntimeError, match="written for Moto 5.2.5, not 9.9.9"):
        patch.apply()
