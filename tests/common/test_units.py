from common.units import human_bytes


def test_human_bytes():
    assert human_bytes(0) == "0 B"
    assert human_bytes(12) == "12 B"
    assert human_bytes(1023) == "1023 B"
    assert human_bytes(1024) == "1 KiB"
    assert human_bytes(1536) == "1.5 KiB"
    assert human_bytes(5 * 1024 * 1024) == "5 MiB"
    assert human_bytes(3 * 1024**3) == "3 GiB"
    assert human_bytes(5000 * 1024**3) == "5000 GiB"
