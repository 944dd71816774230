import os
import random

import pytest

from exporter.naming import (
    ESCAPE_DIR,
    TEMP_PREFIX,
    assign_paths,
    escaped_path,
    is_safe_path,
    key_for_path,
)

HOSTILE_KEYS = [
    "..",
    ".",
    "../manifest.json",
    "../_manifest.json",
    "../other-bucket/x",
    "a/../../x",
    "a/./b",
    "/leading",
    "//double",
    "a//b",
    "trailing/",
    "back\\slash",
    "..\\..\\x",
    "nul\x00byte",
    "new\nline",
    f"{TEMP_PREFIX}abc",
    f"dir/{TEMP_PREFIX}abc",
    ESCAPE_DIR,
    f"{ESCAPE_DIR}/x",
    "x" * 300,
    "é" * 200,
    "/".join(["seg"] * 300),
    "%2F..%2F",
]


def resolves_inside(bucket_dir: str, path: str) -> bool:
    full = os.path.normpath(os.path.join(bucket_dir, path))
    return full.startswith(bucket_dir + os.sep)


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_hostile_key_stays_in_its_bucket_and_round_trips(key):
    path = assign_paths([key])[key]
    assert is_safe_path(path)
    assert resolves_inside("/export/bucket", path)
    assert all(len(segment.encode()) <= 255 for segment in path.split("/"))
    assert not any(segment.startswith(TEMP_PREFIX) for segment in path.split("/"))
    assert key_for_path(path) == key


def test_ordinary_keys_are_stored_as_they_are():
    keys = ["sample/hello.txt", "sample/data.json", "deep/a/b/c.csv", "ünïcode/ファイル.txt", ".hidden", "a b+c"]
    assert assign_paths(keys) == {key: key for key in keys}


def test_a_key_with_keys_below_it_is_escaped_and_the_keys_below_are_not():
    paths = assign_paths(["a", "a/b", "dir/", "dir/child", "x/y", "x/y/z"])
    assert paths["a"] == f"{ESCAPE_DIR}/a"
    assert paths["a/b"] == "a/b"
    assert paths["dir/"] == f"{ESCAPE_DIR}/dir%2F"
    assert paths["dir/child"] == "dir/child"
    assert paths["x/y"] == f"{ESCAPE_DIR}/x%2Fy"
    assert paths["x/y/z"] == "x/y/z"


def test_long_escaped_keys_are_cut_into_folders_that_no_file_can_collide_with():
    short = "k" * 200 + "/"  # escaped: exactly one CHUNK of encoded text, then %2F
    longer = "k" * 200 + "/" + "more"
    paths = assign_paths([short[:-1] + "\\", short, longer])
    assert len(set(paths.values())) == 3
    for key, path in paths.items():
        assert key_for_path(path) == key
    assert escaped_path("k" * 450).count("+/") == 2


def test_random_keys_never_collide_and_never_leave_the_bucket():
    rng = random.Random(1234)
    alphabet = ["a", "b", "/", ".", "..", "\\", "%", "+", " ", "é", "_escaped", TEMP_PREFIX, "\x01"]
    keys = {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(4000)}
    paths = assign_paths(keys)
    assert len(set(paths.values())) == len(keys)
    files = set(paths.values())
    folders = {path.rsplit("/", 1)[0] for path in files if "/" in path}
    for path in files:
        assert path not in folders, f"{path!r} is both a file and a folder"
        prefix = path
        while "/" in prefix:
            prefix = prefix.rsplit("/", 1)[0]
            assert prefix not in files, f"{prefix!r} is a file and the parent of {path!r}"
    for key, path in paths.items():
        assert is_safe_path(path) and resolves_inside("/export/bucket", path)
        assert key_for_path(path) == key
