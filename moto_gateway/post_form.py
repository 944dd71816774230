"""Reads a multipart/form-data body once: spools every byte for Moto, and notes the fields and file size.

Memory stays bounded: the fields before the file are capped at S3's 20 KB, the file is only counted,
and the spool moves to disk past its threshold.
"""

from __future__ import annotations

from typing import BinaryIO

from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from moto_gateway.post_policy import MAX_PRE_FILE_BYTES, PostForm

CHUNK = 64 * 1024


class FormScanner:
    """Feed it the body chunk by chunk; it fills a PostForm and stops parsing after the file part."""

    def __init__(self, boundary: bytes):
        self.decoder = MultipartDecoder(boundary)
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
                if not self.form.has_file and self._consumed() > MAX_PRE_FILE_BYTES:
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
        else:
            self._part = "field"
            self._name = name
            self._value = bytearray()

    def _part_data(self, event: Data) -> None:
        if self._part == "file":
            self.form.file_size += len(event.data)
            if not event.more_data:
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


def scan_form(stream: BinaryIO, boundary: bytes, spool: BinaryIO) -> PostForm:
    """Copies `stream` to `spool` to the end, scanning the form on the way; returns what the form said."""
    scanner = FormScanner(boundary)
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        spool.write(chunk)
        scanner.feed(chunk)
    return scanner.finish()
