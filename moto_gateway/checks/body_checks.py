"""Checks the request bodies Moto trusts blindly, before Moto sees them, and refuses them as S3 does.

XML configuration bodies (cors, lifecycle, tagging, acl, delete, CompleteMultipartUpload, ...) must be
well-formed, free of DTDs and entities (defusedxml), bounded in size and depth, and rooted in the element
S3 expects; bucket policies must be a JSON object with `Version` and non-empty `Statement`s Moto can
evaluate (Moto stores any text and then answers 500 to every GetObject in the bucket); aws-chunked bodies
must be framed correctly (Moto decodes them with bare `int(..., 16)`).

Pure decisions (`request_problem`, `body_rule`, `xml_problem`, `policy_problem`, `aws_chunked_problem`) and
two thin layers: `RequestChecks` (outermost) and `BodyChecks` (right before Moto).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import unquote
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from werkzeug.wsgi import get_input_stream

from moto_gateway.checks.conformance import rules
from moto_gateway.wsgi import bodies
from moto_gateway.wsgi.aws_chunked import CHUNKED_PAYLOADS, MAX_CHUNK_LINE, SIGNED_CHUNKS
from moto_gateway.wsgi.bodies import drain, pass_on, put_back
from moto_gateway.wsgi.errors import S3Error, access_denied, invalid_argument
from moto_gateway.wsgi.request import RequestView
from moto_gateway.wsgi.services import MOTO_OWN_PATHS, is_other_service
from moto_gateway.wsgi.xml import S3_NAMESPACE, local_name, malformed_xml

MAX_XML_BYTES = 4 * 1024 * 1024  # fits a Delete of 1,000 long keys, a CompleteMultipartUpload of 10,000 parts
MAX_XML_DEPTH = 32
MAX_POLICY_BYTES = 20 * 1024  # S3's bucket policy limit
MAX_POLICY_DEPTH = 16
MAX_PUT_BYTES = 5 * 1024**3  # S3's largest PutObject / UploadPart
BODY_RULE_ENVIRON = "moto_gateway.body_rule"

# query parameter -> (root element, may the body be empty)
BUCKET_PUT_XML = {
    "accelerate": ("AccelerateConfiguration", False),
    "acl": ("AccessControlPolicy", True),
    "analytics": ("AnalyticsConfiguration", False),
    "cors": ("CORSConfiguration", False),
    "encryption": ("ServerSideEncryptionConfiguration", False),
    "intelligent-tiering": ("IntelligentTieringConfiguration", False),
    "inventory": ("InventoryConfiguration", False),
    "lifecycle": ("LifecycleConfiguration", False),
    "logging": ("BucketLoggingStatus", False),
    "metrics": ("MetricsConfiguration", False),
    "notification": ("NotificationConfiguration", False),
    "object-lock": ("ObjectLockConfiguration", False),
    "ownershipControls": ("OwnershipControls", False),
    "publicAccessBlock": ("PublicAccessBlockConfiguration", False),
    "replication": ("ReplicationConfiguration", False),
    "requestPayment": ("RequestPaymentConfiguration", False),
    "tagging": ("Tagging", False),
    "versioning": ("VersioningConfiguration", False),
    "website": ("WebsiteConfiguration", False),
}
OBJECT_PUT_XML = {
    "acl": ("AccessControlPolicy", True),
    "legal-hold": ("LegalHold", False),
    "retention": ("Retention", False),
    "tagging": ("Tagging", False),
}
# root element -> children it must have (what Moto indexes without checking)
REQUIRED_CHILDREN = {
    "CompleteMultipartUpload": ("Part",),
    "CORSConfiguration": ("CORSRule",),
    "Delete": ("Object",),
    "LifecycleConfiguration": ("Rule",),
    "ServerSideEncryptionConfiguration": ("Rule",),
    "Tagging": ("TagSet",),
    "OwnershipControls": ("Rule",),
    "ReplicationConfiguration": ("Role", "Rule"),
}

# root element -> the only children S3's schema allows there (checked where Moto accepts anything)
ALLOWED_CHILDREN = {
    "AccelerateConfiguration": {"Status"},
    "AccessControlPolicy": {"Owner", "AccessControlList"},
    "BucketLoggingStatus": {"LoggingEnabled"},
    "CompleteMultipartUpload": {"Part"},
    "CORSConfiguration": {"CORSRule"},
    "Delete": {"Object", "Quiet"},
    "LifecycleConfiguration": {"Rule"},
    "NotificationConfiguration": {
        "TopicConfiguration",
        "QueueConfiguration",
        "CloudFunctionConfiguration",
        "EventBridgeConfiguration",
    },
    "OwnershipControls": {"Rule"},
    "PublicAccessBlockConfiguration": {
        "BlockPublicAcls",
        "IgnorePublicAcls",
        "BlockPublicPolicy",
        "RestrictPublicBuckets",
    },
    "RequestPaymentConfiguration": {"Payer"},
    "ServerSideEncryptionConfiguration": {"Rule"},
    "Tagging": {"TagSet"},
    "VersioningConfiguration": {"Status", "MfaDelete"},
    "WebsiteConfiguration": {"ErrorDocument", "IndexDocument", "RedirectAllRequestsTo", "RoutingRules"},
}
# root element -> at least one of these children
ONE_OF_CHILDREN = {"WebsiteConfiguration": ("IndexDocument", "RedirectAllRequestsTo")}


@dataclass(frozen=True)
class BodyRule:
    kind: str  # "xml", "policy", "aws-chunked" or "ignored" (read and dropped)
    root: str = ""
    empty_ok: bool = False


def body_rule(view: RequestView) -> BodyRule | None:
    """What the body of this request must be, or None when the gateway leaves it to Moto (object data)."""
    payload = view.headers.get("x-amz-content-sha256", "")
    if payload in CHUNKED_PAYLOADS:
        return BodyRule("aws-chunked")
    if view.method in ("GET", "HEAD", "DELETE", "OPTIONS"):
        has_body = view.headers.get("content-length", "0") != "0" or "transfer-encoding" in view.headers
        return BodyRule("ignored") if has_body else None  # S3 reads no body there; Moto parses some
    if view.addressing.bucket is None:
        return None
    params = view.params
    if view.is_bucket_root():
        if view.method == "PUT":
            if "policy" in params:
                return BodyRule("policy")
            for name, (root, empty_ok) in BUCKET_PUT_XML.items():
                if name in params:
                    return BodyRule("xml", root, empty_ok)
            return BodyRule("xml", "CreateBucketConfiguration", True)
        elif view.method == "POST" and "delete" in params:
            return BodyRule("xml", "Delete")
        return None
    if view.method == "PUT" and "uploadId" not in params:
        for name, (root, empty_ok) in OBJECT_PUT_XML.items():
            if name in params:
                return BodyRule("xml", root, empty_ok)
    elif view.method == "POST":
        if "uploads" in params and "uploadId" not in params:
            return BodyRule("ignored")  # CreateMultipartUpload has no body; Moto only takes an empty one
        if "uploadId" in params:            return BodyRule("xml", "CompleteMultipartUpload")
        if "restore" in params:
            return BodyRule("xml", "RestoreRequest", True)
        if "select" in params:
            return BodyRule("xml", "SelectObjectContentRequest")
    return None


OBJECT_POST_SUBRESOURCES = ("uploads", "uploadId", "restore", "select")


S3_METHODS = frozenset({"GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"})
# query parameters Moto reads with int(): name -> (lowest, highest) S3 accepts
INTEGER_PARAMS = {
    "partNumber": (1, 10000),
    "max-keys": (0, 2**31 - 1),
    "max-parts": (0, 2**31 - 1),
    "max-uploads": (0, 2**31 - 1),
    "part-number-marker": (0, 2**31 - 1),
}
BUCKET_PUT_SUBRESOURCES = frozenset(BUCKET_PUT_XML) | {"policy"}
NOT_BUCKET_PUT = frozenset(
    {"delete", "uploads", "uploadId", "restore", "select", "legal-hold", "retention", "location"}
    | {"partNumber"}
)


def method_not_allowed(method: str, resource_type: str) -> S3Error:
    return S3Error(
        405,
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
        [("Method", method), ("ResourceType", resource_type)],
    )


def integer_problem(params: dict[str, str]) -> S3Error | None:
    for name, (low, high) in INTEGER_PARAMS.items():
        value = params.get(name)
        if value is None:
            continue
        if not (value.isascii() and value.isdigit() and len(value) <= 10 and low <= int(value) <= high):
            return invalid_argument(
                f"{name} must be an integer between {low} and {high}, inclusive" if name == "partNumber"
                else f"Provided {name} not an integer or within integer range",
                name,
                value,
            )
    return None


PRINTABLE_RE = re.compile(r"[\x20-\x7e]*")
RANGE_RE = re.compile(r"bytes=([0-9]*)-([0-9]*)")
VERSION_ID_RE = re.compile(r"[A-Za-z0-9._+/=-]{1,1024}")  # S3's ids and "null"; Moto's are UUIDs


def range_is_ignored(value: str) -> bool:
    """A Range S3 ignores (serving the whole object): not one `bytes=first-last` range (RFC 9110)."""
    match = RANGE_RE.fullmatch(value.strip())
    return match is None or not (match.group(1) or match.group(2))


def copy_source_problem(value: str) -> S3Error | None:
    source = unquote(value.split("?", 1)[0]).lstrip("/")
    bucket, _, key = source.partition("/")
    if bucket and key:
        return None
    return invalid_argument(
        "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
        "x-amz-copy-source",
        value,
    )


def header_problem(headers: dict[str, str]) -> S3Error | None:
    """Headers Moto's dispatcher or handlers take apart without checking."""
    authorization = headers.get("authorization")
    if authorization is not None and (not authorization.strip() or not PRINTABLE_RE.fullmatch(authorization)):
        return access_denied()  # S3: an empty or unreadable Authorization is AccessDenied
    if authorization is not None and len(authorization.split(",")[0].split()) < 2:
        return invalid_argument(
            "Authorization header is invalid -- one and only one ' ' (space) required",
            "Authorization",
            authorization,
        )
    target = headers.get("x-amz-target")
    if target is not None and "." not in target:
        return invalid_argument("X-Amz-Target is not an AWS operation", "x-amz-target", target)
    return None


def request_problem(view: RequestView) -> S3Error | None:
    """Requests S3 refuses whatever their body, which Moto answered with a 500: a method S3 does not
    serve, a POST or PUT naming no operation there, an integer parameter that is none; and a PUT beyond
    S3's 5 GiB single-request limit."""
    problem = header_problem(view.headers)
    if problem is not None:
        return problem
    if view.method in ("GET", "HEAD") and not view.raw_query:
        return None  # the common case, decided without working out bucket and key
    if view.method not in S3_METHODS:
        return method_not_allowed(view.method, "OBJECT" if view.addressing.key else "BUCKET")
    if view.addressing.bucket is None:
        if view.method not in ("GET", "HEAD", "OPTIONS"):
            return method_not_allowed(view.method, "SERVICE")
        return None
    params = view.params
    if view.method == "POST":
        if not view.is_bucket_root() and not any(name in params for name in OBJECT_POST_SUBRESOURCES):
            return method_not_allowed("POST", "OBJECT")
        if view.is_bucket_root() and view.raw_query and "delete" not in params:
            return method_not_allowed("POST", "BUCKET")
    if (
        view.method == "PUT"
        and view.is_bucket_root()
        and not params.keys() & BUCKET_PUT_SUBRESOURCES
        and params.keys() & NOT_BUCKET_PUT
    ):
        return method_not_allowed("PUT", "BUCKET")
    problem = integer_problem(params)
    if problem is not None:
        return problem
    for name, value in params.items():
        if name.startswith("response-") and any(ord(char) < 32 or ord(char) == 127 for char in value):
            return invalid_argument(f"{name} must not contain control characters", name, value)  # a header
        if view.method in ("PUT", "POST") and ("\n" in value or "\r" in value):
            # Moto may keep a write's query values as the object's headers; a line break there broke
            # every later GET of the object with a 500. No S3 write parameter holds a line break.
            return invalid_argument(f"{name} must not contain a line break", name, value)
    version_id = params.get("versionId")
    if version_id is not None and not VERSION_ID_RE.fullmatch(version_id):
        return invalid_argument("Invalid version id specified", "versionId", version_id)
    if view.method == "PUT" and "x-amz-copy-source" in view.headers:
        problem = copy_source_problem(view.headers["x-amz-copy-source"])
        if problem is not None:
            return problem
    length = view.headers.get("content-length", "")
    if view.method == "PUT" and length.isascii() and length.isdigit() and int(length) > MAX_PUT_BYTES:
        return S3Error(
            400,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
            [("ProposedSize", int(length)), ("MaxSizeAllowed", MAX_PUT_BYTES)],
        )
    return None


def too_big(limit: int) -> S3Error:
    return S3Error(
        400,
        "MaxMessageLengthExceeded",
        "Your request was too big.",
        [("MaxMessageLengthBytes", limit)],
    )


def missing_body() -> S3Error:
    return S3Error(400, "MissingRequestBodyError", "Request Body is empty")


def depth_of(root: Element) -> int:
    deepest, stack = 0, [(root, 1)]
    while stack:
        element, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in element)
    return deepest


def xml_problem(body: bytes, rule: BodyRule) -> S3Error | None:
    """Why S3 would refuse this XML body, or None."""
    if not body.strip():
        return None if rule.empty_ok else missing_body()
    try:
        root = fromstring(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError):
        return malformed_xml()
    namespace = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else S3_NAMESPACE
    if local_name(root.tag) != rule.root or namespace != S3_NAMESPACE:
        return malformed_xml()
    if depth_of(root) > MAX_XML_DEPTH:
        return malformed_xml()
    children = {local_name(child.tag) for child in root}
    if any(name not in children for name in REQUIRED_CHILDREN.get(rule.root, ())):
        return malformed_xml()
    if rule.root in ALLOWED_CHILDREN and not children <= ALLOWED_CHILDREN[rule.root]:
        return malformed_xml()
    one_of = ONE_OF_CHILDREN.get(rule.root)
    if one_of and not children & set(one_of):
        return malformed_xml()
    return None


def malformed_policy(message: str) -> S3Error:
    return S3Error(400, "MalformedPolicy", message)


def json_depth(value: object) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return deepest


def is_strings(value: object) -> bool:
    """A string or a non-empty list of strings (Action, Resource)."""
    if isinstance(value, str):
        return True
    return isinstance(value, list) and bool(value) and all(isinstance(item, str) for item in value)


def statement_problem(statement: object) -> str | None:
    if not isinstance(statement, dict):
        return "Policy has an invalid statement"
    if statement.get("Effect") not in ("Allow", "Deny"):
        return "Policy has an invalid effect"
    if "Principal" not in statement and "NotPrincipal" not in statement:
        return "Missing required field Principal"
    principal = statement.get("Principal", statement.get("NotPrincipal"))
    if not (principal == "*" or (isinstance(principal, dict) and principal)):
        return "Invalid principal in policy"
    actions = [statement[name] for name in ("Action", "NotAction") if name in statement]
    if len(actions) != 1 or not is_strings(actions[0]):
        return "Policy has invalid action"
    resources = [statement[name] for name in ("Resource", "NotResource") if name in statement]
    if len(resources) != 1 or not is_strings(resources[0]):
        return "Policy has invalid resource"
    if "Condition" in statement and not isinstance(statement["Condition"], dict):
        return "Policy has an invalid condition"
    return None


def policy_problem(body: bytes) -> S3Error | None:
    """Why S3 would refuse this bucket policy, or None."""
    if not body.strip():
        return missing_body()
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return malformed_policy("Policies must be valid JSON and the first byte must be '{'")
    if not isinstance(document, dict):
        return malformed_policy("Policies must be valid JSON and the first byte must be '{'")
    if json_depth(document) > MAX_POLICY_DEPTH:
        return malformed_policy("Invalid policy syntax.")
    if document.get("Version") not in ("2012-10-17", "2008-10-17"):
        return malformed_policy("Invalid policy syntax.")
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        return malformed_policy("Could not parse the policy: Statement is empty!")
    for statement in statements:
        problem = statement_problem(statement)
        if problem:
            return malformed_policy(problem)
    return None


def incomplete_body() -> S3Error:
    return S3Error(400, "IncompleteBody", "The request body terminated unexpectedly")


AWS_CHUNK_PIECE = 1024 * 1024  # a chunk's data is read (and hashed) this much at a time


def trailer_checksums(declared: str | None) -> dict[str, object]:
    """Running digests for the checksum headers `x-amz-trailer` announces (S3 computes only those)."""
    names = [name.strip().lower() for name in (declared or "").split(",")]
    return {name: rules.new_digest(rules.CHECKSUMS[name][0]) for name in names if name in rules.CHECKSUMS}


def trailer_problem(body: BinaryIO, running: dict[str, object]) -> S3Error | None:
    """The trailer (after the last chunk) against the decoded data: 400 BadDigest for a checksum that does
    not match it."""
    trailers: dict[str, str] = {}
    while line := body.readline(MAX_CHUNK_LINE).strip():
        name, _, value = line.decode("latin-1").partition(":")
        trailers[name.strip().lower()] = value.strip()
    for name, digest in running.items():
        if name not in trailers:
            continue
        try:
            (checksum,) = rules.requested_checksums({name: trailers[name]})
        except S3Error as error:  # a value of the wrong length
            return error
        checksum.digest = digest
        if checksum.value() != checksum.expected:
            return rules.checksum_mismatch(checksum)
    return None


def aws_chunked_problem(
    body: BinaryIO, signed: bool, decoded_length: str | None, trailer: str | None = None
) -> S3Error | None:
    """Why this aws-chunked body's framing is wrong (the chunk signatures are not checked), or None; a
    trailing checksum `trailer` (x-amz-trailer) announces must match the decoded data."""
    total = 0
    running = trailer_checksums(trailer)
    while True:
        line = body.readline(MAX_CHUNK_LINE)
        if not line.endswith(b"\r\n"):
            return incomplete_body()
        size_text, _, extension = line[:-2].partition(b";")
        if not size_text or len(size_text) > 16 or not all(c in b"0123456789abcdefABCDEF" for c in size_text):
            return incomplete_body()
        if signed and not extension.startswith(b"chunk-signature="):
            return incomplete_body()
        size = int(size_text, 16)
        if size == 0:
            break
        left = size
        while left:
            piece = body.read(min(left, AWS_CHUNK_PIECE))
            if not piece:
                return incomplete_body()
            for digest in running.values():
                digest.update(piece)
            left -= len(piece)
        if body.read(2) != b"\r\n":
            return incomplete_body()
        total += size
    if signed:
        if decoded_length is None:
            return S3Error(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
        if not decoded_length.isascii() or not decoded_length.isdigit() or int(decoded_length) != total:
            return invalid_argument(
                "x-amz-decoded-content-length does not match the length of the decoded body",
                "x-amz-decoded-content-length",
                decoded_length,
            )
    return trailer_problem(body, running) if running else None


def declared_length(environ: dict) -> int | None:
    value = environ.get("CONTENT_LENGTH", "")
    return int(value) if value.isascii() and value.isdigit() else None


def read_limited(environ: dict, limit: int) -> bytes:
    """The whole body if it is at most `limit` bytes, else 400 MaxMessageLengthExceeded (reading no more)."""
    length = declared_length(environ)
    if length is not None and length > limit:
        raise too_big(limit)
    stream = get_input_stream(environ)
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise too_big(limit)
    return body


class RequestChecks:
    """The outer layer: requests S3 refuses whatever their body and whoever sends them (`request_problem`:
    a method S3 does not serve, a malformed header, a PUT over 5 GiB), before anything reads the body or
    decides access; a Range S3 ignores is dropped."""

    def __init__(self, app: Callable, refuse: Callable):
        self.app = app
        self.refuse = refuse

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(MOTO_OWN_PATHS) or is_other_service(environ):
            return self.app(environ, start_response)
        view = RequestView.from_environ(environ)
        problem = request_problem(view)
        if problem is not None:
            return self.refuse(view, problem, start_response)
        if "HTTP_RANGE" in environ and range_is_ignored(environ["HTTP_RANGE"]):
            del environ["HTTP_RANGE"]
        return self.app(environ, start_response)


class BodyChecks:
    """The inner layer: reads the bodies `body_rule` names, refuses the bad ones, hands Moto the good ones."""

    def __init__(self, app: Callable, refuse: Callable, spool_memory_bytes: int = 8 * 1024 * 1024):
        self.app = app
        self.refuse = refuse
        self.spool_memory_bytes = spool_memory_bytes

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(MOTO_OWN_PATHS):
            return self.app(environ, start_response)
        view = RequestView.from_environ(environ)
        rule = body_rule(view)
        if rule is None:
            return self.app(environ, start_response)
        environ[BODY_RULE_ENVIRON] = rule
        if rule.kind == "aws-chunked":
            return self._aws_chunked(environ, view, start_response)
        if rule.kind == "ignored":
            drain(environ)
            put_back(environ, io.BytesIO(b""), 0)
            return self.app(environ, start_response)
        try:
            if rule.kind == "policy":
                body = read_limited(environ, MAX_POLICY_BYTES)
                problem = policy_problem(body)
            else:
                body = read_limited(environ, MAX_XML_BYTES)
                problem = xml_problem(body, rule)
        except S3Error as error:
            problem = error
        if problem is not None:
            return self.refuse(view, problem, start_response)
        put_back(environ, io.BytesIO(body), len(body))
        return self.app(environ, start_response)

    def _aws_chunked(self, environ: dict, view: RequestView, start_response: Callable) -> Iterable[bytes]:
        spool = bodies.spool(environ, self.spool_memory_bytes)
        size = spool.tell()
        spool.seek(0)
        problem = aws_chunked_problem(
            spool,
            view.headers.get("x-amz-content-sha256") in SIGNED_CHUNKS,
            view.headers.get("x-amz-decoded-content-length"),
            view.headers.get("x-amz-trailer"),
        )
        if problem is not None:
            spool.close()
            return self.refuse(view, problem, start_response)
        return pass_on(self.app, environ, start_response, spool, size)

