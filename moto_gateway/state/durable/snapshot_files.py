"""Named snapshots as records (the state folder's) and as single files (export, import on another machine).

    GET  /_snapshots/<name>/export          200 application/x-tar: the snapshot as one file
    POST /_snapshots/<name>/import          201: the file in the body becomes snapshot <name>

A snapshot file is a tar: `motostack-snapshot.json` ({"format", "created"}), `state.pickle` (the key
template and the snapshot's buckets as version records, codec.py) and `bodies/<n>`, each object's bytes
once. It is read back through codec.SafeUnpickler (only S3's classes), member names are never used as
paths, and bodies are spooled (memory up to 1 MiB each, then a temporary file).
"""

from __future__ import annotations

import json
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

from moto_gateway.state import s3state
from moto_gateway.state.durable import codec
from moto_gateway.state.durable.codec import BODY_ATTR, Template

FORMAT = 1
CHUNK = 1024 * 1024
MAX_STATE_BYTES = 512 * 1024 * 1024
SPOOL_BYTES = 1024 * 1024


class SnapshotFileError(ValueError):
    """The file is not a snapshot this gateway reads."""


def encode_state(
    state: s3state.S3State, template: Template, body_id: Callable[[s3state.KeyState], int]
) -> list:
    backends = []
    for backend in state.backends:
        buckets = {}
        for bucket_name, bucket in backend.buckets.items():
            versions = {}
            for key_name, kept in bucket.versions.items():
                records = []
                for version in kept:
                    if isinstance(version, s3state.KeyState):
                        records.append(
                            (
                                "k",
                                template.diff(version.attrs),
                                version.metadata,
                                body_id(version),
                                None,
                                None,
                            )
                        )
                    else:
                        records.append(codec.marker_record(version))
                versions[key_name] = records
            buckets[bucket_name] = (bucket.attrs, versions)
        backends.append((backend.account_id, backend.partition, buckets, backend.tags))
    return backends


def decode_state(
    backends: list, template: Template, body: Callable[[int], s3state.SharedBody], keep_ids: bool
) -> s3state.S3State:
    """The S3State of encoded `backends`; `body(id)` gives each body (the caller's reference is acquired
    per version); `keep_ids` marks the keys with their state folder body ids."""
    result = []
    for account_id, partition, buckets, tags in backends:
        states = {}
        for bucket_name, (attrs, versions) in buckets.items():
            kept = {}
            for key_name, records in versions.items():
                built = []
                for record in records:
                    if record[0] == "k":
                        _kind, diff, metadata, body_id, _tags, _skeleton = record
                        key_attrs = template.apply(diff)
                        key_attrs.pop(BODY_ATTR, None)
                        if keep_ids:
                            key_attrs[BODY_ATTR] = body_id
                        built.append(s3state.KeyState(key_attrs, metadata, body(body_id).acquire()))
                    else:
                        built.append(codec.build_marker(record[1], bucket_name, template))
                kept[key_name] = built
            states[bucket_name] = s3state.BucketState(attrs, kept)
        result.append(s3state.BackendState(account_id, partition, states, tags))
    return s3state.S3State(tuple(result))


# ----- one file -----------------------------------------------------------------------------------------


def export_file(state: s3state.S3State, created: float) -> Any:
    """The snapshot as a tar in a temporary file (positioned at 0); the caller closes it."""
    template = Template(codec.new_template())
    numbers: dict[int, int] = {}
    bodies: list[s3state.SharedBody] = []

    def number(version: s3state.KeyState) -> int:
        found = numbers.get(id(version.body))
        if found is None:
            found = numbers[id(version.body)] = len(bodies)
            bodies.append(version.body)
        return found

    encoded = codec.dumps({"template": template.attrs, "backends": encode_state(state, template, number)})
    # the caller streams the file and closes it
    spool = tempfile.TemporaryFile(prefix="motostack-snapshot-")  # noqa: SIM115
    with tarfile.open(fileobj=spool, mode="w") as archive:
        add_bytes(
            archive, "motostack-snapshot.json", json.dumps({"format": FORMAT, "created": created}).encode()
        )
        add_bytes(archive, "state.pickle", encoded)
        for index, body in enumerate(bodies):
            info = tarfile.TarInfo(f"bodies/{index}")
            info.size = body.size
            info.mtime = int(created)
            archive.addfile(info, BodyReader(body))
    spool.seek(0)
    return spool


def add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    import io

    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    archive.addfile(info, io.BytesIO(data))


class BodyReader:
    """A shared body as a file tarfile reads from."""

    def __init__(self, body: s3state.SharedBody) -> None:
        self.body = body
        self.position = 0

    def read(self, size: int = -1) -> bytes:
        size = self.body.size - self.position if size is None or size < 0 else size
        data = self.body.read_at(self.position, min(size, self.body.size - self.position))
        self.position += len(data)
        return data


def import_file(stream) -> tuple[s3state.S3State, float]:
    """The snapshot in a snapshot file read from `stream`; SnapshotFileError when it is not one."""
    header = None
    encoded = None
    bodies: dict[int, s3state.SharedBody] = {}
    try:
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            for member in archive:
                if not member.isfile():
                    continue
                source = archive.extractfile(member)
                if member.name == "motostack-snapshot.json":
                    header = json.loads(source.read(65536))
                elif member.name == "state.pickle":
                    if member.size > MAX_STATE_BYTES:
                        raise SnapshotFileError("state.pickle is too large")
                    encoded = source.read()
                elif member.name.startswith("bodies/") and member.name[7:].isdigit():
                    spool = tempfile.SpooledTemporaryFile(SPOOL_BYTES, prefix="motostack-")  # noqa: SIM115
                    while chunk := source.read(CHUNK):
                        spool.write(chunk)
                    bodies[int(member.name[7:])] = s3state.SharedBody(spool, member.size, refs=1)
    except (tarfile.TarError, json.JSONDecodeError, UnicodeDecodeError, EOFError) as exc:
        release(bodies)
        raise SnapshotFileError(f"not a snapshot file: {exc}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT or encoded is None:
        release(bodies)
        raise SnapshotFileError(f"not a motostack snapshot file of format {FORMAT}")
    try:
        stored = codec.loads(encoded)
        template = Template(stored["template"])

        def body(number: int) -> s3state.SharedBody:
            found = bodies.get(number)
            if found is None:
                raise SnapshotFileError(f"the file lacks body {number}")
            return found

        state = decode_state(stored["backends"], template, body, keep_ids=False)
    except SnapshotFileError:
        release(bodies)
        raise
    except Exception as exc:  # noqa: BLE001 (a malformed or hostile state: refused, never half-imported)
        release(bodies)
        raise SnapshotFileError(f"the snapshot's state cannot be read: {exc}") from None
    release(bodies)  # each version holds its own reference now
    return state, float(header.get("created") or time.time())


def release(bodies: dict[int, s3state.SharedBody]) -> None:
    for body in bodies.values():
        body.release()


def file_chunks(spool) -> Iterator[bytes]:
    try:
        while chunk := spool.read(CHUNK):
            yield chunk
    finally:
        spool.close()
