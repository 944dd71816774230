"""Moto 5.2.5: GetObject and HeadObject with `partNumber` answer with that part of a multipart object, and a
multipart object remembers which parts its CompleteMultipartUpload named, in order.

S3 API Reference, GetObject / HeadObject (`partNumber`: "Effectively performs a 'ranged' GET request for the
part specified"; `x-amz-mp-parts-count`: "The count of parts this object has"). S3 answers 206 with the part's
bytes, its `Content-Range` within the object, the part count, and the object's own ETag (the
"md5-of-md5s-N" one: conditional headers and ETag checks of a parallel download compare it).
Moto ignored `partNumber` on GetObject (the whole object, 200), answered HeadObject with the part's own
ETag and no Content-Range, looked parts up by the number they were uploaded with, among every part ever
uploaded (also those the completion left out) and answered 500 for a part that does not exist.
Part numbers here count the completed parts in order, 1..N, as the ETag's "-N" does.
Out-of-range part numbers are refused before Moto (S3's 416 InvalidPartNumber; gateway's conformance rules).
With `x-amz-checksum-mode: ENABLED`, a part of an object with a COMPOSITE checksum answers with the part's
own checksum (S3 User Guide, "Checking object integrity": the checksum of each part can be read with
GetObject / HeadObject and its part number); the whole object's is never a part's.
"""

from __future__ import annotations

from moto_gateway.moto_patches import require_moto
from moto_gateway.moto_patches.checksum_algorithms import RunningChecksum
from moto_gateway.state.key_bodies import key_chunks

MOTO_VERSION = "5.2.5"


def completed_parts(key) -> list:
    """The parts of a completed multipart object, in order ([] for an object uploaded in one piece)."""
    multipart = getattr(key, "multipart", None)
    if multipart is None:
        return []
    numbers = getattr(multipart, "completed_part_numbers", None) or multipart.partlist
    return [multipart.parts[number] for number in numbers if number in multipart.parts]


def part_range(key, part_number: int) -> tuple[int, int, int] | None:
    """(first byte, last byte, part count) of part `part_number` of a multipart object; None otherwise."""
    parts = completed_parts(key)
    if not 1 <= part_number <= len(parts):
        return None
    start = sum(part.size for part in parts[: part_number - 1])
    return start, start + parts[part_number - 1].size - 1, len(parts)


def part_checksum(key, part_number: int) -> dict[str, str]:
    """The checksum header of part `part_number` of an object whose checksum is COMPOSITE ({} otherwise),
    computed from the part's bytes a chunk at a time, as GetObjectAttributes lists it (object_attributes.py):
    the parts' own buffers are gone once the upload completed."""
    algorithm = (getattr(key, "checksum_algorithm", None) or "").upper()
    found = part_range(key, part_number)
    if not algorithm or getattr(key, "checksum_type", None) != "COMPOSITE" or found is None:
        return {}
    first, last, _count = found
    running = RunningChecksum(algorithm)
    with key.lock:
        for chunk in key_chunks(key, first, last - first + 1):
            running.update(chunk)
    return {f"x-amz-checksum-{algorithm.lower()}": running.value()}


def apply() -> None:
    require_moto(MOTO_VERSION, __name__)
    from moto.s3.models import S3Backend
    from moto.s3.responses import S3Response

    original_complete = S3Backend.complete_multipart_upload
    if getattr(original_complete, "motostack_patched", False):
        return
    original_get_object = S3Response.get_object
    original_head_object = S3Response.head_object

    def complete(self, bucket_name, multipart_id, body):
        """The backend's completion, not `FakeMultipart.complete`: the gateway replaces that one to stream
        the parts (streamed_completion.py), and both must hold."""
        named = list(body)
        key = original_complete(self, bucket_name, multipart_id, iter(named))
        if key is not None and key.multipart is not None:
            key.multipart.completed_part_numbers = [number for number, _etag in named]
        return key

    def as_part(key, part_number: int, headers: dict, checksum_mode: bool) -> tuple[int, int] | None:
        """Turns the whole object's headers into the part's; (first, last) byte, or None to leave them."""
        found = part_range(key, part_number) if key is not None else None
        if found is None:
            return None
        first, last, count = found
        for name in list(headers):
            lowered = name.lower()
            if lowered in ("content-length", "content-range") or lowered.startswith("x-amz-checksum-"):
                headers.pop(name)  # the whole object's
        headers["content-range"] = f"bytes {first}-{last}/{key.size}"
        headers["x-amz-mp-parts-count"] = str(count)
        if checksum_mode:
            headers.update(part_checksum(key, part_number))
        return first, last

    def get_object(self):
        raw = self.querystring.get("partNumber")
        if not raw:
            return original_get_object(self)
        part_number = int(raw[0])
        key = self.backend.get_object(self.bucket_name, self.parse_key_name(), self._get_param("versionId"))
        if key is None or not completed_parts(key):
            return original_get_object(self)
        self.querystring.pop("partNumber")
        try:
            status, headers, body = original_get_object(self)
        finally:
            self.querystring["partNumber"] = raw
        if status != 200:
            return status, headers, body
        checksum_mode = (self.headers.get("x-amz-checksum-mode") or "").upper() == "ENABLED"
        span = as_part(key, part_number, headers, checksum_mode)
        if span is None:
            return status, headers, body
        return 206, headers, body[span[0] : span[1] + 1]

    def head_object(self, bucket_name, query, key_name, headers):
        raw = query.get("partNumber", [None])[0]
        if not raw:
            return original_head_object(self, bucket_name, query, key_name, headers)
        version_id = query.get("versionId", [None])[0]
        key = self.backend.get_object(bucket_name, key_name, version_id)
        if key is None or not completed_parts(key):
            return original_head_object(self, bucket_name, query, key_name, headers)
        whole = {name: value for name, value in query.items() if name != "partNumber"}
        status, response_headers, body = original_head_object(self, bucket_name, whole, key_name, headers)
        if status != 200:
            return status, response_headers, body
        checksum_mode = (headers.get("x-amz-checksum-mode") or "").upper() == "ENABLED"
        span = as_part(key, int(raw), response_headers, checksum_mode)
        if span is None:
            return status, response_headers, body
        response_headers["content-length"] = str(span[1] - span[0] + 1)
        return 206, response_headers, body

    complete.motostack_patched = True
    S3Backend.complete_multipart_upload = complete
    S3Response.get_object = get_object
    S3Response.head_object = head_object
