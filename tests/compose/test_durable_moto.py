"""End-to-end: `docker compose restart moto` loses nothing (issue: durable Moto).

Runs before test_stack.py (file order), on the same stack, which has DELETE_SYNC=true."""

from __future__ import annotations

import pytest

from tests.compose.conftest import Stack, wait_until

pytestmark = pytest.mark.compose

BUCKET = "durable-bucket"
CORS = [{"AllowedMethods": ["GET", "PUT"], "AllowedOrigins": ["http://localhost:8000"], "AllowedHeaders": ["*"]}]


def host_files(stack: Stack) -> dict[str, bytes]:
    root = stack.export_dir / BUCKET
    return {str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def test_a_moto_restart_brings_every_object_back_and_the_mirror_loses_nothing(stack: Stack):
    s3 = stack.s3()
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    s3.put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": CORS})
    for index in range(30):
        s3.put_object(Bucket=BUCKET, Key=f"docs/{index}.json", Body=f'{{"n": {index}}}'.encode(),
                      ContentType="application/json", Metadata={"index": str(index)})
    wait_until(lambda: len(host_files(stack)) == 30, 60, "30 objects mirrored on the host")
    before = host_files(stack)

    stack.compose("restart", "moto")
    client = stack.s3()

    def all_back() -> bool:
        try:
            return client.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 30
        except Exception:  # noqa: BLE001 (moto restarting, or the bucket not back yet)
            return False

    wait_until(all_back, 60, "every object back in Moto after `docker compose restart moto`", interval=1)
    obj = client.get_object(Bucket=BUCKET, Key="docs/7.json")
    assert obj["Body"].read() == b'{"n": 7}'
    assert obj["ContentType"] == "application/json" and obj["Metadata"] == {"index": "7"}
    assert client.get_bucket_cors(Bucket=BUCKET)["CORSRules"][0]["AllowedOrigins"] == ["http://localhost:8000"]
    wait_until(lambda: stack.services()["exporter"].get("Health") == "healthy", 60, "the exporter healthy again")
    assert host_files(stack) == before, "the host folder lost nothing, with DELETE_SYNC=true"
