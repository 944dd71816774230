"""aws-chunked request bodies (SigV4 streaming): which payloads are chunked, how long a chunk's line may be.

S3 API Reference, "Signature Calculations for the Authorization Header: Transferring Payload in Multiple
Chunks": the data travels in chunks, each behind a `size;chunk-signature=...` line (signed payloads) or a
bare size line (unsigned with a trailer), so the bytes on the wire are not the object's.
"""

from __future__ import annotations

from moto_gateway.wsgi.request import RequestView

SIGNED_CHUNKS = frozenset(
    {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"}
)
CHUNKED_PAYLOADS = SIGNED_CHUNKS | {"STREAMING-UNSIGNED-PAYLOAD-TRAILER"}
MAX_CHUNK_LINE = 4096  # a chunk's size line (and a trailer's line) is at most this long


def aws_chunked(view: RequestView) -> bool:
    """The body carries chunk lines around the data: its MD5 or checksum is not the wire's."""
    return "aws-chunked" in view.headers.get("content-encoding", "") or view.headers.get(
        "x-amz-content-sha256", ""
    ).startswith("STREAMING-")
