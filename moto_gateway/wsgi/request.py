"""A read-only view of a WSGI request with what signature checks need: raw path, query pairs, headers."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from types import SimpleNamespace
from urllib.parse import quote, unquote

from moto.s3.responses import S3Response
from moto.s3.utils import bucket_name_from_url

from moto_gateway.wsgi.query import split_query


VIEW_ENVIRON = "moto_gateway.request_view"
ACCESS_CONTEXT = "moto_gateway.access_context"
"""(principal, bucket state, condition keys): left by the access layer for a permission a layer inside
decides (s3:BypassGovernanceRetention, s3_features/object_lock.py)."""


def raw_path_of(environ: dict) -> str:
    """The path as the client percent-encoded it (RAW_URI / REQUEST_URI), else rebuilt from PATH_INFO."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        if raw.startswith(("http://", "https://")):
            after_scheme = raw.split("://", 1)[1]
            raw = "/" + after_scheme.split("/", 1)[1] if "/" in after_scheme else "/"
        return raw.split("?", 1)[0] or "/"
    path = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1")
    return quote(path, safe="/") or "/"


def headers_of(environ: dict) -> dict[str, str]:
    headers = {
        key[5:].lower().replace("_", "-"): value for key, value in environ.items() if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    if environ.get("CONTENT_LENGTH"):
        headers["content-length"] = environ["CONTENT_LENGTH"]
    return headers


@dataclass(frozen=True)
class Addressing:
    bucket: str | None
    key: str
    virtual_host: bool


@lru_cache(maxsize=1024)
def virtual_host_style(host: str) -> bool:
    """Whether Moto reads the bucket from this Host (it decides on the host alone; cached per host)."""
    shim = SimpleNamespace(headers={"host": host}, url=f"http://{host}/")
    return bool(host) and bool(S3Response.subdomain_based_buckets(shim))


def addressing(host: str, raw_path: str) -> Addressing:
    """Bucket and key the way Moto reads them: virtual-hosted when Moto would, path-style otherwise."""
    shim = SimpleNamespace(headers={"host": host}, url=f"http://{host}{raw_path}")
    path = unquote(raw_path)
    if virtual_host_style(host):
        bucket = bucket_name_from_url(shim.url)
        if bucket:
            return Addressing(bucket, path[1:] if path.startswith("/") else path, True)
    bucket, _, key = path[1:].partition("/") if path.startswith("/") else path.partition("/")
    return Addressing(bucket or None, key, False)


@dataclass
class RequestView:
    method: str
    raw_path: str
    raw_query: str
    headers: dict[str, str]

    @classmethod
    def from_environ(cls, environ: dict) -> RequestView:
        """The view of this request, built once per environ (every layer reads the same request)."""
        cached = environ.get(VIEW_ENVIRON)
        if cached is not None:
            return cached
        view = environ[VIEW_ENVIRON] = cls.build(environ)
        return view

    @classmethod
    def build(cls, environ: dict) -> RequestView:
        return cls(
            method=environ.get("REQUEST_METHOD", "GET").upper(),
            raw_path=raw_path_of(environ),
            raw_query=environ.get("QUERY_STRING", ""),
            headers=headers_of(environ),
        )

    @cached_property
    def query_pairs(self) -> list[tuple[bytes, bytes]]:
        return split_query(self.raw_query)

    @cached_property
    def query(self) -> list[tuple[str, str]]:
        return [(n.decode("utf-8", "replace"), v.decode("utf-8", "replace")) for n, v in self.query_pairs]

    @cached_property
    def params(self) -> dict[str, str]:
        """The first value of each query parameter, decoded."""
        first: dict[str, str] = {}
        for name, value in self.query:
            first.setdefault(name, value)
        return first

    @property
    def host(self) -> str:
        return self.headers.get("host", "")

    @cached_property
    def addressing(self) -> Addressing:
        return addressing(self.host, self.raw_path)

    def is_bucket_root(self) -> bool:
        return self.addressing.bucket is not None and self.addressing.key == ""
