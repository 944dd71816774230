"""How much one large request grows the gateway's resident memory, per way of sending a body.

    python -m bench.large_bodies [--mib 512] [--only put,part,...]

Starts `python -m moto_gateway` at default settings, then sends, one at a time: a boto3 PutObject, a
presigned PUT (requests, streamed), an `aws-chunked` PUT with a trailing CRC32 (what boto3 sends over
HTTPS), an UploadPart, a CopyObject and an UploadPartCopy of the large object, a CompleteMultipartUpload,
and GetObjects: whole, a Range from past the first MiB to the end, presigned, and part 2 of the multipart
object (`partNumber`). Before each the kernel's peak-RSS mark of the server is reset (`/proc/PID/clear_refs`),
after it the peak (VmHWM) is read: the growth is what that one request cost at its worst. Bodies come from
testkit.streams, so the client stays small; every object read back is hashed as it streams.
"""

from __future__ import annotations

import argparse
import base64
import time
import zlib
from pathlib import Path

import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from bench.common import print_table
from testkit.clients import REGION, make_test_client
from testkit.servers import MotoServer
from testkit.streams import DeterministicBody, chunks, expected_digests, stream_digests

BUCKET = "large"
MIB = 1024 * 1024


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS


class PeakGrowth:
    """`with PeakGrowth(pid) as growth:` ... `growth.mib`: the request's peak RSS over the RSS before it."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.mib = 0.0
        self.seconds = 0.0

    def __enter__(self) -> PeakGrowth:
        reset_peak(self.pid)
        self.before = status_kib(self.pid, "VmRSS")
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.started
        self.mib = (status_kib(self.pid, "VmHWM") - self.before) / 1024


def aws_chunked_frames(size: int, chunk: int = 4 * MIB):
    """The aws-chunked encoding (unsigned, trailing CRC32) of DeterministicBody(size), and its length."""
    crc = 0
    for piece in chunks(size, chunk):
        crc = zlib.crc32(piece, crc)
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    value = base64.b64encode(crc.to_bytes(4, "big")).decode()
    yield f"0\r\nx-amz-checksum-crc32:{value}\r\n\r\n".encode()


def aws_chunked_length(size: int, chunk: int = 4 * MIB) -> int:
    full, rest = divmod(size, chunk)
    framing = full * (len(f"{chunk:x}\r\n") + chunk + 2)
    if rest:
        framing += len(f"{rest:x}\r\n") + rest + 2
    return framing + len("0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n")


class FramedBody:
    """A file-like view of the aws-chunked frames, with a length, so requests sends Content-Length."""

    def __init__(self, size: int) -> None:
        self.frames = aws_chunked_frames(size)
        self.length = aws_chunked_length(size)
        self.pending = b""

    def __len__(self) -> int:
        return self.length

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self.pending) < size:
            frame = next(self.frames, None)
            if frame is None:
                break
            self.pending += frame
        if size < 0:
            size = len(self.pending)
        piece, self.pending = self.pending[:size], self.pending[size:]
        return piece


def aws_chunked_put(url: str, bucket: str, key: str, size: int) -> requests.Response:
    """PUT with `STREAMING-UNSIGNED-PAYLOAD-TRAILER` (header-signed), the body streamed."""
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(size),
        "x-amz-trailer": "x-amz-checksum-crc32",
        "x-amz-sdk-checksum-algorithm": "CRC32",
        "Content-Length": str(aws_chunked_length(size)),
    }
    request = AWSRequest(method="PUT", url=f"{url}/{bucket}/{key}", headers=headers)
    request.headers["X-Amz-Content-SHA256"] = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    S3SigV4Auth(Credentials("test", "test"), "s3", REGION).add_auth(request)
    signed = dict(request.headers)
    signed["X-Amz-Content-SHA256"] = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    return requests.put(f"{url}/{bucket}/{key}", data=FramedBody(size), headers=signed, timeout=600)


def run(size: int, only: set[str] | None) -> list[list[str]]:
    server = MotoServer()
    server.start()
    rows = []
    try:
        s3 = make_test_client(server.url)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket=BUCKET, Key="warm", Body=b"x" * 1024)
        s3.get_object(Bucket=BUCKET, Key="warm")["Body"].read()
        pid = server.process.pid
        expected = expected_digests(size)

        def measure(name: str, action) -> None:
            if only and name not in only:
                return
            with PeakGrowth(pid) as growth:
                detail = action()
            rows.append([name, f"{size // MIB}", f"{growth.mib:.1f}", f"{growth.seconds:.1f}", detail])

        def put():
            answer = s3.put_object(Bucket=BUCKET, Key="big", Body=DeterministicBody(size))
            return "etag ok" if answer["ETag"].strip('"') == expected["md5"] else f"etag {answer['ETag']}"

        def verdict(answer: requests.Response) -> str:
            same = answer.headers.get("ETag", "").strip('"') == expected["md5"]
            return f"{answer.status_code} " + ("etag ok" if same else "etag wrong")

        def presigned():
            url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "presigned"})
            length = {"Content-Length": str(size)}
            return verdict(requests.put(url, data=DeterministicBody(size), headers=length, timeout=600))

        def chunked():
            return verdict(aws_chunked_put(server.url, BUCKET, "chunked", size))

        upload = {}

        def part():
            upload["id"] = s3.create_multipart_upload(Bucket=BUCKET, Key="multi")["UploadId"]
            answer = s3.upload_part(
                Bucket=BUCKET, Key="multi", UploadId=upload["id"], PartNumber=1, Body=DeterministicBody(size)
            )
            upload["parts"] = [{"PartNumber": 1, "ETag": answer["ETag"]}]
            return "etag ok" if answer["ETag"].strip('"') == expected["md5"] else "etag wrong"

        def part_copy():
            answer = s3.upload_part_copy(
                Bucket=BUCKET, Key="multi", UploadId=upload["id"], PartNumber=2, CopySource=f"{BUCKET}/big"
            )
            upload["parts"].append({"PartNumber": 2, "ETag": answer["CopyPartResult"]["ETag"]})
            same = answer["CopyPartResult"]["ETag"].strip('"') == expected["md5"]
            return "etag ok" if same else "etag wrong"

        def complete():
            s3.complete_multipart_upload(
                Bucket=BUCKET, Key="multi", UploadId=upload["id"], MultipartUpload={"Parts": upload["parts"]}
            )
            upload["completed"] = "multi"
            return "ok"

        def copy():
            answer = s3.copy_object(Bucket=BUCKET, Key="copy", CopySource=f"{BUCKET}/big")
            same = answer["CopyObjectResult"]["ETag"].strip('"') == expected["md5"]
            return "etag ok" if same else "etag wrong"

        def get():
            body = s3.get_object(Bucket=BUCKET, Key="big")["Body"]
            length, digests = stream_digests(body)
            return "bytes ok" if (length, digests) == (size, expected) else f"bytes differ ({length})"

        def get_range():
            start = MIB + 7
            answer = s3.get_object(Bucket=BUCKET, Key="big", Range=f"bytes={start}-")
            source = DeterministicBody(size)
            source.seek(start)
            same = stream_digests(answer["Body"]) == stream_digests(source)
            return f"{answer['ContentRange']} " + ("bytes ok" if same else "bytes differ")

        def get_part():
            answer = s3.get_object(Bucket=BUCKET, Key="multi", PartNumber=2)
            same = stream_digests(answer["Body"]) == (size, expected)
            return f"206 part 2/{answer.get('PartsCount')} " + ("bytes ok" if same else "bytes differ")

        def get_presigned():
            url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "big"})
            with requests.get(url, stream=True, timeout=600) as answer:
                same = stream_digests(answer.raw) == (size, expected)
                return f"{answer.status_code} " + ("bytes ok" if same else "bytes differ")

        measure("put", put)
        measure("presigned", presigned)
        measure("aws-chunked", chunked)
        measure("part", part)
        measure("part-copy", part_copy)
        measure("copy", copy)
        measure("complete", complete)
        measure("get", get)
        measure("get-range", get_range)
        measure("get-presigned", get_presigned)
        if "multi" in upload.get("completed", ""):
            measure("get-part", get_part)
    finally:
        server.stop()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=int, default=512, help="body size in MiB")
    parser.add_argument("--only", default="", help="comma-separated: put,presigned,aws-chunked,part,...")
    args = parser.parse_args(argv)
    only = set(filter(None, args.only.split(","))) or None
    rows = run(args.mib * MIB, only)
    print_table(
        "Peak RSS growth of the gateway per request (VmHWM over VmRSS before)",
        ["request", "MiB sent", "RSS growth (MiB)", "seconds", "result"],
        rows,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
