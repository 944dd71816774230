"""POST Object as S3 does it, once the policy has been checked: the upload becomes a PUT Moto understands.

Moto reads only some form layouts (fields as plain parts, a few fields) and answers 500 to the others, so
the gateway turns the checked form into a PutObject: the fields become the headers S3 gives them
(Content-Type, metadata, ACL, tagging, checksums, ...), the file's bytes the body. It then answers as S3
answers a POST: 303 to `success_action_redirect` with bucket, key and ETag in the query, else
`success_action_status` 200 or 201 (with the PostResponse XML), else 204.

Pure functions build the PUT and the answer; `store_post_object` is the thin WSGI glue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import quote, urlencode, urlsplit, urlunsplit
from xml.etree.ElementTree import ParseError
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from moto_gateway.signing.post_policy import expand_filename
from moto_gateway.wsgi.xml import local_name, malformed_xml

# form field -> request header (S3's POST Object fields that are headers of the stored object)
HEADER_FIELDS = {
    "acl": "x-amz-acl",
    "cache-control": "cache-control",
    "content-type": "content-type",
    "content-disposition": "content-disposition",
    "content-encoding": "content-encoding",
    "content-language": "content-language",
    "expires": "expires",
}
HEADER_PREFIXES = (
    "x-amz-meta-",
    "x-amz-server-side-encryption",
    "x-amz-storage-class",
    "x-amz-website-redirect-location",
    "x-amz-checksum-",
    "x-amz-object-lock-",
)
# headers of Moto's answer to the PUT that the POST's answer carries (CORS ones: a browser reads the answer)
PASSED_BACK = (
    "etag",
    "x-amz-version-id",
    "x-amz-server-side-encryption",
    "x-amz-checksum-",
    "access-control-",
    "vary",
)


# The access key that signed the POST form a PutObject comes from (absent: an unsigned form, the anonymous
# principal); the access layer reads it, since the PUT carries no signature of its own.
POST_ACCESS_KEY_ENVIRON = "moto_gateway.post_access_key"
POSTED_ENVIRON = "moto_gateway.posted_object"  # set on the PUT a POST Object became (its event is a Post)


@dataclass(frozen=True)
class PostedObject:
    bucket: str
    key: str
    headers: dict[str, str]


def tagging_header(document: str) -> str:
    """The `tagging` field's <Tagging> XML as the x-amz-tagging header (`k=v&k2=v2`), or 400 MalformedXML."""
    try:
        root = fromstring(document.encode("utf-8"), forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError):
        raise malformed_xml() from None
    if local_name(root.tag) != "Tagging":
        raise malformed_xml()
    pairs = []
    for tag_set in root:
        for tag in tag_set:
            values = {local_name(child.tag): child.text or "" for child in tag}
            if local_name(tag_set.tag) != "TagSet" or local_name(tag.tag) != "Tag" or "Key" not in values:
                raise malformed_xml()
            pairs.append((values["Key"], values.get("Value", "")))
    return urlencode(pairs)


def posted_object(bucket: str, fields: dict[str, str], filename: str | None) -> PostedObject:
    """The object a checked form stores: its key (with ${filename}) and the headers its fields mean."""
    headers = {}
    for name, value in fields.items():
        if name in HEADER_FIELDS:
            headers[HEADER_FIELDS[name]] = value
        elif name.startswith(HEADER_PREFIXES):
            headers[name] = value
    algorithms = [
        name.removeprefix("x-amz-checksum-").upper()
        for name in fields
        if name.startswith("x-amz-checksum-")
        and name not in ("x-amz-checksum-algorithm", "x-amz-checksum-type")
    ]
    if algorithms:
        headers["x-amz-sdk-checksum-algorithm"] = algorithms[0]  # Moto keeps the checksum this header names
    if "tagging" in fields:
        headers["x-amz-tagging"] = tagging_header(fields["tagging"])
    return PostedObject(bucket, expand_filename(fields["key"], filename), headers)


def put_environ(
    environ: dict, posted: PostedObject, body: BinaryIO, size: int, signer: str | None = None
) -> dict:
    """A path-style PUT of the object, on the same connection details as the POST, for `signer`."""
    raw_path = "/" + quote(posted.bucket, safe="") + "/" + quote(posted.key.encode("utf-8"), safe="/")
    inner = {
        name: value
        for name, value in environ.items()
        if not name.startswith(("HTTP_", "moto_gateway.")) and name not in ("CONTENT_TYPE", "CONTENT_LENGTH")
    }
    inner.update(
        {
            "REQUEST_METHOD": "PUT",
            "PATH_INFO": f"/{posted.bucket}/{posted.key}".encode().decode("latin-1"),
            "RAW_URI": raw_path,
            "REQUEST_URI": raw_path,
            "QUERY_STRING": "",
            "HTTP_HOST": "localhost",  # path style, whatever style the POST used
            "CONTENT_LENGTH": str(size),
            "wsgi.input": body,
        }
    )
    inner.pop("wsgi.input_terminated", None)
    inner[POSTED_ENVIRON] = True
    if signer is not None:
        inner[POST_ACCESS_KEY_ENVIRON] = signer
    if "HTTP_ORIGIN" in environ:
        inner["HTTP_ORIGIN"] = environ["HTTP_ORIGIN"]  # Moto answers with the CORS headers the POST needs
    for name, value in posted.headers.items():
        if name == "content-type":
            inner["CONTENT_TYPE"] = value
        else:
            inner["HTTP_" + name.upper().replace("-", "_")] = value
    if "CONTENT_TYPE" not in inner:
        inner["CONTENT_TYPE"] = "binary/octet-stream"
    return inner


def object_location(environ: dict, posted: PostedObject, virtual_host: bool) -> str:
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "localhost")
    key = quote(posted.key.encode("utf-8"), safe="/")
    return f"{scheme}://{host}/{key}" if virtual_host else f"{scheme}://{host}/{quote(posted.bucket)}/{key}"


def redirect_target(redirect: str, posted: PostedObject, etag: str) -> str | None:
    """`success_action_redirect` with bucket, key and etag added to its query; None if it is no URL."""
    parts = urlsplit(redirect)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    added = urlencode([("bucket", posted.bucket), ("key", posted.key), ("etag", etag)])
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def post_answer(
    fields: dict[str, str], posted: PostedObject, location: str, stored_headers: list[tuple[str, str]]
) -> tuple[int, list[tuple[str, str]], bytes]:
    """S3's answer to a stored POST upload: status, headers, body."""
    passed = [(name, value) for name, value in stored_headers if name.lower().startswith(PASSED_BACK)]
    etag = next((value for name, value in passed if name.lower() == "etag"), "")
    headers = [*passed, ("Location", location)]
    redirect = fields.get("success_action_redirect") or fields.get("redirect")
    if redirect:
        target = redirect_target(redirect, posted, etag)
        if target is not None:
            moved = [header for header in headers if header[0] != "Location"]
            return 303, [*moved, ("Location", target)], b""
    status = fields.get("success_action_status", "")
    if status == "200":
        return 200, headers, b""
    if status == "201":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse>'
            f"<Location>{escape(location)}</Location><Bucket>{escape(posted.bucket)}</Bucket>"
            f"<Key>{escape(posted.key)}</Key><ETag>{escape(etag)}</ETag></PostResponse>"
        ).encode()
        return 201, [*headers, ("Content-Type", "application/xml")], body
    return 204, headers, b""


def store_post_object(
    app: Callable, environ: dict, posted: PostedObject, body: BinaryIO, size: int, signer: str | None = None
) -> tuple[str, list[tuple[str, str]], bytes]:
    """Runs the PUT through the inner app (access decision, checksums, change feed); its answer."""
    answer: dict[str, object] = {}

    def start_response(status: str, headers: list, exc_info=None):
        answer["status"], answer["headers"] = status, headers
        return lambda _data: None

    result = app(put_environ(environ, posted, body, size, signer), start_response)
    try:
        content = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return str(answer.get("status", "500 Internal Server Error")), list(answer.get("headers", [])), content

