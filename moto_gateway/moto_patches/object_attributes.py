"""Moto 5.2.5: GetObjectAttributes answers `ObjectParts` for a multipart object, and a composite checksum
with its part count.

S3 API Reference, GetObjectAttributes (`ObjectParts`: TotalPartsCount, PartNumberMarker,
NextPartNumberMarker, MaxParts, IsTruncated and Parts, each with PartNumber, Size and the part's checksum;
`x-amz-max-parts`, `x-amz-part-number-marker`). S3 lists the parts of uploads made with a checksum
algorithm and counts them for every multipart object; an object uploaded in one piece has no
`ObjectParts`. Moto's `S3Backend.get_object_attributes` left ObjectParts out ("not yet returned").
"""

from __future__ import annotations

from typing import Any

from moto_gateway.moto_patches import require_moto
from moto_gateway.moto_patches.part_reads import completed_parts

MOTO_VERSION = "5.2.5"
DEFAULT_MAX_PARTS = 1000


def object_parts(key, max_parts: int, marker: int) -> dict[str, Any] | None:
    """GetObjectAttributes' ObjectParts for `key`: part numbers count the completed parts 1..N."""
    from moto.s3.utils import compute_checksum

    parts = completed_parts(key)
    if not parts:
        return None
    answer: dict[str, Any] = {"TotalPartsCount": len(parts)}
    algorithm = (key.multipart.metadata.get("x-amz-checksum-algorithm") or "").upper()
    if not algorithm:
        return answer
    starts = [0]
    for part in parts:
        starts.append(starts[-1] + part.size)
    numbered = list(enumerate(parts, start=1))[marker : marker + max_parts]
    value = key.value if numbered else b""  # the parts' own buffers are gone once the upload completed
    answer.update(
        PartNumberMarker=marker,
        MaxParts=max_parts,
        IsTruncated=marker + len(numbered) < len(parts),
        Parts=[
            {
                "PartNumber": number,
                "Size": part.size,
                f"Checksum{algorithm}": compute_checksum(
                    value[starts[number - 1] : starts[number]], algorithm
                ).decode(),
            }
            for number, part in numbered
        ],
    )
    if numbered:
        answer["NextPartNumberMarker"] = numbered[-1][0]
    return answer


def apply() -> None:
    require_moto(MOTO_VERSION, __name__)
    from moto.core.responses import ActionResult
    from moto.s3.responses import S3Response

    original = S3Response.get_object_attributes
    if getattr(original, "motostack_patched", False):
        return

    def get_object_attributes(self):
        status, headers, body = original(self)
        wanted = [name.strip() for name in self.headers.get("x-amz-object-attributes", "").split(",")]
        if status != 200 or "ObjectParts" not in wanted:
            return status, headers, body
        key, _ = self._get_key(validate_storage_class=False)
        try:
            max_parts = int(self.headers.get("x-amz-max-parts") or DEFAULT_MAX_PARTS)
            marker = int(self.headers.get("x-amz-part-number-marker") or 0)
        except ValueError:
            max_parts, marker = DEFAULT_MAX_PARTS, 0
        parts = object_parts(key, max(max_parts, 0), max(marker, 0))
        if parts is None:
            return status, headers, body
        attributes = self.backend.get_object_attributes(key, wanted)
        checksum = attributes["checksum"]
        result: dict[str, Any] = {
            "LastModified": key.last_modified,
            "ETag": attributes["etag"],
            "Checksum": {f"Checksum{a}": v for a, v in checksum.items() if a != "type"} if checksum else None,
            "ObjectParts": parts,
            "ObjectSize": attributes["size"],
            "StorageClass": attributes["storage_class"],
        }
        if checksum and checksum.get("type"):
            result["Checksum"]["ChecksumType"] = checksum["type"]
        self.data["Action"] = "GetObjectAttributes"
        status, new_headers, body = self.serialized(ActionResult(result))
        headers = {**headers, **{k: v for k, v in new_headers.items() if k.lower() != "content-length"}}
        headers.pop("content-length", None)
        headers.pop("Content-Length", None)
        return status, headers, body

    get_object_attributes.motostack_patched = True
    S3Response.get_object_attributes = get_object_attributes
