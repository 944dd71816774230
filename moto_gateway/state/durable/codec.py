"""Moto's S3 objects as bytes and back, by their attributes (see the package docstring for the contract).

A version record is one of
    ("k", diff, metadata, body_id, tags, multipart)   an object version (FakeKey)
    ("d", attrs)                                      a delete marker (FakeDeleteMarker, without its `key`)
where `diff` holds the key's attributes that differ from the state folder's key template (the attributes
Moto's own constructor gives a new key, stored once in the folder): most of a key's thirty attributes are
the template's, so a record is a quarter of the key's whole `__dict__` and loads four times faster.
`multipart` is the skeleton of a completed multipart object's upload (its attributes and the sizes and
attributes of its parts, no part bytes: a part read slices the object's own bytes, part_reads.py), so the
"-N" ETag and the part count come back with the object. In an `objects` row a record leaves out what the
row holds (the key's and bucket's names) and keeps an MD5 ETag as 16 bytes (`compact`, `record_attrs`); the
writer process then deflates the row's pickle against the folder's dictionary (`new_dictionary`): a 1 KiB
object's record goes from about 0.3 KiB to about 55 bytes, and to 23 when the row holds the key's bytes
(store.INLINE), whose size and MD5 ETag it leaves out too (`leave_out_inline`).

Pickle is the format because it keeps every attribute of every type without a list of fields; it is read
back through `SafeUnpickler`, which only builds the classes of the modules S3's state is made of, so a
snapshot file from elsewhere cannot run code when it is imported.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import pickle
import threading
from typing import Any, ClassVar

from moto.s3.models import FakeDeleteMarker, FakeKey, FakeMultipart
from moto.utilities.utils import LowercaseDict

from moto_gateway.state.durable.writer import inflated
from moto_gateway.state.s3state import KEY_OWN_ATTRS, ReadOnlyBody

PROTOCOL = 5
MD5_HEX_DIGITS = 32
BODY_ATTR = "_durable_body"
"""Set on a live FakeKey once its bytes are in the state folder: the body's id there. A key's bytes never
change after Moto creates it, so the id stays right for the key's life (and for snapshot copies of it)."""
MISSING = "\0missing"
KEY_SKIPPED = KEY_OWN_ATTRS | {BODY_ATTR}
MULTIPART_SKIPPED = frozenset({"parts"})
MUTABLE_TYPES = (list, dict, set)
SIMPLE_TYPES = frozenset({str, int, float, bool, bytes, type(None), datetime.datetime, datetime.date})

SAFE_MODULE_PREFIXES = (
    "moto.s3.",
    "moto.core.",
    "moto.utilities.",
    "moto.moto_api.",
    "moto_gateway.state.",
    "moto_gateway.s3_features.",
    "moto_gateway.moto_patches.",
)
SAFE_MODULES = frozenset({"datetime", "collections", "requests.structures", "decimal", "uuid"})
SAFE_BUILTINS = frozenset(
    {
        "set",
        "frozenset",
        "bytes",
        "bytearray",
        "dict",
        "list",
        "tuple",
        "str",
        "int",
        "float",
        "bool",
        "complex",
        "object",
        "slice",
        "range",
    }
)


class UnsafeState(pickle.UnpicklingError):
    """A record names a class outside S3's state: refused rather than built."""


class SafeUnpickler(pickle.Unpickler):
    _cache: ClassVar[dict[tuple[str, str], Any]] = {}

    def find_class(self, module: str, name: str) -> Any:
        found = self._cache.get((module, name))
        if found is not None:
            return found
        if module == "builtins":
            allowed = name in SAFE_BUILTINS
        elif module == "copyreg":
            allowed = name in ("_reconstructor", "__newobj__")
        else:
            allowed = module in SAFE_MODULES or module.startswith(SAFE_MODULE_PREFIXES)
        if not allowed:
            raise UnsafeState(f"the state names {module}.{name}, which is not part of S3's state")
        found = super().find_class(module, name)
        if module != "copyreg" and not isinstance(found, type):
            raise UnsafeState(f"the state names {module}.{name}, which is not a class")
        self._cache[(module, name)] = found
        return found


def loads(data: bytes) -> Any:
    """Bytes from elsewhere (a snapshot file): only S3's classes are built."""
    return SafeUnpickler(io.BytesIO(data)).load()


def loads_own(data: bytes, dictionary: bytes = b"") -> Any:
    """Bytes this gateway wrote into its own state folder (as trusted as its code): the C unpickler,
    without a Python call per class (a third of a 100,000-object start-up, profiled). A row's blob may be
    deflated against the folder's dictionary (the writer process does it, writer.deflated)."""
    return pickle.loads(inflated(data, dictionary) if dictionary else data)


def dumps(value: Any) -> bytes:
    return pickle.dumps(value, PROTOCOL)


# ----- the key template ---------------------------------------------------------------------------------


def new_template() -> dict[str, Any]:
    """The attributes Moto's constructor gives a new key (bytes and per-key plumbing aside), in the region
    Moto's S3 backend passes it: the partition's name, as S3 has one backend per partition."""
    model = FakeKey(name="", value=b"", account_id="123456789012", region_name="aws", bucket_name="")
    model._value_buffer.close()
    return {name: value for name, value in model.__dict__.items() if name not in KEY_SKIPPED}


def same(model: Any, value: Any) -> bool:
    """Equal by value: `==` where the type defines it, else by their pickled bytes (Moto's FakeAcl has no
    equality of its own, and a key's ACL is a new object per key)."""
    kind = type(value)
    if kind in SIMPLE_TYPES or kind.__eq__ is not object.__eq__:
        try:
            return bool(model == value)
        except Exception:  # noqa: BLE001 (an __eq__ that refuses: keep the value)
            return False
    try:
        return dumps(model) == dumps(value)
    except Exception:  # noqa: BLE001 (not picklable: the diff carries it and storing it says why)
        return False


class Template:
    """A key template, with what comparing against it and copying from it needs precomputed."""

    def __init__(self, attrs: dict[str, Any]) -> None:
        self.attrs = attrs
        self.mutable = [name for name, value in attrs.items() if isinstance(value, MUTABLE_TYPES)]
        self.pickled = {
            name: dumps(value)
            for name, value in attrs.items()
            if type(value) not in SIMPLE_TYPES and type(value).__eq__ is object.__eq__
        }

    def diff(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The attributes that differ from the template's (compared in C where `!=` can be trusted)."""
        template = self.attrs
        try:
            changed = {name: value for name, value in attrs.items() if template.get(name, MISSING) != value}
        except Exception:  # noqa: BLE001 (an __eq__ that refuses: compare one by one)
            changed = {
                name: value for name, value in attrs.items() if not same(template.get(name, MISSING), value)
            }
        for name in KEY_SKIPPED:
            changed.pop(name, None)
        for name, pickled in self.pickled.items():
            value = changed.get(name)
            if value is not None and type(value) is type(template[name]):
                try:
                    if dumps(value) == pickled:
                        del changed[name]
                except Exception:  # noqa: BLE001, S110 (not picklable: kept in the diff, storing says why)
                    pass
        if len(attrs) < len(template) + len(KEY_SKIPPED):
            missing = [name for name in template if name not in attrs]
            if missing:
                changed[MISSING] = missing
        return changed

    def apply(self, diff: dict[str, Any]) -> dict[str, Any]:
        attrs = self.attrs.copy()
        for name in self.mutable:
            attrs[name] = attrs[name].copy()
        attrs.update(diff)
        for name in attrs.pop(MISSING, ()):
            attrs.pop(name, None)
        return attrs


# ----- bodies -------------------------------------------------------------------------------------------


class FileBody(ReadOnlyBody):
    """Bytes kept in a file of the state folder: opened for each read, so that 100,000 objects cost no
    file descriptors."""

    __slots__ = ("path",)

    def __init__(self, path: str, size: int) -> None:
        super().__init__(size)
        self.path = path

    def read_at(self, position: int, size: int) -> bytes:
        with open(self.path, "rb") as file:
            file.seek(position)
            return file.read(size)


class BytesBody(ReadOnlyBody):
    """Bytes kept inline in SQLite, read without a copy per key."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        super().__init__(len(data))
        self.data = data

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("read of closed file")
        end = self.size if size is None or size < 0 else min(self.size, self.position + size)
        data = self.data[self.position : end] if self.position or end != self.size else self.data
        self.position = max(self.position, end)
        return data


# ----- records ------------------------------------------------------------------------------------------


def multipart_skeleton(multipart: FakeMultipart | None, template: Template) -> tuple | None:
    """A completed upload as its object keeps it, without part bytes."""
    if multipart is None:
        return None
    attrs = {name: value for name, value in multipart.__dict__.items() if name not in MULTIPART_SKIPPED}
    parts = {number: template.diff(part.__dict__) for number, part in multipart.parts.items()}
    return attrs, parts


def compact(diff: dict[str, Any], bucket_name: str | None = None, key_name: str | None = None) -> dict:
    """A state folder row's diff without what the row says already (its bucket and key names) and with an
    MD5 ETag as its 16 bytes, not 32 hex digits: a 1 KiB object's record is most of its cost (issue 24)."""
    if key_name is not None and diff.get("name") == key_name:
        del diff["name"]
    if bucket_name is not None and diff.get("bucket_name") == bucket_name:
        del diff["bucket_name"]
    etag = diff.get("_etag")
    if type(etag) is str and len(etag) == MD5_HEX_DIGITS:
        try:
            digest = bytes.fromhex(etag)
        except ValueError:
            return diff
        if digest.hex() == etag:
            diff["_etag"] = digest
    return diff


def key_record(
    key: FakeKey,
    body_id: int,
    tags: dict | None,
    template: Template,
    bucket_name: str | None = None,
    key_name: str | None = None,
) -> tuple:
    """A version record; with the row's names when it goes into an `objects` row, which holds them."""
    metadata = key._metadata
    stored = dict(metadata.store) if isinstance(metadata, LowercaseDict) else dict(metadata or {})
    return (
        "k",
        compact(template.diff(key.__dict__), bucket_name, key_name),
        stored,
        body_id,
        tags,
        multipart_skeleton(key.multipart, template),
    )


def leave_out_inline(diff: dict[str, Any], data: bytes) -> None:
    """A record whose bytes sit in its row leaves out what they say: their size, and an MD5 ETag of them
    (16 bytes a key that do not deflate; put back by `inline_attrs`, 2 us a KiB at start-up)."""
    if diff.get("contentsize") == len(data):
        del diff["contentsize"]
    etag = diff.get("_etag")
    if type(etag) is bytes and etag == hashlib.md5(data).digest():
        del diff["_etag"]


def inline_attrs(attrs: dict[str, Any], diff: dict[str, Any], data: bytes) -> None:
    """What `leave_out_inline` left out of a record, back from the row's bytes. An ETag is computed here,
    not left to Moto's lazy getter, which reads the buffer without the key's lock (a GET's read beside it
    would lose its place)."""
    if "contentsize" not in diff:
        attrs["contentsize"] = len(data)
    if "_etag" not in diff:
        attrs["_etag"] = hashlib.md5(data).hexdigest()


def record_attrs(
    diff: dict[str, Any], template: Template, bucket_name: str | None = None, key_name: str | None = None
) -> dict[str, Any]:
    """A stored key's attributes: the template's, the row's names where `compact` left them out (a
    format 1 record holds its own), then what the record changed, its ETag in hex again."""
    attrs = template.apply(diff)
    if key_name is not None and "name" not in diff:
        attrs["name"] = key_name
    if bucket_name is not None and "bucket_name" not in diff:
        attrs["bucket_name"] = bucket_name
    etag = attrs.get("_etag")
    if type(etag) is bytes:
        attrs["_etag"] = etag.hex()
    return attrs


def marker_record(marker: FakeDeleteMarker, key_name: str | None = None) -> tuple:
    attrs = {name: value for name, value in marker.__dict__.items() if name != "key"}
    if key_name is not None and attrs.get("name") == key_name:
        del attrs["name"]
    return ("d", attrs)


def build_key(attrs: dict[str, Any], metadata: dict, buffer: Any) -> FakeKey:
    # object.__new__: outside Moto's instance tracker, as s3state's keys (closed by the GC when dropped)
    key = object.__new__(FakeKey)
    key.__dict__.update(attrs)
    stored = object.__new__(LowercaseDict)
    stored.store = metadata
    key._metadata = stored
    key._value_buffer = buffer
    key.lock = threading.Lock()
    key.multipart = None
    key.disposed = False
    return key


def build_multipart(skeleton: tuple | None, template: Template) -> FakeMultipart | None:
    if skeleton is None:
        return None
    attrs, parts = skeleton
    multipart = object.__new__(FakeMultipart)
    multipart.__dict__.update(attrs)
    multipart.parts = {
        number: build_key(template.apply(diff), {}, io.BytesIO()) for number, diff in parts.items()
    }
    return multipart


def build_marker(
    attrs: dict[str, Any], bucket_name: str, template: Template, key_name: str | None = None
) -> FakeDeleteMarker:
    """A marker from its record's attributes; with its row's key name where `marker_record` left it out."""
    if key_name is not None:
        attrs.setdefault("name", key_name)
    marker = object.__new__(FakeDeleteMarker)
    marker.__dict__.update(attrs)
    closed = io.BytesIO()
    closed.close()
    # what Moto's marker points at: the key it deleted, long disposed (Moto deep-copies it in listings)
    shadow = build_key(template.apply({"name": attrs.get("name"), "bucket_name": bucket_name}), {}, closed)
    shadow.disposed = True
    marker.key = shadow
    return marker


def upload_record(multipart: FakeMultipart, body_ids: dict[int, int], template: Template) -> tuple:
    """An upload in progress: its attributes and each part as a version record (with its bytes' id)."""
    attrs = {name: value for name, value in multipart.__dict__.items() if name not in MULTIPART_SKIPPED}
    parts = {
        number: key_record(part, body_ids[number], None, template) for number, part in multipart.parts.items()
    }
    return attrs, parts


def sample_record(template: Template) -> bytes:
    """Typical object rows' records, pickled: with the key template, the folder's deflate dictionary (its
    attribute names, classes and usual values are what every record repeats). One of a key of several
    versions, then one of a key whose bytes its row holds (body id -1, store.INLINE), the likeliest last."""
    records = []
    for body_id in (1, -1):
        key = FakeKey("photos/2026/object.jpg", b"sample", "123456789012", "us-east-1", bucket_name="bucket")
        key._version_id = "null"
        key._metadata.store["content-type"] = "binary/octet-stream"
        key.etag  # noqa: B018 (computes the ETag a stored key carries)
        key._value_buffer.close()
        record = key_record(key, body_id, None, template, "bucket", key.name)
        if body_id < 0:
            leave_out_inline(record[1], b"sample")
        records.append(dumps([record]))
    return b"".join(records)


def new_dictionary(template: Template) -> bytes:
    """The deflate dictionary of a folder: the common strings last, where the shortest distances reach."""
    return dumps(template.attrs) + sample_record(template)
