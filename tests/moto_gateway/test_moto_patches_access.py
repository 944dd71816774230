"""The Moto patches of issue 19's multipart, checksum and CORS families: each refuses a Moto it was not
written for; their pure parts decide as S3 documents."""

from __future__ import annotations

from types import SimpleNamespace

import moto
import pytest

from moto_gateway.moto_patches import (
    checksum_algorithms,
    checksum_headers,
    cors_rules,
    object_attributes,
    part_reads,
)

PATCHES = [checksum_algorithms, checksum_headers, cors_rules, object_attributes, part_reads]


@pytest.mark.parametrize("patch", PATCHES, ids=lambda module: module.__name__.rsplit(".", 1)[1])
def test_each_patch_refuses_another_moto(monkeypatch, patch):
    monkeypatch.setattr(moto, "__version__", "9.9.9")
    with pytest.raises(RuntimeError, match="written for Moto 5.2.5, not 9.9.9"):
        patch.apply()


def rule(origins, methods=("GET",), headers=()):
    return SimpleNamespace(
        allowed_origins=list(origins), allowed_methods=list(methods), allowed_headers=list(headers)
    )


def test_the_first_matching_cors_rule_answers():
    """S3 User Guide, "How does Amazon S3 evaluate the CORS configuration on a bucket?"."""
    first, second = rule(["http://a.test"], ["PUT"]), rule(["http://*.test"], ["GET", "PUT"], ["x-amz-*"])
    assert cors_rules.first_matching_rule([first, second], "http://a.test", "PUT", "") is first
    assert cors_rules.first_matching_rule([first, second], "http://a.test", "PUT", "X-Amz-Date") is second
    assert cors_rules.first_matching_rule([first, second], "http://a.test", "DELETE", "") is None
    assert cors_rules.first_matching_rule([first, second], "http://a.test.evil", "GET", "") is None


def test_part_ranges_count_the_completed_parts():
    parts = {1: SimpleNamespace(size=5), 2: SimpleNamespace(size=7), 3: SimpleNamespace(size=2)}
    multipart = SimpleNamespace(parts=parts, partlist=[1, 2, 3], completed_part_numbers=[1, 3])
    key = SimpleNamespace(multipart=multipart)
    assert part_reads.part_range(key, 1) == (0, 4, 2)
    assert part_reads.part_range(key, 2) == (5, 6, 2)
    assert part_reads.part_range(key, 3) is None
    assert part_reads.part_range(SimpleNamespace(multipart=None), 1) is None


def test_crc_check_values():
    """The CRC catalogue's check values (CRC of "123456789"); an empty body's CRC is 0."""
    assert checksum_algorithms.crc(b"123456789", "CRC32C") == (0xE3069283).to_bytes(4, "big")
    assert checksum_algorithms.crc(b"123456789", "CRC64NVME") == (0xAE8B14860A799888).to_bytes(8, "big")
    assert checksum_algorithms.crc(b"", "CRC64NVME") == bytes(8)
