"""Large PutObject and UploadPart bodies go from the request into Moto's key on disk, never whole in memory.

Moto 5.2.5 reads every request body into one `bytes` (`request.data`), decodes an aws-chunked body into
a second one, and writes that into the key's buffer (a SpooledTemporaryFile): a 1 GiB PUT grew the
process by 2 GiB. For a PUT of an object or a part whose body is larger than `threshold` (1 MiB, or
GATEWAY_SPOOL_MEMORY_BYTES if that is smaller), `StreamedBodies` copies the body (aws-chunked framing
removed) into a spool of its own, as Moto would keep it (memory up to Moto's key buffer size, then a
temporary file), hashing it on the way, and hands Moto an empty request stream and a `StreamedBody` in its place. Everything else
Moto does for that request is unchanged: headers, metadata, ACL, tagging, SSE, versioning, object lock,
conditional writes, notifications, its answer; the layers outside (signatures, Content-MD5,
x-amz-checksum-*, x-amz-content-sha256, access) have checked the body before, each from its own spool.
Two patches of Moto make that possible: `S3Response.setup_class` takes the `StreamedBody` as the request's
body (moto_patches/streamed_request_body.py), and `FakeKey.value`'s setter, given one, adopts its spool as
the key's buffer with its size and MD5 (the ETag), the way bulk import stores objects
(moto_patches/key_value.py). The types handed over are in state/key_bodies.py.

CompleteMultipartUpload concatenates the parts into one bytearray (and a second for the default
CRC64NVME checksum): moto_patches/streamed_completion.py replaces Moto's `FakeMultipart.complete` with one
that writes them into a spool, computing the same ETag and checksums chunk by chunk.

CopyObject and UploadPartCopy read the source's `FakeKey.value` (all of it, then a slice of it) and store
that: during those requests the getter answers the first read of the source key with a `KeySlice`, which
the setter copies from the source key's buffer into the new key's, chunk by chunk, under the source key's
lock. A CopyObject that asks for a checksum (`x-amz-checksum-algorithm`) then has Moto read the copy's
value to compute it: that read gets a `KeySlice` of the copy too, and Moto's `compute_checksum` (as
`moto.s3.responses` calls it), given one, computes it chunk by chunk under the key's lock
(moto_patches/checksum_of_slices.py). Any other read gets bytes as before.

GetObject of a key over the threshold: during the request the getter answers the key's first read with a
KeyBody, and the answer's body is a BodyStream read from the key's shared buffer (streamed_reads.py).

The layer copies a body before the bucket's lock is taken and sends a GET's after it is released
(bucket_locks.py): other requests to the bucket wait only for Moto's own work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from werkzeug.wsgi import get_input_stream

from moto_gateway.fast_paths.streamed_reads import is_object_read, streamed_answer, with_content_length
from moto_gateway.moto_patches.checksum_algorithms import RunningChecksum
from moto_gateway.state import to_moto
from moto_gateway.state.key_bodies import Reading, spool_object
from moto_gateway.state.s3state import KEY_CHUNK
from moto_gateway.state.to_moto import handed_to_moto
from moto_gateway.wsgi.aws_chunked import CHUNKED_PAYLOADS, MAX_CHUNK_LINE
from moto_gateway.wsgi.bodies import answered
from moto_gateway.wsgi.request import RequestView
from moto_gateway.wsgi.services import MOTO_OWN_PATHS, is_other_service

STREAM_ABOVE_BYTES = 1024 * 1024  # Moto's own path costs about 4x a body (measured: +40 MiB for 8 MiB)
# PUT subresources Moto's `_key_response_put` serves before it stores an object (their bodies are XML)
NOT_OBJECT_DATA = ("retention", "legal-hold", "acl", "tagging")

# -- what is streamed (pure) -----------------------------------------------------------------------------


@dataclass
class CopySource:
    """The key a copy reads (as Moto parses x-amz-copy-source); `read` once its value was handed out."""

    bucket: str
    key: str
    read: bool = False
    checksummed: tuple[str, str] | None = None  # the copy (bucket, key), when Moto computes its checksum


def copy_source(view: RequestView) -> CopySource | None:
    path = urlparse(view.headers.get("x-amz-copy-source", "")).path
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if not bucket or not key:
        return None
    asks_checksum = "x-amz-checksum-algorithm" in view.headers and "uploadId" not in view.params
    target = (view.addressing.bucket, view.addressing.key) if asks_checksum else None
    return CopySource(bucket, key, checksummed=target)


def is_copy(view: RequestView) -> bool:
    """CopyObject or UploadPartCopy: Moto reads the source key's whole value, then stores it."""
    return (
        view.method == "PUT"
        and "x-amz-copy-source" in view.headers
        and view.addressing.bucket is not None
        and bool(view.addressing.key)
    )


def is_object_data_put(view: RequestView) -> bool:
    """A PUT whose body Moto stores as an object or a part (not a copy, not a subresource)."""
    if view.method != "PUT" or view.addressing.bucket is None or not view.addressing.key:
        return False
    if "x-amz-copy-source" in view.headers:
        return False
    params = view.params
    if params.get("uploadId") and params.get("partNumber"):
        return True
    return not any(name in params for name in NOT_OBJECT_DATA)


def body_length(environ: dict) -> int | None:
    value = environ.get("CONTENT_LENGTH", "")
    return int(value) if value.isascii() and value.isdigit() else None


def should_stream(view: RequestView, length: int | None, threshold: int) -> bool:
    return length is not None and length > threshold and is_object_data_put(view)


def checksum_header(view: RequestView) -> str | None:
    """The header Moto reads the request's checksum from (x-amz-sdk-checksum-algorithm), if any."""
    algorithm = view.headers.get("x-amz-sdk-checksum-algorithm", "")
    return f"x-amz-checksum-{algorithm.lower()}" if algorithm else None


# -- reading the body --------------------------------------------------------------------------------------


def plain_chunks(stream: BinaryIO) -> Iterable[bytes]:
    while chunk := stream.read(KEY_CHUNK):
        yield chunk


def decoded_chunks(stream: BinaryIO, trailers: dict[str, str]) -> Iterable[bytes]:
    """The data of an aws-chunked body (framing already checked by BodyChecks); fills `trailers`."""
    while True:
        line = stream.readline(MAX_CHUNK_LINE)
        size_text = line.split(b";", 1)[0].strip()
        size = int(size_text, 16) if size_text else 0
        if size == 0:
            break
        while size:
            piece = stream.read(min(size, KEY_CHUNK))
            if not piece:
                return
            size -= len(piece)
            yield piece
        stream.read(2)
    while line := stream.readline(MAX_CHUNK_LINE).strip():
        name, _, value = line.decode("latin-1").partition(":")
        trailers[name.strip().lower()] = value.strip()


class StreamedBodies:
    """WSGI layer: a large object or part body reaches Moto as a StreamedBody, not as bytes."""

    def __init__(self, app: Callable, spool_memory_bytes: int) -> None:
        self.app = app
        self.threshold = min(spool_memory_bytes, STREAM_ABOVE_BYTES)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(MOTO_OWN_PATHS) or is_other_service(environ):
            return self.app(environ, start_response)
        view = RequestView.from_environ(environ)
        source = copy_source(view) if is_copy(view) else None
        if source is not None:
            with handed_to_moto(to_moto.copy_source, source):
                return answered(self.app, environ, start_response)
        if is_object_read(view):
            return self.read(environ, start_response)
        if not should_stream(view, body_length(environ), self.threshold):
            return self.app(environ, start_response)
        header = checksum_header(view)
        wanted = header is not None and not view.headers.get(header)
        checksum = RunningChecksum(view.headers["x-amz-sdk-checksum-algorithm"]) if wanted else None
        stream = get_input_stream(environ)
        trailers: dict[str, str] = {}
        chunked = view.headers.get("x-amz-content-sha256") in CHUNKED_PAYLOADS
        body = spool_object(decoded_chunks(stream, trailers) if chunked else plain_chunks(stream), checksum)
        try:
            if wanted:
                # Moto reads the checksum from its header, else from a trailer in the raw body, else
                # computes it over the body: the same value, found here, goes in as the header.
                trailer = next((v for n, v in trailers.items() if n.startswith("x-amz-checksum-")), None)
                environ["HTTP_" + header.upper().replace("-", "_")] = trailer or checksum.value()
            environ["wsgi.input"] = _EmptyInput()
            environ["wsgi.input_terminated"] = True
            with handed_to_moto(to_moto.streamed_body, body):
                return answered(self.app, environ, start_response)
        finally:
            body.close()


    def read(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        """A GetObject: Moto's answer, whose body is a BodyStream for a large object (streamed_reads.py).
        The start of the answer waits until Moto is done, to give the stream its Content-Length."""
        started: list[tuple] = []

        def deferred_start(status: str, headers: list, exc_info=None):
            started.append((status, headers, exc_info))
            return lambda _data: None

        with handed_to_moto(to_moto.object_read, Reading(self.threshold)):
            chunks = answered(self.app, environ, deferred_start)
        stream = streamed_answer(chunks)
        status, headers, exc_info = started[-1]
        if stream is None:
            start_response(status, headers, exc_info)
            return chunks
        try:
            start_response(status, with_content_length(headers, len(stream)), exc_info)
        except BaseException:
            stream.close()
            raise
        return stream


class _EmptyInput:
    """What Moto reads as the request stream: nothing (its body is the StreamedBody)."""

    def read(self, size: int = -1) -> bytes:
        return b""

    def readline(self, size: int = -1) -> bytes:
        return b""

    def readinto(self, buffer) -> int:
        return 0
