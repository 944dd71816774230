"""Moto 5.2.5: CRC32C and CRC64NVME checksums are computed as S3 computes them, not replaced by CRC32.

`moto.s3.utils.compute_checksum` computed CRC32C only with the optional `crc32c` package and CRC64NVME only
with `awscrt` (which also switches every botocore client in the process to the CRT signers), and silently
answered a CRC32 otherwise: a 4-byte value under a CRC64NVME name, stored with the object and returned by
HeadObject / GetObjectAttributes, and in every multipart checksum Moto builds (multipart uploads default
to CRC64NVME). Here both come from `anycrc` (S3 User Guide, "Checking object integrity": CRC-32C is
Castagnoli's polynomial, CRC-64/NVME the NVMe polynomial 0xad93d23594c93659, reflected, init and xorout
all ones).
"""

from __future__ import annotations

import base64
import hashlib
import zlib

import anycrc

from moto_gateway.moto_patches import require_moto

MOTO_VERSION = "5.2.5"
MODELS = {"CRC32C": ("CRC32C", 4), "CRC64NVME": ("CRC64-NVME", 8)}


def crc(body: bytes, algorithm: str) -> bytes:
    name, size = MODELS[algorithm]
    value = anycrc.Model(name).calc(body) if body else 0
    return value.to_bytes(size, "big")


class RunningChecksum:
    """Moto's `compute_checksum(body, algorithm)` as patched here (CRC32C and CRC64NVME from anycrc),
    base64, fed chunk by chunk (a large body's is computed as it is spooled or copied)."""

    def __init__(self, algorithm: str) -> None:
        self.kind, self.state, self.width = "crc32", 0, 4
        if algorithm == "SHA1":
            self.kind, self.state = "hash", hashlib.sha1(usedforsecurity=False)
        elif algorithm in MODELS:
            name, self.width = MODELS[algorithm]
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


def apply() -> None:
    require_moto(MOTO_VERSION, __name__)
    from moto.s3 import models, responses, utils

    original = utils.compute_checksum
    if getattr(original, "motostack_patched", False):
        return

    def compute_checksum(body: bytes, algorithm: str, encode_base64: bool = True) -> bytes:
        if algorithm not in MODELS:
            return original(body, algorithm, encode_base64)
        hashed = crc(bytes(body), algorithm)
        return base64.b64encode(hashed) if encode_base64 else hashed

    compute_checksum.motostack_patched = True
    for module in (utils, models, responses):
        module.compute_checksum = compute_checksum
