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
Two patches of Moto (`apply`) make that possible: `S3Response.setup_class` takes the `StreamedBody` as
the request's body, and `FakeKey.value`'s setter, given one, adopts its spool as the key's buffer with
its size and MD5 (the ETag), the way bulk import stores objects.

CompleteMultipartUpload concatenates the parts into one bytearray (and a second for the default
CRC64NVME checksum): `complete_streamed` replaces Moto's `FakeMultipart.complete` with one that writes them
into a spool, computing the same ETag and checksums chunk by chunk.

CopyObject and UploadPartCopy read the source's `FakeKey.value` (all of it, then a slice of it) and store
that: during those requests the getter answers the first read of the source key with a `KeySlice`, which
the setter copies from the source key's buffer into the new key's, chunk by chunk, under the source key's
lock. A CopyObject that asks for a checksum (`x-amz-checksum-algorithm`) then has Moto read the copy's
value to compute it: that read gets a `KeySlice` of the copy too, and Moto's `compute_checksum` (as
`moto.s3.responses` calls it), given one, computes it chunk by chunk under the key's lock. Any other read
gets bytes as before.

GetObject of a key over the threshold: during the request the getter answers the key's first read with a
KeyBody, and the answer's body is a BodyStream read from the key's shared buffer (streamed_reads.py).

The layer copies a body before the bucket's lock is taken and sends a GET's after it is released
(bucket_locks.py): other requests to the bucket wait only for Moto's own work.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from tempfile import SpooledTemporaryFile
from typing import BinaryIO
from urllib.parse import unquote, urlparse

import anycrc
from moto.s3 import models as s3_models
from moto.s3.exceptions import EntityTooSmall, InvalidPart, MalformedXML, S3ClientError
from moto.s3.models import FakeKey, FakeMultipart, MultipartChecksumBuilder
from moto.s3 import responses as s3_responses
from moto.s3.responses import S3Response
from moto.s3 import utils as s3_utils
from moto.settings import get_s3_default_key_buffer_size
from werkzeug.wsgi import get_input_stream

from moto_gateway.checks.conformance.rules import CompletionChecksums
from moto_gateway.fast_paths.streamed_reads import (
    Reading,
    is_object_read,
    lazy_value,
    streamed_answer,
    with_content_length,
)
from moto_gateway.moto_patches import checksum_algorithms, require_moto
from moto_gateway.state import to_moto
from moto_gateway.state.s3state import KEY_CHUNK
from moto_gateway.state.to_moto import handed_to_moto
from moto_gateway.wsgi.aws_chunked import CHUNKED_PAYLOADS, MAX_CHUNK_LINE
from moto_gateway.wsgi.bodies import answered
from moto_gateway.wsgi.request import RequestView
from moto_gateway.wsgi.services import MOTO_OWN_PATHS, is_other_service

MOTO_VERSION = "5.2.5"
STREAM_ABOVE_BYTES = 1024 * 1024  # Moto's own path costs about 4x a body (measured: +40 MiB for 8 MiB)
# PUT subresources Moto's `_key_response_put` serves before it stores an object (their bodies are XML)
NOT_OBJECT_DATA = ("retention", "legal-hold", "acl", "tagging")

MOTO_COMPLETE = FakeMultipart.complete  # Moto's own, kept for comparison in tests

class BadDigest(S3ClientError):
    """Moto renders it as S3's error XML (it finds the service's error model by the exception's module,
    and `moto_gateway...` would read as a Moto service named `gateway`)."""

    __module__ = "moto.s3.exceptions"
    code = "BadDigest"

    def __init__(self, algorithm: str) -> None:
        super().__init__("BadDigest", f"The {algorithm} you specified did not match the calculated checksum.")


class StreamedBody:
    """A request body already stored in a spool: Moto passes it along where it would pass the bytes."""

    def __init__(self, spool: BinaryIO, size: int, md5_hex: str) -> None:
        self.spool = spool
        self.size = size
        self.md5_hex = md5_hex
        self.taken = False

    def __len__(self) -> int:
        return self.size

    def __bool__(self) -> bool:
        return True

    def take(self) -> BinaryIO:
        """The spool, handed over once (to the key that keeps it)."""
        if self.taken:
            raise RuntimeError("a streamed body was stored twice")
        self.taken = True
        return self.spool

    def close(self) -> None:
        if not self.taken:
            self.spool.close()


class KeySlice:
    """Bytes `start:stop` of a key's body, where Moto takes `src_key.value` (CopyObject, UploadPartCopy):
    copied straight from that key's buffer into the new key's when Moto stores it."""

    def __init__(self, key: FakeKey, start: int = 0, stop: int | None = None) -> None:
        self.key = key
        self.start = start
        self.stop = key.contentsize if stop is None else min(stop, key.contentsize)

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __bool__(self) -> bool:
        return True

    def __getitem__(self, part: slice) -> KeySlice:
        begin, end, step = part.indices(len(self))
        if step != 1:
            raise ValueError("a key's body is sliced with step 1 only")
        return KeySlice(self.key, self.start + begin, self.start + max(begin, end))

    def copy(self) -> StreamedBody:
        with self.key.lock:
            return spool_object(key_chunks(self.key, self.start, len(self)), None)


def install_body(key: FakeKey, spool: BinaryIO, size: int, md5_hex: str) -> None:
    """Makes `spool` (written, any position) the body of `key`, of `size` bytes whose MD5 is `md5_hex`.
    A key being built has no lock yet (FakeKey.__init__ sets its value first)."""
    with getattr(key, "lock", None) or nullcontext():
        replaced = key._value_buffer
        key._value_buffer = spool
        key.contentsize = size
        key._etag = md5_hex
    replaced.close()


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


# -- checksums as Moto computes them (moto.s3.utils.compute_checksum), one chunk at a time ----------------


class RunningChecksum:
    """Moto's `compute_checksum(body, algorithm)` as patched by `moto_patches.checksum_algorithms` (CRC32C
    and CRC64NVME from anycrc), base64, fed chunk by chunk."""

    def __init__(self, algorithm: str) -> None:
        self.kind, self.state, self.width = "crc32", 0, 4
        if algorithm == "SHA1":
            self.kind, self.state = "hash", hashlib.sha1(usedforsecurity=False)
        elif algorithm in checksum_algorithms.MODELS:
            name, self.width = checksum_algorithms.MODELS[algorithm]
            self.kind, self.model, self.state = "crc", anycrc.Model(name), None
        elif algorithm != "CRC32":
            self.kind, self.state = "hash", hashlib.sha256(usedforsecurity=False)

    def update(self, chunk: bytes) -> None:
        if self.kind == "hash":
            self.state.update(chunk)
        elif self.kind == "crc":
            if chunk:
                self.state = self.model.calc(chunk, self.state)
        else:
            self.state = zlib.crc32(chunk, self.state)

    def digest(self) -> bytes:
        if self.kind == "hash":
            return self.state.digest()
        return (self.state or 0).to_bytes(self.width, "big")

    def value(self) -> str:
        return base64.b64encode(self.digest()).decode()


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


def spool_object(chunks: Iterable[bytes], checksum: RunningChecksum | None) -> StreamedBody:
    """The chunks in a spool as Moto keeps a key's body, with their size and MD5."""
    spool = SpooledTemporaryFile(get_s3_default_key_buffer_size(), prefix="moto-gateway-object-")
    digest, size = hashlib.md5(usedforsecurity=False), 0
    try:
        for chunk in chunks:
            digest.update(chunk)
            if checksum is not None:
                checksum.update(chunk)
            spool.write(chunk)
            size += len(chunk)
    except BaseException:
        spool.close()
        raise
    return StreamedBody(spool, size, digest.hexdigest())


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


# -- the patches of Moto -----------------------------------------------------------------------------------


def _streaming_setup_class(original: Callable) -> Callable:
    def setup_class(self, request, full_url=None, headers=None):
        body = to_moto.streamed_body.get()
        if body is None:
            return original(self, request, full_url, headers)
        # S3Response decodes an aws-chunked body into a new bytes the size of the object: not this one
        self._handle_encoded_body = lambda _body: body
        self._handle_v4_chunk_signatures = lambda _body, _length: body
        try:
            original(self, request, full_url, headers)
        finally:
            del self._handle_encoded_body, self._handle_v4_chunk_signatures
        self.body = self.raw_body = body

    setup_class.streamed_bodies = True
    return setup_class


def _value_getter(original: Callable) -> Callable:
    def get_value(self):
        streamed = lazy_value(self, to_moto.object_read.get())
        if streamed is not None:
            return streamed
        source = to_moto.copy_source.get()
        if source is None:
            return original(self)
        here = (self.bucket_name, self.name)
        if here == (source.bucket, source.key) and not source.read:
            source.read = True  # what Moto stores
            return KeySlice(self)
        if source.read and here == source.checksummed:
            return KeySlice(self)  # what Moto computes the copy's checksum from (`checksum_of_slices`)
        return original(self)

    return get_value


def _value_setter(original: Callable) -> Callable:
    def set_value(self, new_value):
        if isinstance(new_value, KeySlice):
            new_value = new_value.copy()
        if isinstance(new_value, StreamedBody):
            # a completed multipart upload comes with its ETag (md5 of the parts' md5s, "-N")
            install_body(self, new_value.take(), new_value.size, self._etag or new_value.md5_hex)
            return
        original(self, new_value)

    return set_value


def key_chunks(key: FakeKey, start: int = 0, length: int | None = None) -> Iterable[bytes]:
    """A key's body (or `length` bytes of it from `start`) in chunks; the caller holds the key's lock."""
    buffer = key._value_buffer
    buffer.seek(start)
    remaining = key.contentsize - start if length is None else length
    while remaining > 0:
        piece = buffer.read(min(KEY_CHUNK, remaining))
        if not piece:
            return
        remaining -= len(piece)
        yield piece


def complete_streamed(self: FakeMultipart, body: Iterable[tuple[int, str]]):
    """Moto's `FakeMultipart.complete` (same checks, ETag and checksums), the parts concatenated into a
    spool instead of a bytearray (and a second one per checksum). The checksums the request names
    (`to_moto.multipart_completion`, from the conformance layer) are held to what was uploaded: a part's
    -> InvalidPart, the object's -> BadDigest, raised before Moto removes the upload, so it stays."""
    builder = MultipartChecksumBuilder(
        self.metadata.get("x-amz-checksum-algorithm"), self.metadata.get("x-amz-checksum-type")
    )
    expected = to_moto.multipart_completion.get() or CompletionChecksums({}, {})
    composite = builder.checksum_type == "COMPOSITE"
    whole = RunningChecksum(builder.checksum_algorithm)
    part_checksums = bytearray()
    md5s = bytearray()
    parts: list[tuple[int, FakeKey]] = []
    last = None
    for number, etag in body:
        part = self.parts.get(number)
        if part is None or part.etag.replace('"', "") != etag.replace('"', ""):
            raise InvalidPart()
        if last is not None and last.contentsize < s3_models.S3_UPLOAD_PART_MIN_SIZE:
            raise EntityTooSmall()
        md5s.extend(bytes.fromhex(part.etag.replace('"', "")))
        parts.append((number, part))
        last = part
    if not parts:
        raise MalformedXML

    def concatenated() -> Iterable[bytes]:
        for number, part in parts:
            running = RunningChecksum(builder.checksum_algorithm) if composite else whole
            named = {algorithm: RunningChecksum(algorithm) for algorithm in expected.parts.get(number, {})}
            with part.lock:
                for chunk in key_chunks(part):
                    running.update(chunk)
                    for checksum in named.values():
                        checksum.update(chunk)
                    yield chunk
            if any(checksum.value() != expected.parts[number][a] for a, checksum in named.items()):
                raise InvalidPart()
            if composite:
                part_checksums.extend(running.digest())

    value = spool_object(concatenated(), None)
    if composite:
        checksum = s3_utils.compute_checksum(bytes(part_checksums), builder.checksum_algorithm).decode()
        details = (builder.checksum_type, checksum, len(parts))
        matching = {checksum, f"{checksum}-{len(parts)}"}
    else:
        details = (builder.checksum_type, whole.value(), 1)
        matching = {details[1]}
    sent = expected.whole.get(builder.checksum_algorithm)
    if sent is not None and sent not in matching:
        value.close()
        raise BadDigest(builder.checksum_algorithm)
    return value, f"{hashlib.md5(bytes(md5s), usedforsecurity=False).hexdigest()}-{len(parts)}", details


def _checksum_of_slices(original: Callable) -> Callable:
    def compute_checksum(body, algorithm: str, encode_base64: bool = True) -> bytes:
        if not isinstance(body, KeySlice):
            return original(body, algorithm, encode_base64)
        running = RunningChecksum(algorithm)
        with body.key.lock:
            for chunk in key_chunks(body.key, body.start, len(body)):
                running.update(chunk)
        return base64.b64encode(running.digest()) if encode_base64 else running.digest()

    compute_checksum.streamed_bodies = True
    return compute_checksum


def apply() -> None:
    """Installs the patches (idempotent); after `moto_patches.checksum_algorithms`, whose CRCs it keeps."""
    require_moto(MOTO_VERSION, __name__)
    if not getattr(s3_responses.compute_checksum, "streamed_bodies", False):
        s3_responses.compute_checksum = _checksum_of_slices(s3_responses.compute_checksum)
    if not getattr(S3Response.setup_class, "streamed_bodies", False):
        S3Response.setup_class = _streaming_setup_class(S3Response.setup_class)
    prop = FakeKey.value
    if not getattr(prop.fset, "streamed_bodies", False):
        getter, setter = _value_getter(prop.fget), _value_setter(prop.fset)
        setter.streamed_bodies = True
        FakeKey.value = property(getter, setter)
    if FakeMultipart.complete is not complete_streamed:
        FakeMultipart.complete = complete_streamed
