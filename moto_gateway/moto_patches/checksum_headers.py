"""Moto 5.2.5: a checksum sent as its `x-amz-checksum-<algorithm>` header is the object's checksum, whether
or not the SDK also sent `x-amz-sdk-checksum-algorithm`; HeadObject with `x-amz-checksum-mode: ENABLED`
answers a multipart object's checksum as GetObject does.

S3 API Reference, PutObject / UploadPart (`x-amz-checksum-crc32`, `-crc32c`, `-crc64nvme`, `-sha1`,
`-sha256`: "This header specifies the ... checksum of the object"), HeadObject (`x-amz-checksum-*`,
`x-amz-checksum-type`; a composite checksum is "<checksum>-<number of parts>"), CompleteMultipartUpload
(`ChecksumCRC32C` & co and `ChecksumType` in its result). Moto's
`S3Response._get_checksum` looked only at `x-amz-sdk-checksum-algorithm`, so a client that sent the
checksum header alone (any SDK given a precomputed value, curl) got an object without a checksum; its
`head_object` answered a composite checksum without its part count and without `x-amz-checksum-type`;
its CompleteMultipartUpload result carried no checksum at all.
"""

from __future__ import annotations

from moto_gateway.moto_patches import require_moto

MOTO_VERSION = "5.2.5"
ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")


def algorithm_of(headers) -> str:
    """The algorithm the SDK names, else the one whose checksum header the request carries."""
    named = headers.get("x-amz-sdk-checksum-algorithm", "")
    if named:
        return named
    return next((a for a in ALGORITHMS if headers.get(f"x-amz-checksum-{a.lower()}")), "")


def qualified(key) -> str:
    """A composite checksum names its part count ("<checksum>-<parts>"), a full-object one does not."""
    if key.checksum_type == "COMPOSITE":
        return f"{key.checksum_value}-{key.checksum_parts}"
    return key.checksum_value


def apply() -> None:
    require_moto(MOTO_VERSION, __name__)
    from moto.s3.responses import S3Response

    original_get_checksum = S3Response._get_checksum
    if getattr(original_get_checksum, "motostack_patched", False):
        return
    original_head_object = S3Response.head_object
    original_key_response_post = S3Response._key_response_post

    def get_checksum(self, response_headers):
        algorithm = algorithm_of(self.headers)
        value = self.headers.get(f"x-amz-checksum-{algorithm.lower()}") if algorithm else None
        if value and not self.headers.get("x-amz-sdk-checksum-algorithm"):
            response_headers[f"x-amz-checksum-{algorithm.lower()}"] = value
            return algorithm, value
        return original_get_checksum(self, response_headers)

    def head_object(self, bucket_name, query, key_name, headers):
        status, response_headers, body = original_head_object(self, bucket_name, query, key_name, headers)
        enabled = headers.get("x-amz-checksum-mode") == "ENABLED"
        if status in (200, 206) and enabled and "partNumber" not in query:
            version_id = query.get("versionId", [None])[0]
            key = self.backend.get_object(bucket_name, key_name, version_id)
            if key is not None and key.checksum_algorithm and key.checksum_value:
                response_headers[f"x-amz-checksum-{key.checksum_algorithm.lower()}"] = qualified(key)
                if key.checksum_type:
                    response_headers["x-amz-checksum-type"] = key.checksum_type
        return status, response_headers, body

    def key_response_post(self, request, body, bucket_name, query, key_name):
        status, headers, answer = original_key_response_post(
            self, request, body, bucket_name, query, key_name
        )
        if status != 200 or "uploadId" not in query:
            return status, headers, answer
        key = self.backend.get_object(bucket_name, key_name)
        if key is None or not key.checksum_algorithm or not key.checksum_value:
            return status, headers, answer
        name = f"Checksum{key.checksum_algorithm.upper()}"
        elements = f"<{name}>{qualified(key)}</{name}>"
        if key.checksum_type:
            elements += f"<ChecksumType>{key.checksum_type}</ChecksumType>"
        closing = "</CompleteMultipartUploadResult>"
        text = answer.decode() if isinstance(answer, bytes) else answer
        if closing in text:
            text = text.replace(closing, elements + closing)
            answer = text.encode() if isinstance(answer, bytes) else text
            headers.pop("content-length", None)
            headers.pop("Content-Length", None)
        return status, headers, answer

    get_checksum.motostack_patched = True
    S3Response._key_response_post = key_response_post
    S3Response._get_checksum = get_checksum
    S3Response.head_object = head_object
