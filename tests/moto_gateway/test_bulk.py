"""The bulk format (in process) and the gateway's bulk export and import (through a real gateway)."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
import time
from pathlib import Path

import pytest
import requests

from common.bulk_tar import (
    MAX_EXTENDED_HEADER,
    ArchiveError,
    BucketEntry,
    ObjectEntry,
    SkippedEntry,
    read_archive,
    write_archive,
)
from exporter.bulk import capability, export, list_pages
from exporter.reverse.bulk_import import FileToImport, import_files
from testkit.servers import MotoServer

REGION = {"LocationConstraint": "ap-northeast-1"}
HEADERS = {
    "ContentType": "text/markdown; charset=utf-8",
    "ContentEncoding": "gzip",
    "CacheControl": "max-age=60",
    "ContentDisposition": 'attachment; filename="r.md"',
    "ContentLanguage": "de-CH",
}


# -- the format, without sockets ------------------------------------------------------------------------


def archive(*members) -> bytes:
    return b"".join(write_archive(members))


def read_all(data: bytes) -> list[tuple[object, bytes | None]]:
    return [(entry, body.read() if body else None) for entry, body in read_archive(io.BytesIO(data))]


ODD_KEYS = ["a/b.txt", "é/" + "long-" * 250, "folder/", "../up", "/leading", "nul\0and\nnewline", "sp ace"]


def test_round_trip_with_odd_keys_and_fields():
    bucket = BucketEntry("odd-bucket", "eu-west-1", [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}])
    objects = [
        ObjectEntry("odd-bucket", key, len(key.encode()), {"content-type": "text/plain"}, {"m": "é"}, '"e"', 7)
        for key in ODD_KEYS
    ]
    read = read_all(archive(bucket, *[(entry, [entry.key.encode()]) for entry in objects]))
    assert read == [(bucket, None), *[(entry, entry.key.encode()) for entry in objects]]


def test_what_we_write_standard_tar_reads_with_the_fields():
    entry = ObjectEntry("b-1", "dir/file.txt", 5, {"content-type": "text/plain"}, {"owner": "me"}, '"x"', 1_700_000_000)
    data = archive(BucketEntry("b-1", "eu-west-1"), (entry, [b"hello"]))
    with tarfile.open(fileobj=io.BytesIO(data), mode="r|") as tar:
        members = [(m.name, m.isdir(), m.size, m.mtime, dict(m.pax_headers)) for m in tar]
    assert members[1][:4] == ("b-1/dir/file.txt", False, 5, 1_700_000_000)
    assert members[1][4]["SCHILY.xattr.user.s3.content-type"] == "text/plain"
    assert members[1][4]["SCHILY.xattr.user.s3.meta.owner"] == "me"
    assert members[0][:2] == ("b-1", True) and members[0][4]["SCHILY.xattr.user.s3.region"] == "eu-west-1"
    listing = subprocess.run(["tar", "-tvf", "-"], input=data, capture_output=True, check=True)
    assert b"b-1/dir/file.txt" in listing.stdout and not listing.stderr, "GNU tar reads it without warnings"


@pytest.mark.parametrize("tar_format", ["pax", "gnu", "ustar"])
def test_archives_from_gnu_tar_read(tmp_path, tar_format):
    (tmp_path / "my-bucket" / "sub").mkdir(parents=True)
    (tmp_path / "my-bucket" / "sub" / "f.txt").write_bytes(b"content")
    (tmp_path / "my-bucket" / ("d" * 90)).mkdir()
    (tmp_path / "my-bucket" / ("d" * 90) / ("n" * 60)).write_bytes(b"long name")
    data = subprocess.run(
        ["tar", "-C", str(tmp_path), f"--format={tar_format}", "-cf", "-", "."], capture_output=True, check=True
    ).stdout
    read = read_all(data)
    objects = {entry.key: body for entry, body in read if isinstance(entry, ObjectEntry)}
    assert objects == {"sub/f.txt": b"content", "d" * 90 + "/" + "n" * 60: b"long name"}
    assert [entry.name for entry, _ in read if isinstance(entry, BucketEntry)] == ["my-bucket"]
    assert all(isinstance(entry, (ObjectEntry, BucketEntry, SkippedEntry)) for entry, _ in read)


def test_a_body_not_read_is_skipped():
    data = archive((ObjectEntry("b-1", "one", 700), [b"1" * 700]), (ObjectEntry("b-1", "two", 3), [b"two"]))
    keys = []
    for entry, body in read_archive(io.BytesIO(data)):
        keys.append(entry.key)
        if entry.key == "two":
            assert body.read() == b"two"
    assert keys == ["one", "two"]


def test_the_writer_refuses_a_body_of_another_size():
    with pytest.raises(ArchiveError):
        archive((ObjectEntry("b-1", "k", 5), [b"four"]))
    with pytest.raises(ArchiveError):
        archive((ObjectEntry("b-1", "k", 3), [b"four"]))


def pax_member(records: bytes, size_field: int | None = None) -> bytes:
    info = tarfile.TarInfo("PaxHeader/x")
    info.type = tarfile.XHDTYPE
    info.size = len(records) if size_field is None else size_field
    return info.tobuf(tarfile.USTAR_FORMAT) + records + bytes(-len(records) % 512)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a tar archive at all" * 40,
        archive((ObjectEntry("b-1", "k", 4), [b"four"]))[:-1024 - 512 + 2],  # ends inside the body
        archive((ObjectEntry("b-1", "k", 4), [b"four"]))[:-1024],  # no end marker
        pax_member(b"9999 path=x\n"),
        pax_member(b"2 2 2 2 2 2 2 2=\n"),
        pax_member(b"", size_field=MAX_EXTENDED_HEADER + 1),
    ],
)
def test_malformed_archives_raise_archive_error(data):
    with pytest.raises(ArchiveError):
        read_all(data)


def test_a_hostile_pax_header_is_parsed_in_linear_time():
    """tarfile's regex needs seconds for this 1 MiB header; a linear scan refuses it at once."""
    records = b"2 " * (MAX_EXTENDED_HEADER // 2 - 1) + b"=\n"
    started = time.perf_counter()
    with pytest.raises(ArchiveError):
        read_all(pax_member(records))
    assert time.perf_counter() - started < 1


# -- through a real gateway ------------------------------------------------------------------------------


def put_sample(s3, bucket: str = "bulk-one") -> dict[str, bytes]:
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration=REGION)
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={"CORSRules": [{"AllowedMethods": ["GET", "PUT"], "AllowedOrigins": ["http://a.test"],
                                          "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 60}]},
    )
    bodies = {"plain.bin": bytes(range(256)) * 40, "empty": b"", "dir/headers.md": b"# headed", "folder/": b""}
    for key, body in bodies.items():
        extra = {**HEADERS, "Metadata": {"owner": "alice", "kind": "doc"}} if key == "dir/headers.md" else {}
        s3.put_object(Bucket=bucket, Key=key, Body=body, **extra)
    return bodies


def described(s3, bucket: str, key: str) -> dict:
    response = s3.get_object(Bucket=bucket, Key=key)
    return {
        "body": response["Body"].read(),
        "etag": response["ETag"],
        "metadata": response["Metadata"],
        **{name: response.get(name) for name in HEADERS},
    }


def test_health_advertises_bulk(moto):
    health = requests.get(f"{moto.url}/_health", timeout=10).json()
    assert health["bulk"] == {"version": 1, "export": "/_bulk/export", "import": "/_bulk/import", "list": "/_bulk/list"}
    assert capability(moto.url) == health["bulk"]


def test_export_then_import_gives_back_every_object_header_and_bucket_setting(moto, s3):
    bodies = put_sample(s3)
    before = {key: described(s3, "bulk-one", key) for key in bodies}
    cors = s3.get_bucket_cors(Bucket="bulk-one")["CORSRules"]
    response = requests.get(f"{moto.url}/_bulk/export", timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/x-tar"
    data = response.content

    moto.reset()
    result = requests.post(f"{moto.url}/_bulk/import", data=data, timeout=30)
    assert result.status_code == 200, result.text
    assert result.json() | {"errors": []} == {
        "objects": 4, "bytes": sum(map(len, bodies.values())), "buckets_created": ["bulk-one"], "skipped": 0,
        "error_count": 0, "errors": [],
    }
    assert {key: described(s3, "bulk-one", key) for key in bodies} == before, "bytes, ETag, headers, metadata"
    assert s3.get_bucket_cors(Bucket="bulk-one")["CORSRules"] == cors
    assert s3.get_bucket_location(Bucket="bulk-one")["LocationConstraint"] == "ap-northeast-1"


def test_imported_etags_equal_a_put_of_the_same_bytes(moto, s3):
    s3.create_bucket(Bucket="bulk-etag", CreateBucketConfiguration=REGION)
    body = b"same bytes" * 1000
    put_etag = s3.put_object(Bucket="bulk-etag", Key="by-put", Body=body)["ETag"]
    data = archive((ObjectEntry("bulk-etag", "by-import", len(body)), [body]))
    assert requests.post(f"{moto.url}/_bulk/import", data=data, timeout=30).status_code == 200
    assert s3.head_object(Bucket="bulk-etag", Key="by-import")["ETag"] == put_etag == f'"{hashlib.md5(body).hexdigest()}"'
    head = s3.head_object(Bucket="bulk-etag", Key="by-import")
    assert head["ContentType"] == "binary/octet-stream" and head["ContentLength"] == len(body)


def test_export_of_named_buckets_and_unknown_ones(moto, s3):
    put_sample(s3, "bulk-one")
    s3.create_bucket(Bucket="bulk-two", CreateBucketConfiguration=REGION)
    s3.put_object(Bucket="bulk-two", Key="only", Body=b"2")
    with export(moto.url, capability(moto.url), ["bulk-two"]) as members:
        read = [(entry, body.read() if body else None) for entry, body in members]
    assert [type(entry).__name__ for entry, _ in read] == ["BucketEntry", "ObjectEntry"]
    assert read[1][0].key == "only" and read[1][1] == b"2" and read[1][0].etag == s3.head_object(
        Bucket="bulk-two", Key="only")["ETag"]
    response = requests.get(f"{moto.url}/_bulk/export", params={"bucket": ["bulk-two", "no-such-bucket"]}, timeout=10)
    assert response.status_code == 404 and "no-such-bucket" in response.json()["error"]
    assert requests.put(f"{moto.url}/_bulk/export", timeout=10).status_code == 405
    assert requests.get(f"{moto.url}/_bulk/import", timeout=10).status_code == 405


def test_an_export_of_chosen_keys(moto, s3):
    put_sample(s3, "bulk-one")
    chosen = {"bulk-one": ["dir/headers.md", "empty", "never-existed"]}
    with export(moto.url, capability(moto.url), objects=chosen) as members:
        read = [(entry, body.read() if body else None) for entry, body in members]
    assert [getattr(entry, "key", None) for entry, _ in read] == [None, "dir/headers.md", "empty"]
    assert read[1][0].headers["content-language"] == "de-CH" and read[1][0].metadata == {"owner": "alice", "kind": "doc"}
    with export(moto.url, capability(moto.url), objects={}) as members:
        assert list(members) == []
    for body in (b"", b"not json", b'{"objects": ["a"]}', b'{"objects": {"b": [1]}}'):
        response = requests.post(f"{moto.url}/_bulk/export", data=body, timeout=10)
        assert response.status_code == 400 and response.json()["code"] == "MalformedSelection", body
    missing = requests.post(f"{moto.url}/_bulk/export", json={"objects": {"no-such-bucket": []}}, timeout=10)
    assert missing.status_code == 404


def test_the_bulk_listing_equals_list_objects(moto, s3):
    put_sample(s3, "bulk-one")
    s3.put_object(Bucket="bulk-one", Key="é-after", Body=b"u")
    s3.put_object(Bucket="bulk-one", Key="Z-upper", Body=b"z")
    s3.delete_object(Bucket="bulk-one", Key="empty")
    expected = [(item["Key"], item["ETag"], item["Size"]) for item in s3.list_objects_v2(Bucket="bulk-one")["Contents"]]
    pages = list(list_pages(moto.url, capability(moto.url), "bulk-one", page_size=2))
    assert [row for page in pages for row in page] == expected, "same keys, ETags, sizes and order"
    assert [len(page) for page in pages] == [2, 2, 1]
    assert requests.get(f"{moto.url}/_bulk/list?bucket=no-such-bucket", timeout=10).status_code == 404
    assert requests.get(f"{moto.url}/_bulk/list", timeout=10).status_code == 404


def test_an_export_excludes_deleted_and_shows_the_current_version(moto, s3):
    s3.create_bucket(Bucket="bulk-ver", CreateBucketConfiguration=REGION)
    s3.put_bucket_versioning(Bucket="bulk-ver", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="bulk-ver", Key="k", Body=b"v1")
    s3.put_object(Bucket="bulk-ver", Key="k", Body=b"v2")
    s3.put_object(Bucket="bulk-ver", Key="gone", Body=b"x")
    s3.delete_object(Bucket="bulk-ver", Key="gone")
    read = read_all(requests.get(f"{moto.url}/_bulk/export?bucket=bulk-ver", timeout=10).content)
    assert [(entry.key, body) for entry, body in read if isinstance(entry, ObjectEntry)] == [("k", b"v2")]


def test_a_malformed_or_truncated_import_is_400_and_keeps_what_came_before(moto, s3):
    assert requests.post(f"{moto.url}/_bulk/import", data=b"garbage" * 100, timeout=10).status_code == 400
    data = archive(
        (ObjectEntry("bulk-trunc", "first", 5), [b"first"]), (ObjectEntry("bulk-trunc", "second", 2000), [b"s" * 2000])
    )
    response = requests.post(f"{moto.url}/_bulk/import", data=data[: len(data) - 1024 - 1000], timeout=10)
    assert response.status_code == 400
    assert response.json()["code"] == "MalformedArchive" and response.json()["objects"] == 1
    assert [item["Key"] for item in s3.list_objects_v2(Bucket="bulk-trunc")["Contents"]] == ["first"]


def test_refused_members_are_reported_and_the_rest_imported(moto, s3):
    data = archive(
        (ObjectEntry("Bad_Bucket", "k", 1), [b"x"]),
        (ObjectEntry("bulk-ok", "k" * 1025, 1), [b"x"]),
        (ObjectEntry("bulk-ok", "bad-meta", 1, {}, {"sp ace": "v"}), [b"x"]),
        BucketEntry("bulk-ok", None, [{"AllowedMethods": ["FETCH"], "AllowedOrigins": ["*"]}]),
        (ObjectEntry("bulk-ok", "good", 4), [b"good"]),
    )
    response = requests.post(f"{moto.url}/_bulk/import", data=data, timeout=10)
    assert response.status_code == 200
    summary = response.json()
    assert summary["objects"] == 1 and summary["error_count"] == 4, summary
    assert [item["Key"] for item in s3.list_objects_v2(Bucket="bulk-ok")["Contents"]] == ["good"]
    assert s3.get_bucket_location(Bucket="bulk-ok")["LocationConstraint"] is None, "no region: us-east-1"


def test_gnu_tar_of_a_folder_imports(moto, s3, tmp_path):
    (tmp_path / "from-tar" / "nested").mkdir(parents=True)
    (tmp_path / "from-tar" / "nested" / "a.txt").write_bytes(b"from tar")
    data = subprocess.run(["tar", "-C", str(tmp_path), "-cf", "-", "from-tar"], capture_output=True, check=True).stdout
    summary = requests.post(f"{moto.url}/_bulk/import", data=data, timeout=10).json()
    assert summary["objects"] == 1 and summary["skipped"] == 1, summary
    assert s3.get_object(Bucket="from-tar", Key="nested/a.txt")["Body"].read() == b"from tar"


def test_import_and_export_are_in_the_change_feed(moto, s3):
    last = requests.get(f"{moto.url}/_changes", timeout=10).json()["last_seq"]
    data = archive(BucketEntry("bulk-feed", None, [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]),
                   (ObjectEntry("bulk-feed", "k", 1), [b"x"]))
    assert requests.post(f"{moto.url}/_bulk/import", data=data, timeout=10).status_code == 200
    events = requests.get(f"{moto.url}/_changes?after={last}", timeout=10).json()["events"]
    assert [(event["op"], event["bucket"]) for event in events] == [
        ("create-bucket", "bulk-feed"), ("bucket-cors", "bulk-feed"), ("bucket-put", "bulk-feed")]


def test_import_files_streams_mirror_files_and_returns_their_etags(moto, s3, tmp_path):
    s3.create_bucket(Bucket="bulk-files", CreateBucketConfiguration=REGION)
    files = []
    for index in range(5):
        path = tmp_path / f"f{index}"
        path.write_bytes(f"file {index}".encode() * (index + 1))
        files.append(FileToImport("bulk-files", f"k/{index}", path, path.stat().st_size,
                                  {"ContentType": "text/plain", "Metadata": {"n": str(index)}}))
    files.append(FileToImport("bulk-files", "missing", tmp_path / "missing", 3))
    files.append(FileToImport("bulk-files", "changed", files[0].path, 999))
    result = import_files(moto.url, capability(moto.url), files)
    assert result.summary["objects"] == 5 and result.summary["error_count"] == 0
    assert sorted(key for _, key, _ in result.unreadable) == ["changed", "missing"]
    for item in files[:5]:
        head = s3.head_object(Bucket="bulk-files", Key=item.key)
        assert result.etags[("bulk-files", item.key)] == head["ETag"]
        assert head["ContentType"] == "text/plain" and head["Metadata"] == item.headers["Metadata"]


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_a_256_mib_object_goes_through_both_ways_within_150_mib(tmp_path):
    """Peak RSS of a fresh gateway process that imports, then exports a 256 MiB object."""
    size = 256 * 1024 * 1024
    source = tmp_path / "big"
    block = hashlib.sha256(b"seed").digest() * (1024 * 1024 // 32)
    digest = hashlib.md5()
    with open(source, "wb") as out:
        for index in range(size // len(block)):
            chunk = block[index % 32 :] + block[: index % 32]
            digest.update(chunk)
            out.write(chunk)
    server = MotoServer()
    server.start()
    try:
        cap = capability(server.url)
        result = import_files(server.url, cap, [FileToImport("bulk-big", "big", source, size)],
                              buckets=[BucketEntry("bulk-big")])
        assert result.summary["objects"] == 1 and result.etags[("bulk-big", "big")] == f'"{digest.hexdigest()}"'
        received = hashlib.md5()
        with export(server.url, cap, ["bulk-big"]) as members:
            for entry, body in members:
                if body is not None:
                    for chunk in body.chunks():
                        received.update(chunk)
        assert received.hexdigest() == digest.hexdigest()
        assert peak_rss_mib(server.process.pid) < 150
    finally:
        server.stop()


def test_import_summary_is_json_with_counts(moto):
    response = requests.post(f"{moto.url}/_bulk/import", data=archive(), timeout=10)
    assert response.status_code == 200 and json.loads(response.content)["objects"] == 0
