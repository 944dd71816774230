"""Reads a multipart/form-data body once: notes the fields, and spools the file's bytes (only those).

Memory stays bounded: the fields before the file are capped at S3's 20 KB (a body that never shows its
boundary is refused once that much has been read), the file goes to a spool that moves to disk past its
threshold, and reading stops at the end of the file part (S3 ignores what follows).
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import BinaryIO

from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from moto_gateway.signing.post_policy import MAX_PRE_FILE_BYTES, PostForm
from moto_gateway.wsgi.bodies import CHUNK

PART_HEADER_ALLOWANCE = 8 * 1024  # part headers of the file part may follow the 20 KB of fields


class FormScanner:
    """Feed it the body chunk by chunk; it fills a PostForm and stops parsing after the file part."""

    def __init__(self, boundary: bytes, file_spool: BinaryIO | None = None):
        self.decoder = MultipartDecoder(boundary)
        self.file_spool = file_spool
        self.digests: dict[str, object] = {}
        self.form = PostForm()
        self.done = False
        self.fed = 0
        self._part: str | None = None  # "field" / "file" / "ignored"
        self._name = ""
        self._value = bytearray()
        self._field_bytes = 0

    def feed(self, chunk: bytes | None) -> None:
        if self.done:
            return
        if chunk is not None:
            self.fed += len(chunk)
        try:
            self.decoder.receive_data(chunk)
            self._drain_events()
        except ValueError:  # includes UnicodeDecodeError from part headers
            self.form.malformed = True
            self.done = True

    def _consumed(self) -> int:
        return self.fed - len(self.decoder.buffer)

    def _drain_events(self) -> None:
        while not self.done:
            event = self.decoder.next_event()
            if isinstance(event, NeedData):
                if not self.form.has_file and (
                    self._consumed() > MAX_PRE_FILE_BYTES
                    or self.fed > MAX_PRE_FILE_BYTES + PART_HEADER_ALLOWANCE
                ):
                    self.form.pre_file_too_large = True
                    self.done = True
                return
            if isinstance(event, (Field, File)):
                self._start_part(event)
            elif isinstance(event, Data):
                self._part_data(event)
            elif isinstance(event, Epilogue):
                self.done = True

    def _start_part(self, event: Field | File) -> None:
        name = event.name or ""
        if name.lower() == "file":
            if self._consumed() > MAX_PRE_FILE_BYTES:
                self.form.pre_file_too_large = True
                self.done = True
                return
            self.form.has_file = True
            self.form.filename = event.filename if isinstance(event, File) else None
            self._part = "file"
            self.digests = checksums_for(self.form.lookup())
        else:
            self._part = "field"
            self._name = name
            self._value = bytearray()

    def _part_data(self, event: Data) -> None:
        if self._part == "file":
            self.form.file_size += len(event.data)
            if self.file_spool is not None:
                self.file_spool.write(event.data)
            for digest in self.digests.values():
                digest.update(event.data)
            if not event.more_data:
                self.form.checksums = {name: digest.finish() for name, digest in self.digests.items()}
                self.done = True  # S3 ignores every field after the file
            return
        self._field_bytes += len(event.data)
        if self._field_bytes > MAX_PRE_FILE_BYTES:
            self.form.pre_file_too_large = True
            self.done = True
            return
        self._value.extend(event.data)
        if not event.more_data:
            self.form.fields.append((self._name, self._value.decode("utf-8", "replace")))

    def finish(self) -> PostForm:
        """The body has ended: an unterminated form is malformed."""
        if not self.done:
            self.feed(None)
        return self.form


class Digest:
    """A running checksum of the file, finished as S3 writes it (base64 of the big-endian digest)."""

    def __init__(self, algorithm: str):
        self.algorithm = algorithm
        self.crc = 0
        self.hash = hashlib.new(algorithm) if algorithm in ("sha1", "sha256") else None

    def update(self, data: bytes) -> None:
        if self.hash is not None:
            self.hash.update(data)
        else:
            self.crc = zlib.crc32(data, self.crc)

    def finish(self) -> str:
        raw = self.hash.digest() if self.hash is not None else self.crc.to_bytes(4, "big")
        return base64.b64encode(raw).decode("ascii")


CHECKSUM_FIELDS = {
    "x-amz-checksum-sha256": "sha256",
    "x-amz-checksum-sha1": "sha1",
    "x-amz-checksum-crc32": "crc32",
}


def checksums_for(fields: dict[str, str]) -> dict[str, Digest]:
    """The checksums the form asks for that the gateway can compute (CRC32C and CRC64 are only stored)."""
    return {name: Digest(algorithm) for name, algorithm in CHECKSUM_FIELDS.items() if name in fields}


def scan_form(stream: BinaryIO, boundary: bytes, file_spool: BinaryIO) -> PostForm:
    """Reads `stream` up to the end of the file part, the file's bytes into `file_spool`; what the form said.

    Stops early when the form is malformed or its fields are too large: the rest is not read.
    """
    scanner = FormScanner(boundary, file_spool)
    while not scanner.done:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        scanner.feed(chunk)
    return scanner.finish()
