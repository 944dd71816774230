"""sample_client against a real Moto server: seed puts the samples, unseed deletes exactly them."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from datetime import datetime, timezone

import pytest

from sample_client.__main__ import main
from sample_client.samples import BUCKET, png, sample_keys, sample_objects
from testkit.servers import ROOT

EXPECTED_TYPES = {
    "sample/hello.txt": "text/plain",
    "sample/data.json": "application/json",
    "sample/images/gradient.png": "image/png",
    "sample/reports/2025/01/sales.csv": "text/csv",
    "sample/docs/guides/getting started/README.md": "text/markdown",
}


def decode_png(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and raw scanlines of a PNG, checking its signature and every chunk's CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body), f"bad CRC in {kind!r}"
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + length
    assert list(chunks)[-1] == b"IEND"
    width, height, depth, colour, *_ = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, colour) == (8, 2)
    return width, height, zlib.decompress(chunks[b"IDAT"])


def test_the_samples_are_the_reference_ones_with_their_types():
    created = datetime(2025, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    objects = {obj.key: obj for obj in sample_objects(created)}
    assert {key: obj.content_type for key, obj in objects.items()} == EXPECTED_TYPES
    assert objects["sample/hello.txt"].body.decode().startswith("hello moto server\n")
    assert "2025-03-04T05:06:07+00:00" in objects["sample/hello.txt"].body.decode()
    assert json.loads(objects["sample/data.json"].body) == {
        "message": "hello moto server",
        "created_at": "2025-03-04T05:06:07+00:00",
    }
    assert sample_keys() == list(objects)


def test_the_png_is_a_valid_image():
    width, height, raw = decode_png(png(64, 48))
    assert (width, height) == (64, 48)
    assert len(raw) == height * (1 + 3 * width)
    assert raw[1:4] == bytes((0, 0, 160)) and raw[-3:] == bytes((255, 255, 160))


def test_seed_creates_the_bucket_and_puts_every_sample(aws_env, s3, capsys):
    assert main(["seed"]) == 0
    for key, content_type in EXPECTED_TYPES.items():
        head = s3.head_object(Bucket=BUCKET, Key=key)
        assert head["ContentType"] == content_type
    hello = s3.get_object(Bucket=BUCKET, Key="sample/hello.txt")["Body"].read().decode()
    assert hello.startswith("hello moto server\ncreated_at: ")
    data = json.loads(s3.get_object(Bucket=BUCKET, Key="sample/data.json")["Body"].read())
    assert data["message"] == "hello moto server"
    assert datetime.fromisoformat(data["created_at"]).tzinfo is not None
    image = s3.get_object(Bucket=BUCKET, Key="sample/images/gradient.png")["Body"].read()
    assert decode_png(image)[:2] == (64, 48)
    out = capsys.readouterr().out
    assert f"created bucket s3://{BUCKET}" in out
    for key, content_type in EXPECTED_TYPES.items():
        assert f"put s3://{BUCKET}/{key} ({content_type}," in out


def test_seed_twice_keeps_one_copy_of_each(aws_env, s3, capsys):
    assert main(["seed"]) == 0
    capsys.readouterr()
    assert main(["seed"]) == 0
    assert "created bucket" not in capsys.readouterr().out
    keys = sorted(obj["Key"] for obj in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert keys == sorted(EXPECTED_TYPES)


def test_unseed_deletes_exactly_the_samples_and_leaves_other_objects(aws_env, s3, capsys):
    assert main(["seed"]) == 0
    s3.put_object(Bucket=BUCKET, Key="sample/mine.txt", Body=b"user data")
    s3.put_object(Bucket=BUCKET, Key="other/hello.txt", Body=b"user data")
    assert main(["unseed"]) == 0
    keys = sorted(obj["Key"] for obj in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert keys == ["other/hello.txt", "sample/mine.txt"]
    out = capsys.readouterr().out
    assert f"unseeded {len(EXPECTED_TYPES)} of {len(EXPECTED_TYPES)} sample objects" in out


def test_unseed_reports_missing_objects_without_failing(aws_env, s3, capsys):
    assert main(["seed"]) == 0
    s3.delete_object(Bucket=BUCKET, Key="sample/data.json")
    capsys.readouterr()
    assert main(["unseed"]) == 0
    out = capsys.readouterr().out
    assert f"missing s3://{BUCKET}/sample/data.json (nothing to delete)" in out
    assert f"deleted s3://{BUCKET}/sample/hello.txt" in out
    assert f"unseeded {len(EXPECTED_TYPES) - 1} of {len(EXPECTED_TYPES)}" in out
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


def test_unseed_without_the_bucket_reports_every_key_missing(aws_env, capsys):
    assert main(["unseed"]) == 0
    out = capsys.readouterr().out
    assert out.count("missing s3://") == len(EXPECTED_TYPES)


def test_seed_into_another_bucket(aws_env, s3):
    assert main(["seed", "--bucket", "other-bucket"]) == 0
    assert s3.head_object(Bucket="other-bucket", Key="sample/hello.txt")["ContentType"] == "text/plain"


NO_AWS_FILES = {"AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [sys.executable, "-m", "sample_client", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_command_is_configured_by_the_environment_only(moto, s3):
    env = {
        "AWS_ENDPOINT_URL": moto.url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    result = run_cli("seed", env=env)
    assert result.returncode == 0, result.stderr
    assert "seeded 5 objects into s3://test-bucket" in result.stdout
    assert s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] == "eu-west-1"
    result = run_cli("unseed", env=env)
    assert result.returncode == 0, result.stderr
    assert "unseeded 5 of 5" in result.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {
                "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
            },
            'Could not connect to the endpoint URL: "http://127.0.0.1:9/test-bucket"',
        ),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}, "Unable to locate credentials"),
    ],
    ids=["endpoint-down", "no-credentials"],
)
def test_failures_are_one_clear_line_not_a_traceback(env, message):
    result = run_cli("seed", env={**env, "AWS_MAX_ATTEMPTS": "1", **NO_AWS_FILES})
    assert result.returncode == 1
    assert result.stderr.strip() == f"sample_client: seed failed: {message}"
    assert "Traceback" not in result.stderr


def test_an_unknown_command_is_a_usage_error():
    result = run_cli("reseed", env={})
    assert result.returncode == 2
    assert "invalid choice: 'reseed'" in result.stderr
