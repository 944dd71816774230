"""Issue 17: no single request grows the gateway's RSS by more than 32 MiB beyond GATEWAY_SPOOL_MEMORY_BYTES.

Against a real `python -m moto_gateway`: a 1 GiB PutObject, a 512 MiB UploadPart, a presigned PUT, an
aws-chunked PUT with a trailing CRC32 (what boto3 sends over HTTPS) and a CopyObject / UploadPartCopy of the
1 GiB object. Before each request the kernel's peak-RSS mark of the server is reset (/proc/PID/clear_refs);
after it, the peak (VmHWM) over the RSS before is the request's cost. Bodies are generated as they are sent
(testkit.streams) and hashed as they come back, so this process stays small; every object is read back
byte-exact with S3's ETag (MD5 for a single PUT). The change feed carries the stored size and ETag.
GetObject (whole, Range, partNumber, presigned) of those objects is measured the same way, and GETs racing
overwrites and deletes of their key must each return one complete version.
"""

from __future__ import annotations

import base64
import json
import threading
import zlib
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from bench.large_bodies import PeakGrowth, aws_chunked_put
from testkit.servers import MotoServer
from testkit.streams import DeterministicBody, chunks, expected_digests, stream_digests
from tests.moto_gateway.helpers import client

MIB = 1024 * 1024
SPOOL_MEMORY = 8 * MIB
RSS_BOUND_MIB = 32 + SPOOL_MEMORY / MIB
BUCKET = "large"


@pytest.fixture(scope="module")
def gateway():
    server = MotoServer(env={"GATEWAY_SPOOL_MEMORY_BYTES": str(SPOOL_MEMORY)})
    server.start()
    s3 = client(server.url)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    s3.put_object(Bucket=BUCKET, Key="warm-up", Body=b"x" * 1024)  # Moto's lazy imports, before measuring
    s3.get_object(Bucket=BUCKET, Key="warm-up")["Body"].read()
    yield server
    server.stop()


def read_back(s3, key: str, size: int) -> None:
    length, digests = stream_digests(s3.get_object(Bucket=BUCKET, Key=key)["Body"])
    assert length == size
    assert digests == expected_digests(size)


def feed_event(server: MotoServer, key: str) -> dict:
    with urllib.request.urlopen(f"{server.url}/_changes?after=0", timeout=30) as answer:
        events = json.load(answer)["events"]
    return [event for event in events if event.get("key") == key][-1]


def test_a_1_gib_put_object_stays_within_the_bound_and_is_stored_exactly(gateway):
    size = 1024 * MIB
    s3 = client(gateway.url)
    with PeakGrowth(gateway.process.pid) as growth:
        answer = s3.put_object(
            Bucket=BUCKET, Key="big", Body=DeterministicBody(size), ContentType="video/mp4"
        )
    assert growth.mib < RSS_BOUND_MIB, f"RSS grew {growth.mib:.1f} MiB for one 1 GiB PUT"
    md5 = expected_digests(size)["md5"]
    assert answer["ETag"] == f'"{md5}"'
    head = s3.head_object(Bucket=BUCKET, Key="big")
    assert (head["ContentLength"], head["ETag"], head["ContentType"]) == (size, f'"{md5}"', "video/mp4")
    event = feed_event(gateway, "big")
    assert (event["op"], event.get("etag", "").strip('"'), event.get("size")) == ("put", md5, size)
    read_back(s3, "big", size)


def test_a_body_of_the_spool_s_size_with_a_checksum_stays_within_the_bound(gateway):
    """Where the server and the checksum check each still hold a body in memory, the key keeps it too."""
    size = SPOOL_MEMORY
    s3 = client(gateway.url)
    with PeakGrowth(gateway.process.pid) as growth:
        answer = s3.put_object(
            Bucket=BUCKET, Key="spool-size", Body=DeterministicBody(size), ChecksumAlgorithm="CRC32"
        )
    assert growth.mib < RSS_BOUND_MIB, f"RSS grew {growth.mib:.1f} MiB for one {size // MIB} MiB PUT"
    assert answer["ETag"] == f'"{expected_digests(size)["md5"]}"'
    read_back(s3, "spool-size", size)


def test_copies_of_a_large_object_go_key_to_key(gateway):
    size = 1024 * MIB
    s3 = client(gateway.url)
    if "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="big"):
        s3.put_object(Bucket=BUCKET, Key="big", Body=DeterministicBody(size))
    md5 = expected_digests(size)["md5"]
    with PeakGrowth(gateway.process.pid) as growth:
        answer = s3.copy_object(Bucket=BUCKET, Key="big-copy", CopySource=f"{BUCKET}/big")
    assert growth.mib < RSS_BOUND_MIB, f"RSS grew {growth.mib:.1f} MiB for a copy of 1 GiB"
    assert answer["CopyObjectResult"]["ETag"] == f'"{md5}"'
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="ranged")["UploadId"]
    with PeakGrowth(gateway.process.pid) as growth:
        part = s3.upload_part_copy(
            Bucket=BUCKET, Key="ranged", UploadId=upload, PartNumber=1, CopySource=f"{BUCKET}/big",
            CopySourceRange=f"bytes=0-{64 * MIB - 1}",
        )
    assert growth.mib < RSS_BOUND_MIB, f"RSS grew {growth.mib:.1f} MiB for a 64 MiB UploadPartCopy"
    assert part["CopyPartResult"]["ETag"] == f'"{expected_digests(64 * MIB)["md5"]}"'
    s3.abort_multipart_upload(Bucket=BUCKET, Key="ranged", UploadId=upload)
    assert s3.head_object(Bucket=BUCKET, Key="big-copy")["ContentLength"] == size


def test_copies_asking_for_a_checksum_and_copies_in_place_answer_as_moto_does(gateway):
    """Moto reads the copy's own value again to compute a requested checksum; a copy in place reads its
    source and stores over it: both keep working with the key-to-key copy."""
    size = 3 * MIB
    s3 = client(gateway.url)
    s3.put_object(Bucket=BUCKET, Key="small-source", Body=DeterministicBody(size), Metadata={"a": "1"})
    md5 = expected_digests(size)["md5"]
    copied = s3.copy_object(
        Bucket=BUCKET, Key="small-copy", CopySource=f"{BUCKET}/small-source", ChecksumAlgorithm="SHA256"
    )["CopyObjectResult"]
    assert copied["ETag"] == f'"{md5}"'
    assert copied["ChecksumSHA256"]
    in_place = s3.copy_object(
        Bucket=BUCKET, Key="small-source", CopySource=f"{BUCKET}/small-source",
        Metadata={"a": "2"}, MetadataDirective="REPLACE",
    )["CopyObjectResult"]
    assert in_place["ETag"] == f'"{md5}"'
    assert s3.head_object(Bucket=BUCKET, Key="small-source")["Metadata"] == {"a": "2"}
    read_back(s3, "small-source", size)
    read_back(s3, "small-copy", size)


def test_a_copy_asking_for_a_checksum_of_a_large_source_computes_it_chunk_by_chunk(gateway):
    """S3 API Reference, CopyObject (`x-amz-checksum-algorithm`: "the algorithm you want Amazon S3 to use to
    create the checksum for the object"; `CopyObjectResult` > `ChecksumSHA256` / `ChecksumCRC32`),
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html: a copy of a 256 MiB object asking
    for a checksum answers the checksum of the whole object, as Moto computes it, and grows RSS < 40 MiB
    (Moto read the copy's whole value into memory for it); HeadObject returns it."""
    size = 256 * MIB
    s3 = client(gateway.url)
    s3.put_object(Bucket=BUCKET, Key="sum-source", Body=DeterministicBody(size))
    crc = 0
    for piece in chunks(size):
        crc = zlib.crc32(piece, crc)
    expected = {
        "SHA256": base64.b64encode(bytes.fromhex(expected_digests(size)["sha256"])).decode(),
        "CRC32": base64.b64encode(crc.to_bytes(4, "big")).decode(),
    }
    for algorithm, value in expected.items():
        key = f"sum-copy-{algorithm}"
        with PeakGrowth(gateway.process.pid) as growth:
            copied = s3.copy_object(
                Bucket=BUCKET, Key=key, CopySource=f"{BUCKET}/sum-source", ChecksumAlgorithm=algorithm
            )["CopyObjectResult"]
        assert growth.mib < 40, f"RSS grew {growth.mib:.1f} MiB for a {algorithm} copy of 256 MiB"
        assert copied[f"Checksum{algorithm}"] == value
        head = s3.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
        assert head[f"Checksum{algorithm}"] == value
    read_back(s3, "sum-copy-CRC32", size)


def test_a_512_mib_upload_part_stays_within_the_bound(gateway):
    size = 512 * MIB
    s3 = client(gateway.url)
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="parts")["UploadId"]
    with PeakGrowth(gateway.process.pid) as growth:
        answer = s3.upload_part(
            Bucket=BUCKET, Key="parts", UploadId=upload, PartNumber=1, Body=DeterministicBody(size),
            ChecksumAlgorithm="SHA256",
        )
    assert growth.mib < RSS_BOUND_MIB, f"RSS grew {growth.mib:.1f} MiB for one 512 MiB UploadPart"
    assert answer["ETag"] == f'"{expected_digests(size)["md5"]}"'
    parts = s3.list_parts(Bucket=BUCKET, Key="parts", UploadId=upload)["Parts"]
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in parts] == [(1, size, answer["ETag"])]
    s3.abort_multipart_upload(Bucket=BUCKET, Key="parts", UploadId=upload)


def test_a_large_presigned_put_stays_within_the_bound(gateway):
    size = 256 * MIB
    s3 = client(gateway.url)
    url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "presigned"})
    with PeakGrowth(gateway.process.pid) as growth:
        answer = requests.put(
            url, data=DeterministicBody(size), headers={"Content-Length": str(size)}, timeout=300
        )
    assert answer.status_code == 200, answer.text
    assert growth.mib < RSS_BOUND_MIB, f"RSS grew {growth.mib:.1f} MiB for one presigned PUT"
    assert answer.headers["ETag"] == f'"{expected_digests(size)["md5"]}"'
    read_back(s3, "presigned", size)


def test_a_large_aws_chunked_put_with_a_trailing_checksum_stays_within_the_bound(gateway):
    size = 256 * MIB
    s3 = client(gateway.url)
    with PeakGrowth(gateway.process.pid) as growth:
        answer = aws_chunked_put(gateway.url, BUCKET, "chunked", size)
    assert answer.status_code == 200, answer.text
    assert growth.mib < RSS_BOUND_MIB, f"RSS grew {growth.mib:.1f} MiB for one aws-chunked PUT"
    assert answer.headers["ETag"] == f'"{expected_digests(size)["md5"]}"'
    assert answer.headers["x-amz-checksum-crc32"]
    head = s3.head_object(Bucket=BUCKET, Key="chunked", ChecksumMode="ENABLED")
    assert head["ContentLength"] == size
    assert head.get("ContentEncoding") is None  # aws-chunked is the transfer's, not the object's
    assert head["ChecksumCRC32"] == answer.headers["x-amz-checksum-crc32"]
    read_back(s3, "chunked", size)


def test_a_wrong_checksum_or_md5_on_a_large_put_is_refused_and_stores_nothing(gateway):
    size = 16 * MIB
    s3 = client(gateway.url)
    for extra in ({"ChecksumSHA256": "A" * 43 + "="}, {"ContentMD5": "A" * 22 + "=="}):
        with pytest.raises(s3.exceptions.ClientError) as refused:
            s3.put_object(Bucket=BUCKET, Key="refused", Body=DeterministicBody(size), **extra)
        assert refused.value.response["Error"]["Code"] in ("BadDigest", "InvalidDigest")
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="refused")


# -- GetObject: the body streams from the key's buffer (streamed_reads.py) ---------------------------------


def span_digests(start: int, stop: int) -> tuple[int, dict[str, str]]:
    """Length and digests of bytes start:stop of DeterministicBody, generated as they are hashed."""
    body = DeterministicBody(stop)
    body.seek(start)
    return stream_digests(body)


def big_object(s3) -> int:
    size = 1024 * MIB
    if "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="big"):
        s3.put_object(Bucket=BUCKET, Key="big", Body=DeterministicBody(size))
    return size


def test_a_1_gib_get_object_streams_within_the_bound(gateway):
    s3 = client(gateway.url)
    size = big_object(s3)
    with PeakGrowth(gateway.process.pid) as growth:
        answer = s3.get_object(Bucket=BUCKET, Key="big")
        length, digests = stream_digests(answer["Body"])
    assert growth.mib < RSS_BOUND_MIB, f"RSS grew {growth.mib:.1f} MiB for a GET of 1 GiB"
    assert (length, digests) == (size, expected_digests(size))
    assert (answer["ContentLength"], answer["ETag"]) == (size, f'"{digests["md5"]}"')


def test_a_range_get_of_a_large_span_streams_within_the_bound(gateway):
    s3 = client(gateway.url)
    size = big_object(s3)
    start, last = 3 * MIB + 17, 700 * MIB
    with PeakGrowth(gateway.process.pid) as growth:
        answer = s3.get_object(Bucket=BUCKET, Key="big", Range=f"bytes={start}-{last}")
        got = stream_digests(answer["Body"])
    assert growth.mib < RSS_BOUND_MIB, f"RSS grew {growth.mib:.1f} MiB for a Range GET of 697 MiB"
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert answer["ContentRange"] == f"bytes {start}-{last}/{size}"
    assert answer["ContentLength"] == last - start + 1
    assert got == span_digests(start, last + 1)
    suffix = s3.get_object(Bucket=BUCKET, Key="big", Range="bytes=-1000")
    assert suffix["ContentRange"] == f"bytes {size - 1000}-{size - 1}/{size}"
    assert stream_digests(suffix["Body"]) == span_digests(size - 1000, size)


def test_a_presigned_get_of_a_large_object_streams_within_the_bound_with_moto_s_headers(gateway):
    s3 = client(gateway.url)
    size = big_object(s3)
    md5 = expected_digests(size)["md5"]
    params = {"Bucket": BUCKET, "Key": "big", "ResponseContentType": "text/x-large"}
    url = s3.generate_presigned_url("get_object", Params=params)
    with PeakGrowth(gateway.process.pid) as growth:
        with requests.get(url, stream=True, timeout=600) as answer:
            assert answer.status_code == 200, answer.text
            got = stream_digests(answer.raw)
    assert growth.mib < RSS_BOUND_MIB, f"RSS grew {growth.mib:.1f} MiB for a presigned GET of 1 GiB"
    assert got == (size, expected_digests(size))
    assert answer.headers["Content-Length"] == str(size)
    assert answer.headers["Content-Type"] == "text/x-large"
    assert answer.headers["ETag"] == f'"{md5}"'
    assert answer.headers["Accept-Ranges"] == "bytes"
    not_modified = requests.get(url, headers={"If-None-Match": f'"{md5}"'}, timeout=60)
    assert not_modified.status_code == 304 and not not_modified.content
    failed = requests.get(url, headers={"If-Match": '"0"'}, timeout=60)
    assert failed.status_code == 412 and b"PreconditionFailed" in failed.content
    unsatisfiable = requests.get(url, headers={"Range": f"bytes={size + 1}-"}, timeout=60)
    assert unsatisfiable.status_code == 416 and b"InvalidRange" in unsatisfiable.content


def test_a_part_read_of_a_large_multipart_object_streams_its_part(gateway):
    s3 = client(gateway.url)
    sizes = [40 * MIB, 24 * MIB]
    created = s3.create_multipart_upload(Bucket=BUCKET, Key="multi-read", ChecksumAlgorithm="SHA256")
    upload = created["UploadId"]
    body = DeterministicBody(sum(sizes))
    parts = []
    for number, size in enumerate(sizes, 1):
        body.seek(sum(sizes[: number - 1]))
        piece = body.read(size)
        answer = s3.upload_part(
            Bucket=BUCKET, Key="multi-read", UploadId=upload, PartNumber=number, Body=piece,
            ChecksumAlgorithm="SHA256",
        )
        parts.append(
            {"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": answer["ChecksumSHA256"]}
        )
    del piece
    etag = s3.complete_multipart_upload(
        Bucket=BUCKET, Key="multi-read", UploadId=upload, MultipartUpload={"Parts": parts}
    )["ETag"]
    with PeakGrowth(gateway.process.pid) as growth:
        answer = s3.get_object(Bucket=BUCKET, Key="multi-read", PartNumber=1)
        got = stream_digests(answer["Body"])
    assert growth.mib < RSS_BOUND_MIB, f"RSS grew {growth.mib:.1f} MiB for a 40 MiB part read"
    assert got == span_digests(0, sizes[0])
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert (answer["ETag"], answer["PartsCount"], answer["ContentLength"]) == (etag, 2, sizes[0])
    assert answer["ContentRange"] == f"bytes 0-{sizes[0] - 1}/{sum(sizes)}"
    second = s3.get_object(Bucket=BUCKET, Key="multi-read", PartNumber=2)
    assert second["ContentRange"] == f"bytes {sizes[0]}-{sum(sizes) - 1}/{sum(sizes)}"
    assert stream_digests(second["Body"]) == span_digests(sizes[0], sum(sizes))
    whole = s3.get_object(Bucket=BUCKET, Key="multi-read", ChecksumMode="ENABLED")
    assert whole["ChecksumSHA256"].endswith("-2")
    assert stream_digests(whole["Body"]) == span_digests(0, sum(sizes))


def test_a_get_streaming_while_its_key_is_overwritten_and_deleted_returns_the_version_it_started(gateway):
    s3 = client(gateway.url)
    first, second = 64 * MIB, 48 * MIB
    s3.put_object(Bucket=BUCKET, Key="moving", Body=DeterministicBody(first))
    answer = s3.get_object(Bucket=BUCKET, Key="moving")
    # the server buffers at most its output buffer ahead of the client: most of the body is not read yet
    head = answer["Body"].read(MIB)
    s3.put_object(Bucket=BUCKET, Key="moving", Body=DeterministicBody(second))
    s3.delete_object(Bucket=BUCKET, Key="moving")
    rest_length, _ = stream_digests(answer["Body"])
    assert len(head) + rest_length == first
    assert answer["ETag"] == f'"{expected_digests(first)["md5"]}"'
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=BUCKET, Key="moving")


def test_gets_racing_overwrites_and_deletes_each_return_one_complete_version(gateway):
    """Issue 17 case 3: under concurrent writers, every GET returns one complete body that was PUT."""
    sizes = [20 * MIB, 28 * MIB, 36 * MIB]
    versions = {expected_digests(size)["md5"]: size for size in sizes}
    once = {"total_max_attempts": 1}  # a 5xx fails the test instead of being retried by botocore
    s3 = client(gateway.url)
    s3.put_object(Bucket=BUCKET, Key="raced", Body=DeterministicBody(sizes[0]))
    stop = threading.Event()

    def write(index: int) -> int:
        writer, writes = client(gateway.url, retries=once), 0
        while not stop.is_set():
            size = sizes[(index + writes) % len(sizes)]
            writer.put_object(Bucket=BUCKET, Key="raced", Body=DeterministicBody(size))
            if writes % 3 == 2:
                writer.delete_object(Bucket=BUCKET, Key="raced")
            writes += 1
        return writes

    def read(rounds: int) -> list[tuple]:
        reader, seen = client(gateway.url, retries=once), []
        for _ in range(rounds):
            try:
                answer = reader.get_object(Bucket=BUCKET, Key="raced")
            except reader.exceptions.NoSuchKey:
                seen.append(("missing",))
                continue
            length, digests = stream_digests(answer["Body"])
            seen.append((length, digests["md5"], answer["ETag"].strip('"'), answer["ContentLength"]))
        return seen

    with ThreadPoolExecutor(5) as pool:
        writers = [pool.submit(write, index) for index in range(2)]
        readers = [pool.submit(read, 12) for _ in range(3)]
        seen = [outcome for reader in readers for outcome in reader.result()]
        stop.set()
        writes = sum(writer.result() for writer in writers)
    assert writes > 0
    complete = [outcome for outcome in seen if outcome != ("missing",)]
    assert complete, "every GET found the key deleted: the race was not exercised"
    for length, md5, etag, content_length in complete:
        assert md5 in versions and versions[md5] == length == content_length, (length, md5)
        assert etag == md5
