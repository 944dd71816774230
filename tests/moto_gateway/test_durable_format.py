"""The state folder's formats 2 and 3 (issue 24's size goal): a row's records leave out what the row says and
are deflated by the writer against a dictionary the folder keeps; a key's only version, when small, keeps its
bytes in its row (without its size and MD5 ETag), and moves to a bodies row when it has company; rows are
found by ids, so a bucket made again under an old name never gets the old one's rows; a folder format 1 wrote
still loads, takes new writes and survives a kill -9; a record brings back every attribute of its key."""

from __future__ import annotations

import hashlib
import pickle
import sqlite3
from array import array
from contextlib import closing

import pytest
import requests
from moto.s3.models import FakeKey, get_canned_acl

from moto_gateway.state.durable import codec
from moto_gateway.state.durable.store import DurableStore
from moto_gateway.state.durable.writer import DEFLATED, DICTIONARY, deflated, ids_of, inflated
from testkit.servers import MotoServer
from tests.moto_gateway.helpers import client

REGION = {"LocationConstraint": "ap-northeast-1"}
FORMAT_1_TABLES = (
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB)",
    "CREATE TABLE buckets (name TEXT PRIMARY KEY, account TEXT, partition TEXT, attrs BLOB, tags BLOB)",
    "CREATE TABLE objects (bucket TEXT, key TEXT, versions BLOB, bodies BLOB, PRIMARY KEY (bucket, key))",
)


@pytest.fixture
def state_gateway(tmp_path):
    """A gateway with a state folder (the server, its folder), stopped after the test."""
    folder = tmp_path / "state"
    server = MotoServer(env={"GATEWAY_STATE_DIR": str(folder)})
    server.start()
    yield server, folder
    server.stop()


def as_format_1(folder) -> None:
    """Rewrites a stopped gateway's folder into the shapes format 1 stored: buckets and object rows found by
    their names, records as plain pickles holding their names, sizes and ETags in hex, every body in a
    bodies row, one body id as an 8-byte blob, and no dictionary."""
    with closing(sqlite3.connect(folder / "state.db")) as conn, conn:
        meta = conn.execute("SELECT name, value FROM meta").fetchall()
        dictionary = dict(meta)[DICTIONARY]
        buckets = conn.execute("SELECT id, name, account, partition, attrs, tags FROM buckets").fetchall()
        names = {bucket_id: name for bucket_id, name, *_rest in buckets}
        objects = conn.execute("SELECT bucket, key, versions, bodies, data FROM objects").fetchall()
        uploads = conn.execute("SELECT bucket, id, upload, bodies FROM uploads").fetchall()
        next_body = (conn.execute("SELECT max(id) FROM bodies").fetchone()[0] or 0) + 1
        for table in ("meta", "buckets", "objects"):
            conn.execute(f"DROP TABLE {table}")
        for statement in FORMAT_1_TABLES:
            conn.execute(statement)
        conn.executemany("INSERT INTO meta VALUES (?, ?)", [row for row in meta if row[0] != DICTIONARY])
        conn.executemany("INSERT INTO buckets VALUES (?, ?, ?, ?, ?)", [row[1:] for row in buckets])
        for bucket_id, key, blob, ids, data in objects:
            stored = pickle.loads(inflated(blob, dictionary))
            body_ids = ids_of(ids)
            if data is not None:  # format 3 kept the bytes in the row: format 1 had a bodies row
                conn.execute("INSERT INTO bodies VALUES (?, ?, 1, ?)", (next_body, len(data), data))
                stored = [with_body(record, next_body, data) for record in stored]
                body_ids.append(next_body)
                next_body += 1
            records = [format_1_record(record, names[bucket_id], key) for record in stored]
            conn.execute(
                "INSERT INTO objects VALUES (?, ?, ?, ?)",
                (names[bucket_id], key, codec.dumps(records), body_ids.tobytes()),
            )
        for bucket, upload_id, blob, ids in uploads:
            attrs, parts = pickle.loads(inflated(blob, dictionary))
            parts = {number: format_1_record(part) for number, part in parts.items()}
            conn.execute("UPDATE uploads SET upload = ?, bodies = ? WHERE bucket = ? AND id = ?",
                         (codec.dumps((attrs, parts)), ids_of(ids).tobytes(), bucket, upload_id))
        conn.execute("UPDATE meta SET value = 1 WHERE name = 'format'")


def with_body(record: tuple, body_id: int, data: bytes) -> tuple:
    """A record whose bytes its row held, as a record of a bodies row: its size and ETag back in it."""
    diff = dict(record[1])
    diff.setdefault("contentsize", len(data))
    diff.setdefault("_etag", hashlib.md5(data).digest())
    return (record[0], diff, record[2], body_id, *record[4:])


def format_1_record(record: tuple, bucket: str | None = None, key: str | None = None) -> tuple:
    attrs = dict(record[1])
    if key is not None:
        attrs.setdefault("name", key)
    if record[0] == "k":
        if bucket is not None:
            attrs.setdefault("bucket_name", bucket)
        if isinstance(attrs.get("_etag"), bytes):
            attrs["_etag"] = attrs["_etag"].hex()
    return (record[0], attrs, *record[2:])


def row_bytes(folder, key: str) -> tuple[bytes | None, list[int]]:
    """The bytes a key's row holds itself, and the bodies rows it names."""
    with closing(sqlite3.connect(folder / "state.db")) as conn:
        data, ids = conn.execute("SELECT data, bodies FROM objects WHERE key = ?", (key,)).fetchone()
    return data, list(ids_of(ids))


def body_rows(folder) -> int:
    with closing(sqlite3.connect(folder / "state.db")) as conn:
        return conn.execute("SELECT count(*) FROM bodies").fetchone()[0]


def body_exists(folder, body_id: int) -> bool:
    with closing(sqlite3.connect(folder / "state.db")) as conn:
        return conn.execute("SELECT count(*) FROM bodies WHERE id = ?", (body_id,)).fetchone()[0] == 1


def rows(folder) -> dict:
    with closing(sqlite3.connect(folder / "state.db")) as conn:
        meta = dict(conn.execute("SELECT name, value FROM meta"))
        blobs = dict(conn.execute("SELECT key, versions FROM objects"))
    return {"format": int(meta["format"]), "dictionary": meta.get(DICTIONARY), "blobs": blobs}


def set_up(s3) -> str:
    s3.create_bucket(Bucket="kept", CreateBucketConfiguration=REGION)
    s3.put_object(Bucket="kept", Key="plain", Body=b"plain bytes")
    s3.put_object(Bucket="kept", Key="tagged", Body=b"t" * 3000, Metadata={"colour": "blue"},
                  ContentType="text/plain", Tagging="team=data")
    upload = s3.create_multipart_upload(Bucket="kept", Key="pending")["UploadId"]
    s3.upload_part(Bucket="kept", Key="pending", UploadId=upload, PartNumber=1, Body=b"p" * 1024)
    s3.put_bucket_versioning(Bucket="kept", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="kept", Key="versioned", Body=b"one")
    s3.put_object(Bucket="kept", Key="versioned", Body=b"two")
    s3.delete_object(Bucket="kept", Key="versioned")
    return upload


def describe(s3, upload: str) -> dict:
    listed = s3.list_object_versions(Bucket="kept")
    versions = [(v["Key"], v["VersionId"], v["ETag"], v["Size"], v["IsLatest"]) for v in listed["Versions"]]
    markers = [(m["Key"], m["VersionId"], m["IsLatest"]) for m in listed["DeleteMarkers"]]
    reads = {}
    for key, version, _etag, _size, _latest in versions:
        read = s3.get_object(Bucket="kept", Key=key, VersionId=version)
        reads[key, version] = (read["Body"].read(), read["ContentType"], read["Metadata"], read["ETag"])
    parts = s3.list_parts(Bucket="kept", Key="pending", UploadId=upload)["Parts"]
    return {
        "versions": sorted(versions),
        "markers": markers,
        "reads": reads,
        "tags": s3.get_object_tagging(Bucket="kept", Key="tagged")["TagSet"],
        "parts": [(part["PartNumber"], part["ETag"], part["Size"]) for part in parts],
    }


def test_a_format_1_folder_still_loads_and_keeps_working(state_gateway):
    server, folder = state_gateway
    s3 = client(server.url)
    upload = set_up(s3)
    before = describe(s3, upload)
    assert before["reads"]["plain", "null"][3] == f'"{hashlib.md5(b"plain bytes").hexdigest()}"'
    server.stop()
    as_format_1(folder)
    with closing(sqlite3.connect(folder / "state.db")) as conn, conn:  # a row format 2 left of a bucket gone
        conn.execute("INSERT INTO bodies VALUES (901, 5, 1, ?)", (b"stale",))
        conn.execute("INSERT INTO objects VALUES ('gone', 'left', ?, ?)",
                     (codec.dumps([]), array("q", [901]).tobytes()))
    old = rows(folder)
    assert old["format"] == 1 and old["dictionary"] is None
    assert all(blob[0] == 0x80 for blob in old["blobs"].values()), "format 1's rows are plain pickles"

    server.start()
    s3 = client(server.url)
    assert describe(s3, upload) == before
    s3.put_object(Bucket="kept", Key="new", Body=b"written after the upgrade")
    s3.put_object(Bucket="kept", Key="plain", Body=b"a second version")
    s3.complete_multipart_upload(Bucket="kept", Key="pending", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": before["parts"][0][1]}]})
    after = describe_without_upload(s3)
    server.kill()
    server.start()
    s3 = client(server.url)
    assert describe_without_upload(s3) == after
    assert s3.get_object(Bucket="kept", Key="pending")["Body"].read() == b"p" * 1024
    server.stop()
    upgraded = rows(folder)
    assert "left" not in upgraded["blobs"] and not body_exists(folder, 901), "it went, with its body"
    assert upgraded["format"] == 3 and upgraded["dictionary"]
    assert upgraded["blobs"]["tagged"] == old["blobs"]["tagged"], "a row nobody changed stays as it was"
    assert upgraded["blobs"]["new"][0] == DEFLATED and upgraded["blobs"]["plain"][0] == DEFLATED


def describe_without_upload(s3) -> dict:
    listed = s3.list_object_versions(Bucket="kept")
    return {
        "versions": sorted((v["Key"], v["VersionId"], v["ETag"], v["Size"]) for v in listed["Versions"]),
        "bodies": {
            key: s3.get_object(Bucket="kept", Key=key)["Body"].read() for key in ("plain", "new", "tagged")
        },
        "markers": [(m["Key"], m["VersionId"]) for m in listed["DeleteMarkers"]],
        "tags": s3.get_object_tagging(Bucket="kept", Key="tagged")["TagSet"],
    }


def keys_to_store() -> list[FakeKey]:
    plain = FakeKey("dir/doc.txt", b"bytes", "123456789012", "aws", bucket_name="b")
    plain.etag  # noqa: B018 (the MD5 ETag a stored key carries)
    dressed = FakeKey("dir/dressed", b"x" * 100, "123456789012", "eu-west-1", bucket_name="b",
                      storage="STANDARD_IA", is_versioned=True, version_id="3HL4kqtJlcpXroDTDmJ.rmSpXd3",
                      encryption="aws:kms", kms_key_id="key-1", bucket_key_enabled=True,
                      lock_mode="GOVERNANCE", lock_until="2030-01-01T00:00:00Z", lock_legal_status="ON",
                      checksum_value="c2hh")
    dressed.acl = get_canned_acl("public-read")
    dressed.website_redirect_location = "/elsewhere"
    dressed.sse_customer_key_hash = "salted-hash"  # an attribute a gateway layer adds
    dressed._etag = "0123456789abcdef0123456789abcdef-3"  # a multipart ETag is kept as it is
    upper = FakeKey("upper", b"u", "123456789012", "aws", bucket_name="elsewhere")
    upper._etag = "0123456789ABCDEF0123456789ABCDEF"  # not lowercase hex: kept as it is
    return [plain, dressed, upper]


def test_a_record_brings_back_every_attribute_of_its_key():
    template = codec.Template(codec.new_template())
    dictionary = codec.new_dictionary(template)
    for key in keys_to_store():
        record = codec.key_record(key, 7, None, template, "b", key.name)
        blob = deflated(codec.dumps([record]), dictionary)
        assert blob[0] == DEFLATED
        _kind, diff, _metadata, body_id, _tags, _skeleton = codec.loads_own(blob, dictionary)[0]
        assert body_id == 7 and "name" not in diff
        attrs = codec.record_attrs(diff, template, "b", key.name)
        expected = {name: value for name, value in key.__dict__.items() if name not in codec.KEY_SKIPPED}
        assert attrs.keys() == expected.keys()
        assert [name for name in expected if not codec.same(expected[name], attrs[name])] == []
    plain_diff = codec.key_record(keys_to_store()[0], 1, None, template, "b", "dir/doc.txt")[1]
    assert plain_diff["_etag"] == hashlib.md5(b"bytes").digest(), "an MD5 ETag is stored as its 16 bytes"


def test_the_dictionary_is_made_once_and_kept(tmp_path, monkeypatch):
    folder = tmp_path / "state"
    store = DurableStore(str(folder))
    store.open()
    try:
        first = store.dictionary
        assert first
    finally:
        store.stop()
    monkeypatch.setattr(codec, "new_dictionary", lambda template: b"a dictionary another version would make")
    again = DurableStore(str(folder))
    again.open()
    try:
        assert again.dictionary == first, "the rows deflated with the first dictionary need that one"
    finally:
        again.stop()


def test_a_single_small_version_keeps_its_bytes_in_its_row_until_it_has_company(state_gateway):
    server, folder = state_gateway
    s3 = client(server.url)
    s3.create_bucket(Bucket="rows", CreateBucketConfiguration=REGION)
    small, large = b"s" * 1000, b"L" * 20_000
    s3.put_object(Bucket="rows", Key="small", Body=small, Tagging="kept=yes")
    s3.put_object(Bucket="rows", Key="large", Body=large)
    s3.copy_object(Bucket="rows", Key="copy", CopySource={"Bucket": "rows", "Key": "small"})
    assert row_bytes(folder, "small") == (small, [])
    assert row_bytes(folder, "copy") == (small, []), "a copy's row holds its own bytes"
    assert row_bytes(folder, "large")[0] is None and body_rows(folder) == 1, "20 KB: a body file"
    assert requests.post(f"{server.url}/_snapshots/before", timeout=10).status_code == 201
    assert body_rows(folder) == 3, "the snapshot's small bytes are rows of its own, not the live rows'"

    s3.put_bucket_versioning(Bucket="rows", VersioningConfiguration={"Status": "Enabled"})
    second = s3.put_object(Bucket="rows", Key="small", Body=b"second")["VersionId"]
    data, ids = row_bytes(folder, "small")
    assert data is None and len(ids) == 2, "two versions: both in bodies rows"
    s3.put_object_tagging(Bucket="rows", Key="copy", Tagging={"TagSet": [{"Key": "t", "Value": "v"}]})
    assert row_bytes(folder, "copy") == (small, []), "a change of tags keeps the bytes in the row"
    expected = describe_rows(s3)
    server.kill()

    server.start()
    s3 = client(server.url)
    assert describe_rows(s3) == expected
    for version in expected["small"]:
        read = s3.get_object(Bucket="rows", Key="small", VersionId=version[0])
        assert read["ETag"] == f'"{hashlib.md5(read["Body"].read()).hexdigest()}"'
    assert sorted(version[0] for version in expected["small"]) == sorted(["null", second])
    assert s3.get_object_tagging(Bucket="rows", Key="small", VersionId="null")["TagSet"] == [
        {"Key": "kept", "Value": "yes"}]
    s3.delete_object(Bucket="rows", Key="small", VersionId=second)
    assert requests.post(f"{server.url}/_snapshots/before/restore", timeout=30).status_code == 200
    server.kill()

    server.start()
    s3 = client(server.url)
    assert s3.get_object(Bucket="rows", Key="small")["Body"].read() == small
    assert s3.get_object_tagging(Bucket="rows", Key="small")["TagSet"] == [{"Key": "kept", "Value": "yes"}]
    assert row_bytes(folder, "small") == (small, []), "restored: the only version again, in its row"


def describe_rows(s3) -> dict:
    """Per key, its versions (id, ETag, size, length read) with the bytes each read gives."""
    found: dict = {}
    for version in s3.list_object_versions(Bucket="rows")["Versions"]:
        read = s3.get_object(Bucket="rows", Key=version["Key"], VersionId=version["VersionId"])
        found.setdefault(version["Key"], []).append(
            (version["VersionId"], version["ETag"], version["Size"], read["ContentLength"], read["Body"].read())
        )
    return found


def test_rows_of_a_bucket_the_folder_no_longer_holds_are_never_loaded_and_go(state_gateway):
    server, folder = state_gateway
    s3 = client(server.url)
    s3.create_bucket(Bucket="again", CreateBucketConfiguration=REGION)
    s3.put_object(Bucket="again", Key="kept", Body=b"kept")
    server.stop()
    with closing(sqlite3.connect(folder / "state.db")) as conn, conn:
        (bucket_id,) = conn.execute("SELECT id FROM buckets WHERE name = 'again'").fetchone()
        template = conn.execute("SELECT versions, data FROM objects WHERE key = 'kept'").fetchone()
        # what a bucket replaced under its name leaves: rows naming an id no bucket has
        conn.execute("INSERT INTO bodies VALUES (900, 5, 1, ?)", (b"stale",))
        conn.execute("INSERT INTO objects VALUES (900, ?, 'stale', ?, 900, NULL)", (bucket_id + 7, template[0]))

    server.start()
    s3 = client(server.url)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="again")["Contents"]] == ["kept"]
    s3.delete_object(Bucket="again", Key="kept")
    s3.delete_bucket(Bucket="again")
    s3.create_bucket(Bucket="again", CreateBucketConfiguration=REGION)
    server.kill()

    server.start()
    s3 = client(server.url)
    assert s3.list_objects_v2(Bucket="again")["KeyCount"] == 0
    server.stop()
    with closing(sqlite3.connect(folder / "state.db")) as conn:
        assert conn.execute("SELECT count(*) FROM objects").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM bodies").fetchone()[0] == 0, "the stale row's body went"
