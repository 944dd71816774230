"""Browser-upload (POST Object) policies: parse the policy document and judge a form against it, as S3 does.

Pure functions: the form arrives already read (`PostForm`), the clock as a number.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from calendar import timegm
from collections.abc import Sequence
from dataclasses import dataclass, field
from time import strptime

from moto_gateway.signing import sigv2, sigv4
from moto_gateway.wsgi.errors import (
    S3Error,
    access_denied,
    invalid_access_key,
    invalid_argument,
    signature_does_not_match,
)

MAX_PRE_FILE_BYTES = 20480
EXPIRATION_RE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]+)?Z")
V4_FIELDS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Signature")
V2_FIELDS = ("AWSAccessKeyId", "Signature")
# Fields no condition has to name: x-ignore-* (S3's escape hatch) and the checksum of the file.
EXEMPT_PREFIXES = ("x-ignore-", "x-amz-checksum-")
OPERATORS = {"eq": 3, "starts-with": 3, "content-length-range": 3}


@dataclass
class PostForm:
    """What a POST Object body said: the fields before the file, and the file's name and size."""

    fields: list[tuple[str, str]] = field(default_factory=list)
    has_file: bool = False
    filename: str | None = None  # None: the file part had no filename parameter
    file_size: int = 0
    malformed: bool = False
    pre_file_too_large: bool = False
    checksums: dict[str, str] = field(default_factory=dict)  # field name -> what the file's bytes give

    def lookup(self) -> dict[str, str]:
        """Field names are case-insensitive; repeated fields join with commas (AWS's rule)."""
        merged: dict[str, str] = {}
        for name, value in self.fields:
            key = name.lower()
            merged[key] = f"{merged[key]},{value}" if key in merged else value
        return merged


@dataclass(frozen=True)
class Condition:
    """One policy condition, normalised: `op` is eq / starts-with / content-length-range."""

    op: str
    name: str  # the field name without '$', lowercased ("" for content-length-range)
    operand: object
    upper: object = None
    raw: object = None  # the condition as written, for the error message
    has_dollar: bool = True

    def shown(self) -> str:
        return json.dumps(self.raw, ensure_ascii=False)


@dataclass(frozen=True)
class Policy:
    expiration: float
    conditions: tuple[Condition, ...]


def invalid_policy(message: str) -> S3Error:
    return S3Error(400, "InvalidPolicyDocument", f"Invalid Policy: {message}")


def expand_filename(value: str, filename: str | None) -> str:
    """`${filename}` -> the uploaded file's name without any path; kept literally without a filename."""
    if filename is None or "${filename}" not in value:
        return value
    base = re.split(r"[/\\]", filename)[-1]
    return value.replace("${filename}", base)


def parse_expiration(value: object) -> float:
    match = EXPIRATION_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise invalid_policy(f"Invalid 'expiration' value: '{value}'")
    try:
        seconds = timegm(strptime(match.group(1), "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        raise invalid_policy(f"Invalid 'expiration' value: '{value}'") from None
    fraction = float(match.group(2)) if match.group(2) else 0.0
    return seconds + fraction


def parse_condition(raw: object) -> Condition:
    if isinstance(raw, dict):
        if len(raw) != 1:
            raise invalid_policy(
                "Invalid Simple-Condition: Simple-Conditions must have exactly one property specified."
            )
        ((name, value),) = raw.items()
        if value is None:
            raise invalid_policy("Invalid JSON.")
        if not isinstance(value, str):
            raise invalid_policy("Invalid Simple-Condition: value must be a string.")
        return Condition("eq", name.lower(), value, raw=["eq", f"${name}", value])
    if isinstance(raw, list):
        if not raw:
            raise invalid_policy("Invalid Condition: missing operation identifier.")
        if not isinstance(raw[0], str):
            raise invalid_policy("Invalid JSON.")
        op = raw[0].lower()
        if op not in OPERATORS:
            raise invalid_policy(f"Invalid Condition: unknown operation '{raw[0]}'.")
        if len(raw) != OPERATORS[op]:
            raise invalid_policy(f"Invalid {raw[0]}: wrong number of arguments.")
        if op == "content-length-range":
            for bound in raw[1:]:
                if isinstance(bound, bool) or not isinstance(bound, (int, str)):
                    raise invalid_policy("Invalid JSON.")
                if isinstance(bound, int) and bound < 0:
                    raise invalid_policy("Invalid content-length-range: the bounds must not be negative.")
            return Condition(op, "", raw[1], raw[2], raw=raw)
        name, operand = raw[1], raw[2]
        if not isinstance(name, str) or not isinstance(operand, str):
            raise invalid_policy("Invalid JSON.")
        return Condition(
            op, name.removeprefix("$").lower(), operand, raw=raw, has_dollar=name.startswith("$")
        )
    raise invalid_policy("Invalid condition test: must be a List or Object.")


def parse_policy(policy_b64: str) -> Policy:
    """The base64 policy document -> Policy, or 400 InvalidPolicyDocument saying what is wrong."""
    try:
        document = base64.b64decode("".join(policy_b64.split()), validate=True)
    except (binascii.Error, ValueError):
        raise invalid_policy("invalid Base64 encoding.") from None
    try:
        data = json.loads(document.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: nesting thousands deep
        raise invalid_policy("Invalid JSON.") from None
    if not isinstance(data, dict):
        raise invalid_policy("Invalid JSON.")
    for key in data:
        if key not in ("expiration", "conditions"):
            raise invalid_policy(f"Unexpected: '{key.lower()}'")
    if "expiration" not in data:
        raise invalid_policy("Policy missing expiration.")
    expiration = parse_expiration(data["expiration"])
    if "conditions" not in data:
        raise invalid_policy("Policy missing conditions.")
    if not isinstance(data["conditions"], list):
        raise invalid_policy("Invalid 'conditions' value: must be a List.")
    return Policy(expiration, tuple(parse_condition(raw) for raw in data["conditions"]))


def condition_failed(condition: Condition) -> S3Error:
    return access_denied(f"Invalid according to Policy: Policy Condition failed: {condition.shown()}")


def as_bound(value: object) -> int | None:
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def check_condition(condition: Condition, fields: dict[str, str], bucket: str, file_size: int) -> None:
    if condition.op == "content-length-range":
        low, high = as_bound(condition.operand), as_bound(condition.upper)
        if low is None or high is None:
            raise condition_failed(condition)
        if file_size < low:
            raise S3Error(
                400,
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size",
                [("ProposedSize", file_size), ("MinSizeAllowed", low)],
            )
        if file_size > high:
            raise S3Error(
                400,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
                [("ProposedSize", file_size), ("MaxSizeAllowed", high)],
            )
        return
    if not condition.has_dollar:
        raise condition_failed(condition)
    actual = bucket if condition.name == "bucket" else fields.get(condition.name)
    if actual is None:
        raise condition_failed(condition)
    expected = str(condition.operand)
    if condition.op == "eq":
        ok = actual == expected
    elif condition.name == "content-type":
        ok = all(part.strip().startswith(expected) for part in actual.split(","))
    else:
        ok = actual.startswith(expected)
    if not ok:
        raise condition_failed(condition)


def extra_fields(
    form_fields: Sequence[tuple[str, str]], conditions: Sequence[Condition], exempt: set[str]
) -> list[str]:
    """Fields no condition names (AWS: every field but file, policy, the signature, x-ignore-*, checksums)."""
    covered = {condition.name for condition in conditions if condition.name}
    extra = []
    for name, _ in form_fields:
        key = name.lower()
        if key in exempt or key.startswith(EXEMPT_PREFIXES) or key in covered or name in extra:
            continue
        extra.append(name)
    return extra


def missing_field(name: str) -> S3Error:
    return invalid_argument(
        f"Bucket POST must contain a field named '{name}'.  "
        "If it is specified, please check the order of the fields.",
        name,
        "",
    )


def verify_signature(fields: dict[str, str], policy: str, access_key: str, secret_key: str) -> set[str]:
    """Checks the policy's SigV4 or SigV2 signature; returns the signature fields exempt from coverage."""
    if any(name.lower() in fields for name in V4_FIELDS):
        for name in V4_FIELDS:
            if name.lower() not in fields:
                raise missing_field(name)
        algorithm = fields["x-amz-algorithm"]
        if algorithm != sigv4.ALGORITHM:
            raise invalid_argument(
                f'X-Amz-Algorithm only supports "{sigv4.ALGORITHM}"', "X-Amz-Algorithm", algorithm
            )
        raw_credential = fields["x-amz-credential"]
        credential = sigv4.split_credential(raw_credential)
        problem = sigv4.credential_problem(credential)
        if problem or credential is None:
            raise invalid_argument(str(problem), "X-Amz-Credential", raw_credential)
        if not sigv4.AMZ_DATE_RE.fullmatch(fields["x-amz-date"]):
            raise invalid_argument(
                "X-Amz-Date must be formated via ISO8601 Long format", "X-Amz-Date", fields["x-amz-date"]
            )
        if credential.access_key != access_key:
            raise invalid_access_key(credential.access_key)
        key = sigv4.signing_key(secret_key, credential.date, credential.region, credential.service)
        expected = sigv4.sign(key, policy)
        provided = fields["x-amz-signature"]
        if not hmac.compare_digest(expected.encode(), provided.encode("utf-8", "replace")):
            raise signature_does_not_match(credential.access_key, policy, provided)
        return {"x-amz-signature"}
    for name in V2_FIELDS:
        if name.lower() not in fields:
            raise missing_field(name)
    provided_key = fields["awsaccesskeyid"]
    if provided_key != access_key:
        raise invalid_access_key(provided_key)
    expected = sigv2.sign(secret_key, policy)
    provided = fields["signature"]
    if not hmac.compare_digest(expected.encode(), provided.encode("utf-8", "replace")):
        raise signature_does_not_match(provided_key, policy, provided)
    return {"awsaccesskeyid", "signature"}


def check_post_form(
    form: PostForm,
    bucket: str,
    access_key: str,
    secret_key: str,
    now: float,
    anonymous_passes: bool = False,
) -> None:
    """Raises the S3Error AWS would answer this POST Object with; returns when S3 would accept it.

    A form without a policy or signature is the anonymous principal's: refused here unless
    `anonymous_passes`, i.e. unless a layer inside decides whether everyone may write to the bucket (the
    access layer decides it as it decides any anonymous PutObject).
    """
    if form.malformed:
        raise S3Error(
            400,
            "MalformedPOSTRequest",
            "The body of your POST request is not well-formed multipart/form-data.",
        )
    if form.pre_file_too_large:
        raise S3Error(
            400,
            "MaxPostPreDataLengthExceeded",
            "Your POST request fields preceeding the upload file was too large.",
            [("MaxPostPreDataLengthBytes", MAX_PRE_FILE_BYTES)],
        )
    raw_fields = form.lookup()
    if "key" not in raw_fields:
        raise missing_field("key")
    if not form.has_file:
        raise invalid_argument("POST requires exactly one file upload per request.", "file", "0")
    has_signature = any(name.lower() in raw_fields for name in V4_FIELDS + V2_FIELDS)
    if "policy" not in raw_fields:
        if has_signature:
            raise missing_field("Policy")
        if not anonymous_passes:
            raise access_denied()
        check_checksums(raw_fields, form.checksums)
        return
    if not has_signature:
        raise access_denied()
    policy_text = raw_fields["policy"]
    exempt = verify_signature(raw_fields, policy_text, access_key, secret_key) | {"policy", "file"}
    policy = parse_policy(policy_text)
    if now > policy.expiration:
        raise access_denied("Invalid according to Policy: Policy expired.")
    fields = {name: expand_filename(value, form.filename) for name, value in raw_fields.items()}
    for condition in policy.conditions:
        check_condition(condition, fields, bucket, form.file_size)
    extra = extra_fields(form.fields, policy.conditions, exempt)
    if extra:
        raise access_denied(f"Invalid according to Policy: Extra input fields: {', '.join(extra)}")
    check_checksums(raw_fields, form.checksums)


def check_checksums(fields: dict[str, str], computed: dict[str, str]) -> None:
    """400 BadDigest when a checksum field does not match the file (as S3 checks x-amz-checksum-*)."""
    for name, value in computed.items():
        if fields.get(name, "").strip() != value:
            algorithm = name.removeprefix("x-amz-checksum-").upper()
            raise S3Error(
                400, "BadDigest", f"The {algorithm} you specified did not match the calculated checksum."
            )
