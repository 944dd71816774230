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

import anycrc

from moto_gateway.moto_patches import require_moto

MOTO_VERSION = "5.2.5"
MODELS = {"CRC32C": ("CRC32C", 4), "CRC64NVME": ("CRC64-NVME", 8)}


def crc(body: bytes, algorithm: str) -> bytes:
    name, size = MODELS[algorithm]
    value = anycrc.Model(name).calc(body) if body else 0
    return value.to_bytes(size, "big")


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
