"""Query-string (presigned URL) and Authorization-header signatures, checked as S3 checks them.

Each check takes a RequestView, the gateway's credentials and the clock, and raises the S3Error AWS would
answer with, or returns when the request is authentic.
"""

from __future__ import annotations

import hmac
import re
from calendar import monthrange, timegm
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from moto_gateway.signing import sigv2, sigv4
from moto_gateway.wsgi.errors import (
    S3Error,
    access_denied,
    invalid_access_key,
    invalid_argument,
    iso_time,
    signature_does_not_match,
)
from moto_gateway.wsgi.request import RequestView

V4_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)
V2_PARAMS = ("AWSAccessKeyId", "Signature", "Expires")
MAX_EXPIRES = 604800
INTEGER_RE = re.compile(r"-?[0-9]{1,19}")
MAX_SKEW_SECONDS = 900
STREAMING_PAYLOADS = frozenset(
    {
        "UNSIGNED-PAYLOAD",
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
    }
)
AUTH_V4_RE = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=([^,\s]*)\s*,\s*SignedHeaders=([^,\s]*)\s*,\s*Signature=([0-9a-fA-F]*)\s*"
)


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str


def query_error(message: str) -> S3Error:
    return S3Error(400, "AuthorizationQueryParametersError", message)


def parse_amz_date(value: str) -> float | None:
    """`20260101T000000Z` -> epoch seconds, or None when it is not a valid ISO 8601 basic UTC time."""
    if not sigv4.AMZ_DATE_RE.fullmatch(value):
        return None
    fields = (
        int(value[0:4]),
        int(value[4:6]),
        int(value[6:8]),
        int(value[9:11]),
        int(value[11:13]),
        int(value[13:15]),
    )
    year, month, day, hour, minute, second = fields
    if not (
        1 <= year
        and 1 <= month <= 12
        and 1 <= day <= monthrange(year, month)[1]
        and hour < 24
        and minute < 60
        and second < 61
    ):
        return None
    return float(timegm((*fields, 0, 0, 0)))


def parse_http_date(value: str) -> float | None:
    """An RFC 1123 (or RFC 850 / asctime) date -> epoch seconds, or None."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.timestamp()
    except (OverflowError, ValueError, OSError):
        return None


def parse_integer(value: str) -> int | None:
    """A plain decimal integer (optional '-'); int() alone also takes spaces, '+' and '_'."""
    return int(value) if INTEGER_RE.fullmatch(value) else None


def auth_kind(view: RequestView) -> str | None:
    """Which signature the request carries: 'query-v4', 'query-v2', 'header', or None (anonymous).

    Only S3's own mechanisms count: SigV2 query auth of other services carries SignatureVersion.
    """
    kinds = []
    params = (
        view.params
        if ("X-Amz-" in view.raw_query or "Signature" in view.raw_query or "AWSAccessKeyId" in view.raw_query)
        else {}
    )
    if any(name in params for name in V4_PARAMS):
        kinds.append("query-v4")
    if ("Signature" in params or "AWSAccessKeyId" in params) and "SignatureVersion" not in params:
        kinds.append("query-v2")
    if "authorization" in view.headers:
        kinds.append("header")
    if len(kinds) > 1:
        raise invalid_argument(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
            "Signature query string parameter or the Authorization header should be specified",
            "Authorization",
            view.headers.get("authorization", ""),
        )
    return kinds[0] if kinds else None


def unsigned_amz_headers(view: RequestView, signed: list[str]) -> list[str]:
    return sorted(
        name
        for name in view.headers
        if name.startswith("x-amz-") and name not in signed and name != "x-amz-content-sha256"
    )


def v4_credential(raw: str, prefix: str) -> sigv4.Credential | None:
    """The parsed credential, None when it is not for S3 (another service's request), or a 400."""
    credential = sigv4.split_credential(raw)
    if credential is not None and credential.service != "s3":
        return None
    problem = sigv4.credential_problem(credential)
    if problem:
        raise query_error(prefix + problem)
    return credential


def check_query_v4(view: RequestView, creds: Credentials, now: float) -> None:
    params = view.params
    if not all(name in params for name in V4_PARAMS):
        raise query_error(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
            "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
        )
    if params["X-Amz-Algorithm"] != sigv4.ALGORITHM:
        raise query_error(f'X-Amz-Algorithm only supports "{sigv4.ALGORITHM}"')
    credential = v4_credential(params["X-Amz-Credential"], "Error parsing the X-Amz-Credential parameter; ")
    if credential is None:
        return
    amz_date = params["X-Amz-Date"]
    signed_at = parse_amz_date(amz_date)
    if signed_at is None:
        raise query_error("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    expires = parse_integer(params["X-Amz-Expires"])
    if expires is None:
        raise query_error("X-Amz-Expires should be a number")
    if expires < 0:
        raise query_error("X-Amz-Expires must be non-negative")
    if expires > MAX_EXPIRES:
        raise query_error(f"X-Amz-Expires must be less than a week (in seconds) that is; {MAX_EXPIRES}")
    if credential.access_key != creds.access_key:
        raise invalid_access_key(credential.access_key)
    signed = [name for name in params["X-Amz-SignedHeaders"].split(";") if name]
    unsigned = unsigned_amz_headers(view, signed)
    if unsigned:
        raise access_denied(
            "There were headers present in the request which were not signed",
            [("HeadersNotSigned", ", ".join(unsigned))],
        )
    payload = params.get("X-Amz-Content-Sha256", sigv4.UNSIGNED_PAYLOAD)
    canonical = sigv4.canonical_request(
        view.method,
        sigv4.canonical_uri(view.raw_path),
        sigv4.canonical_query_string(view.query_pairs, exclude="X-Amz-Signature"),
        signed,
        view.headers,
        payload,
    )
    to_sign = sigv4.string_to_sign(amz_date, credential.scope, canonical)
    key = sigv4.signing_key(creds.secret_key, credential.date, credential.region, credential.service)
    provided = params["X-Amz-Signature"]
    if not hmac.compare_digest(sigv4.sign(key, to_sign).encode(), provided.encode("utf-8", "replace")):
        raise signature_does_not_match(credential.access_key, to_sign, provided, canonical)
    if now > signed_at + expires:
        raise access_denied(
            "Request has expired",
            [
                ("X-Amz-Expires", expires),
                ("Expires", iso_time(signed_at + expires)),
                ("ServerTime", iso_time(now)),
            ],
        )


def v2_resources(view: RequestView) -> list[str]:
    """The signed resource; for `/bucket` also `/bucket/`, which botocore signs for bucket-level calls."""
    path = sigv4.canonical_uri(view.raw_path)
    if view.addressing.virtual_host:
        path = f"/{view.addressing.bucket}{path}"  # the signed resource names the bucket in either style
    paths = [path]
    if view.is_bucket_root() and not path.endswith("/"):
        paths.append(path + "/")
    return [sigv2.canonical_resource(candidate, view.query) for candidate in paths]


def check_v2_signature(
    view: RequestView,
    creds: Credentials,
    access_key: str,
    provided: str,
    build: Callable[[str, str], str],
    dates: tuple[str, ...] = ("",),
) -> None:
    """Accepts the signature if it matches the string to sign built for any candidate resource and date."""
    candidates = [build(resource, date) for date in dates for resource in v2_resources(view)]
    for to_sign in candidates:
        if hmac.compare_digest(
            sigv2.sign(creds.secret_key, to_sign).encode(), provided.encode("utf-8", "replace")
        ):
            return
    raise signature_does_not_match(access_key, candidates[0], provided)


def check_query_v2(view: RequestView, creds: Credentials, now: float) -> None:
    params = view.params
    if not all(name in params for name in V2_PARAMS):
        raise access_denied(
            "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters"
        )
    expires = parse_integer(params["Expires"])
    if expires is None:
        raise access_denied(f"Invalid date (should be seconds since epoch): {params['Expires']}")
    if params["AWSAccessKeyId"] != creds.access_key:
        raise invalid_access_key(params["AWSAccessKeyId"])
    lowered_query = {name.lower(): value for name, value in view.query}
    amz = {name: value for name, value in lowered_query.items() if name.startswith("x-amz-")}
    amz.update({name: value for name, value in view.headers.items() if name.startswith("x-amz-")})
    check_v2_signature(
        view,
        creds,
        creds.access_key,
        params["Signature"],
        lambda resource, _date: sigv2.string_to_sign(
            view.method,
            view.headers.get("content-md5", lowered_query.get("content-md5", "")),
            view.headers.get("content-type", lowered_query.get("content-type", "")),
            str(expires),
            amz,
            resource,
        ),
    )
    if now > expires:
        raise access_denied(
            "Request has expired", [("Expires", iso_time(expires)), ("ServerTime", iso_time(now))]
        )


def request_time(view: RequestView, http_date_amz: bool = False) -> float | None:
    """When the request says it was signed: x-amz-date (ISO 8601 basic; SigV2 also RFC 1123), else Date."""
    if "x-amz-date" in view.headers:
        value = view.headers["x-amz-date"]
        signed_at = parse_amz_date(value)
        if signed_at is None and http_date_amz:
            signed_at = parse_http_date(value)
        return signed_at
    if "date" in view.headers:
        return parse_http_date(view.headers["date"])
    return None


def v4_timestamp(view: RequestView) -> str:
    """The timestamp SigV4 signs: X-Amz-Date as sent, else the Date header in ISO 8601 basic form."""
    if "x-amz-date" in view.headers:
        return view.headers["x-amz-date"]
    signed_at = parse_http_date(view.headers.get("date", ""))
    if signed_at is None:
        return ""
    return datetime.fromtimestamp(signed_at, tz=timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def check_clock(view: RequestView, now: float, http_date_amz: bool = False) -> None:
    signed_at = request_time(view, http_date_amz)
    if signed_at is None:
        raise access_denied("AWS authentication requires a valid Date or x-amz-date header")
    if abs(now - signed_at) > MAX_SKEW_SECONDS:
        raise S3Error(
            403,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            [
                ("RequestTime", iso_time(signed_at)),
                ("ServerTime", iso_time(now)),
                ("MaxAllowedSkewMilliseconds", MAX_SKEW_SECONDS * 1000),
            ],
        )


def check_header_v4(view: RequestView, authorization: str, creds: Credentials, now: float) -> str | None:
    """Verifies a SigV4 Authorization header; returns the hex payload hash the body must match, if any."""
    match = AUTH_V4_RE.fullmatch(authorization)
    if match is None:
        raise S3Error(
            400,
            "AuthorizationHeaderMalformed",
            "The authorization header is malformed; the authorization header requires three components: "
            "Credential, SignedHeaders, and Signature.",
        )
    raw_credential, signed_headers, provided = match.groups()
    credential = sigv4.split_credential(raw_credential)
    if credential is not None and credential.service != "s3":
        return None
    problem = sigv4.credential_problem(credential)
    if problem or credential is None:
        raise S3Error(
            400, "AuthorizationHeaderMalformed", f"The authorization header is malformed; {problem}"
        )
    if credential.access_key != creds.access_key:
        raise invalid_access_key(credential.access_key)
    check_clock(view, now)
    payload = view.headers.get("x-amz-content-sha256")
    if payload is None:
        raise S3Error(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
    if payload not in STREAMING_PAYLOADS and not sigv4.SHA256_HEX_RE.fullmatch(payload):
        raise invalid_argument(
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
            "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER "
            "or a valid sha256 value.",
            "x-amz-content-sha256",
            payload,
        )
    signed = signed_headers.split(";")
    amz_date = v4_timestamp(view)
    canonical = sigv4.canonical_request(
        view.method,
        sigv4.canonical_uri(view.raw_path),
        sigv4.canonical_query_string(view.query_pairs),
        signed,
        view.headers,
        payload,
    )
    to_sign = sigv4.string_to_sign(amz_date, credential.scope, canonical)
    key = sigv4.signing_key(creds.secret_key, credential.date, credential.region, credential.service)
    if not hmac.compare_digest(sigv4.sign(key, to_sign).encode(), provided.encode()):
        raise signature_does_not_match(credential.access_key, to_sign, provided, canonical)
    return payload.lower() if sigv4.SHA256_HEX_RE.fullmatch(payload) else None


def check_header_v2(view: RequestView, authorization: str, creds: Credentials, now: float) -> None:
    access_key, _, provided = authorization[4:].strip().rpartition(":")
    if access_key != creds.access_key:
        raise invalid_access_key(access_key)
    check_clock(view, now, http_date_amz=True)
    amz = {name: value for name, value in view.headers.items() if name.startswith("x-amz-")}
    check_v2_signature(
        view,
        creds,
        access_key,
        provided,
        lambda resource, date: sigv2.string_to_sign(
            view.method,
            view.headers.get("content-md5", ""),
            view.headers.get("content-type", ""),
            date,
            amz,
            resource,
        ),
        v2_date_lines(view.headers),
    )


def v2_date_lines(headers: dict[str, str]) -> tuple[str, ...]:
    """The Date line SigV2 signs: empty when x-amz-date is sent (AWS's rule), though botocore still puts
    the Date header there; both are accepted."""
    date = headers.get("date", "")
    if "x-amz-date" not in headers:
        return (date,)
    return ("", date) if date else ("",)


def check_header(view: RequestView, creds: Credentials, now: float) -> str | None:
    """Verifies the Authorization header (SigV4 or SigV2); returns a payload hash to check, if any."""
    authorization = view.headers["authorization"]
    if authorization.startswith("AWS4-HMAC-SHA256"):
        return check_header_v4(view, authorization, creds, now)
    if authorization.startswith("AWS "):
        check_header_v2(view, authorization, creds, now)
        return None
    return None
