"""Issue 24 item 5: a named snapshot exported as one file and imported by another gateway (another
machine's), with versions, delete markers, metadata, tags and bucket configuration; hostile files refused."""

from __future__ import annotations

import io
import tarfile

import requests

from testkit.servers import MotoServer
from tests.moto_gateway.helpers import client

REGION = {"LocationConstraint": "ap-northeast-1"}


def test_a_snapshot_file_moves_a_state_between_two_gateways(tmp_path):
    source = MotoServer(env={"GATEWAY_STATE_DIR": str(tmp_path / "one")})
    target = MotoServer()  # memory only: the file is all it gets
    source.start()
    target.start()
    try:
        s3 = client(source.url)
        s3.create_bucket(Bucket="shared", CreateBucketConfiguration=REGION)
        s3.put_bucket_versioning(Bucket="shared", VersioningConfiguration={"Status": "Enabled"})
        old = s3.put_object(Bucket="shared", Key="a", Body=b"old", Metadata={"m": "1"})["VersionId"]
        s3.put_object(Bucket="shared", Key="a", Body=b"new" * 100_000, ContentType="text/plain")
        s3.put_object(Bucket="shared", Key="b", Body=b"b")
        s3.delete_object(Bucket="shared", Key="b")
        assert requests.post(f"{source.url}/_snapshots/fixtures", timeout=30).status_code == 201
        exported = requests.get(f"{source.url}/_snapshots/fixtures/export", timeout=30)
        assert exported.status_code == 200 and exported.headers["Content-Type"] == "application/x-tar"
        path = tmp_path / "fixtures.motostack-snapshot"
        path.write_bytes(exported.content)

        imported = requests.post(f"{target.url}/_snapshots/copied/import", data=path.read_bytes(), timeout=30)
        assert imported.status_code == 201, imported.text
        assert imported.json()["objects"] == 1 and imported.json()["buckets"] == 1
        assert requests.post(f"{target.url}/_snapshots/copied/restore", timeout=30).status_code == 200
        other = client(target.url)
        assert other.get_bucket_versioning(Bucket="shared")["Status"] == "Enabled"
        current = other.get_object(Bucket="shared", Key="a")
        assert current["Body"].read() == b"new" * 100_000 and current["ContentType"] == "text/plain"
        first = other.get_object(Bucket="shared", Key="a", VersionId=old)
        assert first["Body"].read() == b"old" and first["Metadata"] == {"m": "1"}
        markers = other.list_object_versions(Bucket="shared")["DeleteMarkers"]
        assert [marker["Key"] for marker in markers] == ["b"]

        # imported into a durable gateway, the snapshot survives a crash
        again = requests.post(f"{source.url}/_snapshots/again/import", data=path.read_bytes(), timeout=30)
        assert again.status_code == 201
        source.kill()
        source.start()
        names = [
            entry["name"] for entry in requests.get(f"{source.url}/_snapshots", timeout=5).json()["snapshots"]
        ]
        assert names == ["again", "fixtures"]
    finally:
        source.stop()
        target.stop()


def test_a_file_that_is_not_a_snapshot_is_refused_with_400(tmp_path):
    server = MotoServer()
    server.start()
    try:
        garbage = requests.post(f"{server.url}/_snapshots/bad/import", data=b"not a tar", timeout=10)
        assert garbage.status_code == 400 and garbage.json()["code"] == "MalformedSnapshot"
        # a tar whose state names a class outside S3's state (pickle's os.system) is refused, not run
        hostile = io.BytesIO()
        payload = b"cos\nsystem\n(S'touch " + str(tmp_path / "pwned").encode() + b"'\ntR."
        with tarfile.open(fileobj=hostile, mode="w") as archive:
            for name, data in (
                ("motostack-snapshot.json", b'{"format": 1, "created": 0}'),
                ("state.pickle", payload),
            ):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        refused = requests.post(f"{server.url}/_snapshots/bad/import", data=hostile.getvalue(), timeout=10)
        assert refused.status_code == 400 and "not part of S3's state" in refused.json()["error"]
        assert not (tmp_path / "pwned").exists()
        assert requests.get(f"{server.url}/_snapshots/bad", timeout=5).status_code == 404
    finally:
        server.stop()
