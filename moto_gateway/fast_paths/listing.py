"""ListObjects (v1) and ListObjectsV2, answered by the gateway from Moto's backend state, as S3 answers them.

Why: Moto 5.2.5 builds a listing through its generic response serializer, 72% of the CPU of a 100-key
ListObjectsV2 (py-spy), and its answers differ from S3's (issue 19's listing family): v1 returns NextMarker
without a delimiter and as an opaque hash instead of a key, never truncates CommonPrefixes, omits `Marker`
and `Prefix`; `EncodingType=url` leaves Delimiter, StartAfter and v1's Prefix and CommonPrefixes unencoded;
v2 does not echo ContinuationToken, treats `fetch-owner=false` as true, and keeps every continuation token
it ever issued in memory.

What S3 documents (S3 API Reference, ListObjects and ListObjectsV2,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjects.html and
https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html):
- keys in UTF-8 binary order (Python's code point order is the same order); at most 1,000 entries a page;
  keys and CommonPrefixes count alike against max-keys; max-keys=0 answers nothing, not truncated;
- a key that contains the delimiter after the prefix rolls up into the common prefix up to and including
  the delimiter's first occurrence; an empty delimiter groups nothing and is not echoed;
- v1: `Marker` (empty when not sent) and `Prefix` always; `NextMarker` only with a delimiter, when truncated
  (clients otherwise continue from the last Key); with `encoding-type=url`: Delimiter, Marker,
  NextMarker, Key (and CommonPrefixes' Prefix) URL-encoded, `EncodingType` echoed; the top-level Prefix is
  not (the page names Prefix, but S3 echoes it as sent and botocore does not decode it);
- v2: `KeyCount`; `ContinuationToken` echoed when sent, `NextContinuationToken` when truncated (opaque:
  here the base64 of the last key or common prefix, so the gateway keeps no state per listing);
  `StartAfter` echoed when sent (a token, when both are sent, decides where the page starts); Owner only
  with `fetch-owner=true`; with `encoding-type=url`: Delimiter, Prefix, Key, StartAfter, CommonPrefixes.
A page that starts after a common prefix (NextMarker or a token ending in the delimiter) skips every key
under it, so a group is listed once across pages.

The layer sits inside BucketLocks (it reads Moto's keys under the bucket's lock) and inside the access
layer, so a listing is authorised exactly as before. Requests it does not fully understand (another
subresource, an unknown parameter, a bucket Moto does not have, a browser's cross-origin request, bucket
logging on) go to Moto unchanged.
"""

from __future__ import annotations

import base64
import binascii
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple
from urllib.parse import parse_qsl, quote

from moto import settings as moto_settings
from moto.s3.models import FakeDeleteMarker

from moto_gateway.signing.keyring import canonical_id_of
from moto_gateway.state.s3state import find_bucket
from moto_gateway.wsgi.errors import S3Error, error_xml, new_request_id
from moto_gateway.wsgi.request import virtual_host_style
from moto_gateway.wsgi.services import is_s3_request

PAGE_LIMIT = 1000
OWNER_DISPLAY_NAME = "webfile"  # Moto's display name for every owner
LISTING_PARAMETERS = frozenset(
    {"list-type", "prefix", "delimiter", "max-keys", "marker", "start-after", "continuation-token",
     "encoding-type", "fetch-owner"}
)
SIGNING_PARAMETERS = frozenset(
    {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
     "X-Amz-Signature", "X-Amz-Security-Token", "AWSAccessKeyId", "Signature", "Expires", "x-id"}
)
ANSWERED_PARAMETERS = LISTING_PARAMETERS | SIGNING_PARAMETERS
XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
LAST_CHARACTER = "\U0010ffff"


# ----- the request --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListingQuery:
    version: int  # 1: ListObjects, 2: ListObjectsV2
    prefix: str = ""
    delimiter: str = ""
    max_keys: int = PAGE_LIMIT
    marker: str | None = None  # v1
    start_after: str | None = None  # v2
    continuation_token: str | None = None  # v2, as sent
    encode: bool = False
    fetch_owner: bool = False

    @property
    def after(self) -> str:
        """The listing starts after this key (or common prefix); "" from the start."""
        if self.version == 1:
            return self.marker or ""
        if self.continuation_token is not None:
            return decode_token(self.continuation_token)
        return self.start_after or ""


def query_params(raw_query: str) -> dict[str, str]:
    """First value of each parameter, decoded as Moto's server decodes a query ('+' is a space)."""
    params: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        params.setdefault(name, value)
    return params


def listing_query(params: Mapping[str, str]) -> ListingQuery | None:
    """The listing these query parameters ask for, or None when it is not one this module answers
    (another subresource or parameter, an encoding other than `url`, a max-keys S3 refuses: Moto and the
    checks around it answer those)."""
    if not set(params) <= ANSWERED_PARAMETERS:
        return None
    list_type = params.get("list-type")
    if list_type not in (None, "2"):
        return None
    encoding = params.get("encoding-type")
    if encoding is not None and encoding.lower() != "url":
        return None
    max_keys = params.get("max-keys")
    if max_keys is not None:
        if not max_keys.isdigit() or not max_keys.isascii():
            return None
        limit = int(max_keys)
    else:
        limit = moto_settings.get_s3_default_max_keys()
    if list_type == "2":
        token = params.get("continuation-token")
        if token is not None:
            decode_token(token)  # a token S3 would not accept is refused before any work
        return ListingQuery(
            2,
            prefix=params.get("prefix", ""),
            delimiter=params.get("delimiter", ""),
            max_keys=limit,
            start_after=params.get("start-after") or None,
            continuation_token=token,
            encode=encoding is not None,
            fetch_owner=params.get("fetch-owner", "").lower() == "true",
        )
    return ListingQuery(
        1,
        prefix=params.get("prefix", ""),
        delimiter=params.get("delimiter", ""),
        max_keys=limit,
        marker=params.get("marker") or None,
        encode=encoding is not None,
    )


def encode_token(after: str) -> str:
    return base64.urlsafe_b64encode(after.encode("utf-8")).decode("ascii")


def decode_token(token: str) -> str:
    try:
        after = base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        after = ""
    if not after or encode_token(after) != token:
        raise S3Error(
            400,
            "InvalidArgument",
            "The continuation token provided is incorrect",
            [("ArgumentName", "continuation-token")],
        )
    return after


# ----- the page -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    keys: list[str]
    common_prefixes: list[str]
    truncated: bool
    last: str | None  # the last key or common prefix listed: where the next page starts


def past_group(names: list[str], start: int, common: str) -> int:
    """Index of the first name at or after `start` that does not start with `common` (names sorted)."""
    index = bisect_left(names, common + LAST_CHARACTER, start)
    while index < len(names) and names[index].startswith(common):
        index += 1
    return index


def always(name: str) -> bool:  # noqa: ARG001 - every name lists
    return True


def select(
    names: list[str],
    prefix: str,
    delimiter: str,
    after: str,
    max_keys: int,
    listed: Callable[[str], bool] = always,
) -> Page:
    """The page of sorted `names` S3 lists: keys under `prefix` after `after`, rolled up at `delimiter`.

    `listed(name)` says whether a name is listed at all (not when its current version is a delete marker);
    it is asked only of the names the page reaches, and a common prefix appears only if one of its names
    is listed."""
    limit = min(max_keys, PAGE_LIMIT)
    keys: list[str] = []
    commons: list[str] = []
    if limit == 0:
        return Page(keys, commons, False, None)
    index = max(bisect_right(names, after) if after else 0, bisect_left(names, prefix) if prefix else 0)
    last = None
    while index < len(names):
        name = names[index]
        if not name.startswith(prefix):
            break
        cut = name.find(delimiter, len(prefix)) if delimiter else -1
        if cut >= 0:
            common = name[: cut + len(delimiter)]
            end = past_group(names, index, common)
            if (after and common <= after) or not any(listed(names[i]) for i in range(index, end)):
                index = end  # listed on an earlier page, or nothing in it is listed
                continue
            if len(keys) + len(commons) == limit:
                return Page(keys, commons, True, last)
            commons.append(common)
            last = common
            index = end
            continue
        if not listed(name):
            index += 1
            continue
        if len(keys) + len(commons) == limit:
            return Page(keys, commons, True, last)
        keys.append(name)
        last = name
        index += 1
    return Page(keys, commons, False, last)


# ----- the answer ---------------------------------------------------------------------------------------


class ListedObject(NamedTuple):  # a tuple: built once per listed key, cheaper than a frozen dataclass
    key: str
    last_modified: str  # ISO-8601 with milliseconds, UTC
    etag: str
    size: int
    storage_class: str
    checksum_algorithm: str | None = None


def xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def listing_xml(
    bucket: str, query: ListingQuery, page: Page, objects: list[ListedObject], owner_id: str
) -> bytes:
    """The ListBucketResult document S3 sends for this page."""

    def named(value: str) -> str:
        return xml_text(quote(value, safe="/") if query.encode else value)

    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="{XMLNS}">']
    # v1's top-level Prefix is echoed as sent, encoded or not: S3 does not encode it (botocore decodes
    # only Delimiter, Marker and NextMarker of a v1 answer, and s3-tests' unreadable-prefix cases expect it)
    prefix = xml_text(query.prefix) if query.version == 1 else named(query.prefix)
    parts.append(f"<Name>{xml_text(bucket)}</Name><Prefix>{prefix}</Prefix>")
    if query.version == 1:
        parts.append(f"<Marker>{named(query.marker or '')}</Marker>")
    else:
        parts.append(f"<KeyCount>{len(page.keys) + len(page.common_prefixes)}</KeyCount>")
        if query.continuation_token is not None:
            parts.append(f"<ContinuationToken>{xml_text(query.continuation_token)}</ContinuationToken>")
        if page.truncated and page.last is not None:
            parts.append(f"<NextContinuationToken>{encode_token(page.last)}</NextContinuationToken>")
        if query.start_after:
            parts.append(f"<StartAfter>{named(query.start_after)}</StartAfter>")
    parts.append(f"<MaxKeys>{query.max_keys}</MaxKeys>")
    if query.delimiter:
        parts.append(f"<Delimiter>{named(query.delimiter)}</Delimiter>")
    if query.encode:
        parts.append("<EncodingType>url</EncodingType>")
    parts.append(f"<IsTruncated>{'true' if page.truncated else 'false'}</IsTruncated>")
    if query.version == 1 and query.delimiter and page.truncated and page.last is not None:
        parts.append(f"<NextMarker>{named(page.last)}</NextMarker>")
    owner = ""
    if query.version == 1 or query.fetch_owner:
        owner = f"<Owner><ID>{owner_id}</ID><DisplayName>{OWNER_DISPLAY_NAME}</DisplayName></Owner>"
    for listed in objects:
        checksum = (
            f"<ChecksumAlgorithm>{listed.checksum_algorithm}</ChecksumAlgorithm>"
            if listed.checksum_algorithm
            else ""
        )
        parts.append(
            f"<Contents><Key>{named(listed.key)}</Key><LastModified>{listed.last_modified}</LastModified>"
            f"<ETag>{xml_text(listed.etag)}</ETag>{checksum}<Size>{listed.size}</Size>"
            f"<StorageClass>{listed.storage_class}</StorageClass>{owner}</Contents>"
        )
    for common in page.common_prefixes:
        parts.append(f"<CommonPrefixes><Prefix>{named(common)}</Prefix></CommonPrefixes>")
    parts.append("</ListBucketResult>")
    return "".join(parts).encode("utf-8")


# ----- Moto's state (imperative shell) ------------------------------------------------------------------


def candidate_names(keys: dict, prefix: str, after: str) -> list[str]:
    """Sorted names under `prefix` and after `after`: the only ones a page can list (a later page sorts
    fewer). Delete markers included; `is_listed` tells them apart for the names a page reaches."""
    if prefix:
        names = [name for name in keys if name > after and name.startswith(prefix)]
    else:
        names = [name for name in keys if name > after] if after else list(keys)
    names.sort()
    return names


def is_listed(keys: dict, name: str) -> bool:
    """Whether the current version of `name` is an object, not a delete marker.

    `keys` is Moto's `_VersionedKeyStore`: a dict of name -> [versions], the current one last."""
    versions = dict.get(keys, name)
    return bool(versions) and not isinstance(versions[-1], FakeDeleteMarker)


def listed_object(fake) -> ListedObject:
    return ListedObject(
        fake.name,
        fake.last_modified.replace(tzinfo=None).isoformat(timespec="seconds") + ".000Z",  # UTC
        fake.etag,
        fake.size,
        fake.storage_class or "STANDARD",
        fake.checksum_algorithm,
    )


def bucket_of(environ: dict) -> str | None:
    """The bucket of a path-style request for a bucket's root (`/bucket` or `/bucket/`), else None.

    Virtual-hosted requests take Moto's path: they are rare against a local endpoint."""
    path = environ.get("PATH_INFO", "")
    if not path.startswith("/"):
        return None
    bucket, _, rest = path[1:].partition("/")
    if not bucket or rest or virtual_host_style(environ.get("HTTP_HOST", "")):
        return None
    return bucket


class ListingLayer:
    """WSGI layer: answers ListObjects and ListObjectsV2 of Moto's buckets; everything else goes to `app`."""

    def __init__(self, app: Callable) -> None:
        self.app = app
        self.global_cors = not moto_settings.DISABLE_GLOBAL_CORS

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "GET" or "HTTP_ORIGIN" in environ:
            return self.app(environ, start_response)
        name = bucket_of(environ)
        if name is None or not is_s3_request(environ):
            return self.app(environ, start_response)
        try:
            query = listing_query(query_params(environ.get("QUERY_STRING", "")))
        except S3Error as error:
            request_id = new_request_id()
            return self.respond(start_response, error.status, error_xml(error, request_id), request_id)
        if query is None:
            return self.app(environ, start_response)
        bucket, account_id = find_bucket(name)
        if bucket is None or getattr(bucket, "logging", None):
            return self.app(environ, start_response)  # NoSuchBucket, or a listing Moto must log
        keys = bucket.keys
        names = candidate_names(keys, query.prefix, query.after)
        listed = partial(is_listed, keys)
        page = select(names, query.prefix, query.delimiter, query.after, query.max_keys, listed)
        objects = [listed_object(keys[key]) for key in page.keys]
        body = listing_xml(bucket.name, query, page, objects, canonical_id_of(account_id))
        return self.respond(start_response, 200, body)

    def respond(
        self, start_response: Callable, status: int, body: bytes, request_id: str | None = None
    ) -> list[bytes]:
        request_id = request_id or new_request_id()
        headers = [
            ("Content-Type", "application/xml"),
            ("Content-Length", str(len(body))),
            ("x-amz-request-id", request_id),
            ("x-amzn-requestid", request_id),
        ]
        if self.global_cors:
            headers.append(("Access-Control-Allow-Origin", "*"))  # as Moto's flask-cors answers every request
        start_response("200 OK" if status == 200 else f"{status} Bad Request", headers)
        return [body]
