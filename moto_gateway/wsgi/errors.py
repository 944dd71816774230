"""S3 errors as AWS answers them: a status, a code, a message and extra elements, rendered as AWS's XML."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timezone
from xml.sax.saxutils import escape


class S3Error(Exception):
    """A refusal with AWS's status, code and message; `details` become extra XML elements, in order."""

    def __init__(self, status: int, code: str, message: str, details: Iterable[tuple[str, object]] = ()):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = tuple((name, str(value)) for name, value in details)

    def detail(self, name: str) -> str | None:
        return next((value for key, value in self.details if key == name), None)


def new_request_id() -> str:
    return secrets.token_hex(8).upper()


def error_xml(error: S3Error, request_id: str, host_id: str = "") -> bytes:
    elements = [("Code", error.code), ("Message", error.message), *error.details]
    elements += [("RequestId", request_id), ("HostId", host_id)]
    body = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in elements)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{body}</Error>'.encode()


def hex_bytes(text: str) -> str:
    """AWS's StringToSignBytes / CanonicalRequestBytes: two lowercase hex digits a byte, spaces between."""
    return text.encode("utf-8").hex(" ")


def iso_time(epoch_seconds: float) -> str:
    """The time as AWS writes it; times a datetime cannot hold (a client's absurd Expires) are clamped."""
    try:
        moment = datetime.fromtimestamp(epoch_seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        moment = datetime.max if epoch_seconds > 0 else datetime.min
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}Z"


def signature_does_not_match(
    access_key: str, string_to_sign: str, provided: str, canonical_request: str | None = None
) -> S3Error:
    details: list[tuple[str, object]] = [
        ("AWSAccessKeyId", access_key),
        ("StringToSign", string_to_sign),
        ("SignatureProvided", provided),
        ("StringToSignBytes", hex_bytes(string_to_sign)),
    ]
    if canonical_request is not None:
        details += [
            ("CanonicalRequest", canonical_request),
            ("CanonicalRequestBytes", hex_bytes(canonical_request)),
        ]
    return S3Error(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
        details,
    )


def invalid_access_key(access_key: str) -> S3Error:
    return S3Error(
        403,
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
        [("AWSAccessKeyId", access_key)],
    )


def precondition_failed(condition: str) -> S3Error:
    return S3Error(
        412,
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
        [("Condition", condition)],
    )


def access_denied(message: str = "Access Denied", details: Iterable[tuple[str, object]] = ()) -> S3Error:
    return S3Error(403, "AccessDenied", message, details)


def invalid_argument(message: str, name: str, value: str) -> S3Error:
    return S3Error(400, "InvalidArgument", message, [("ArgumentName", name), ("ArgumentValue", value)])
