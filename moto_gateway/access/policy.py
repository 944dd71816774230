"""Bucket policies evaluated as IAM evaluates them: statements, principals, actions, resources, conditions.

`evaluate(document, request)` -> "Deny" (an explicit deny matched), "Allow" (an allow matched, no deny), or
None (no statement applies: the implicit deny). References: IAM User Guide, "Policy evaluation logic",
"IAM JSON policy elements: Condition operators" (a missing key makes a condition false, or true for a
negated operator; ...IfExists and Null test existence; several values of a key are ORed, NORed for a
negated operator), "Conditions with multiple context keys or values" (ForAnyValue / ForAllValues).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache

from moto_gateway.signing.keyring import Account


@dataclass(frozen=True)
class PolicyRequest:
    """What a statement is matched against; condition keys are lowercased, each with its values."""

    principal: Account | None  # None: anonymous
    action: str  # "s3:GetObject"
    resource: str
    keys: Mapping[str, Sequence[str]] = field(default_factory=dict)


class PolicyError(ValueError):
    """The document is not a policy this evaluator can read (S3 would have refused it as MalformedPolicy)."""


def load(text: str | bytes) -> dict:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise PolicyError(f"policy is not JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("Statement"), (list, dict)):
        raise PolicyError("policy has no Statement")
    return document


@lru_cache(maxsize=256)
def load_stored(raw: bytes | str) -> dict | None:
    """A bucket's stored policy, parsed once per distinct text (never mutated by the evaluator)."""
    try:
        return load(raw)
    except PolicyError:
        return None


def as_list(value: object) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


@lru_cache(maxsize=4096)
def wildcard(pattern: str, ignore_case: bool = False) -> re.Pattern:
    """IAM's `*` (any run) and `?` (one character) globbing; nothing else is special."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def principal_matches(spec: object, principal: Account | None) -> bool:
    if spec == "*":
        return True
    if not isinstance(spec, dict):
        return False
    for kind, values in spec.items():
        for value in as_list(values):
            if not isinstance(value, str):
                continue
            if kind == "AWS":
                if value == "*":
                    return True
                if principal is not None and value in (principal.account_id, principal.root_arn):
                    return True
            elif kind == "CanonicalUser" and principal is not None and value == principal.canonical_id:
                return True
    return False


def any_wildcard(patterns: object, value: str, ignore_case: bool) -> bool:
    return any(isinstance(p, str) and wildcard(p, ignore_case).fullmatch(value) for p in as_list(patterns))


# ----- conditions -------------------------------------------------------------------------------------

NEGATED = frozenset(
    {
        "StringNotEquals",
        "StringNotEqualsIgnoreCase",
        "StringNotLike",
        "NumericNotEquals",
        "DateNotEquals",
        "NotIpAddress",
        "ArnNotEquals",
        "ArnNotLike",
    }
)


def parse_number(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def parse_date(text: str) -> float | None:
    """ISO 8601 (as IAM accepts it) or epoch seconds -> epoch seconds."""
    number = parse_number(text)
    if number is not None:
        return number
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def compare(base: str, actual: str, expected: str) -> bool:
    """One request value against one policy value, for the positive form of an operator."""
    if base in ("StringEquals", "StringNotEquals"):
        return actual == expected
    if base in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return actual.casefold() == expected.casefold()
    if base in ("StringLike", "StringNotLike", "ArnLike", "ArnNotLike"):
        return bool(wildcard(expected).fullmatch(actual))
    if base in ("ArnEquals", "ArnNotEquals"):
        return bool(wildcard(expected).fullmatch(actual))
    if base.startswith("Numeric"):
        a, e = parse_number(actual), parse_number(expected)
        if a is None or e is None:
            return False
        test = base.removeprefix("Numeric").removeprefix("Not")
    elif base.startswith("Date"):
        a, e = parse_date(actual), parse_date(expected)
        if a is None or e is None:
            return False
        test = base.removeprefix("Date").removeprefix("Not")
    elif base == "Bool":
        return actual.lower() == expected.lower()
    elif base == "BinaryEquals":
        return actual == expected
    elif base in ("IpAddress", "NotIpAddress"):
        try:
            return ipaddress.ip_address(actual) in ipaddress.ip_network(expected, strict=False)
        except ValueError:
            return False
    else:
        raise PolicyError(f"unknown condition operator {base}")
    return {
        "Equals": a == e,
        "LessThan": a < e,
        "LessThanEquals": a <= e,
        "GreaterThan": a > e,
        "GreaterThanEquals": a >= e,
    }[test]


def condition_holds(operator: str, key: str, expected: object, keys: Mapping[str, Sequence[str]]) -> bool:
    qualifier = ""
    if ":" in operator:
        qualifier, _, operator = operator.partition(":")
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    expected_values = [str(v).lower() if isinstance(v, bool) else str(v) for v in as_list(expected)]
    actual = keys.get(key.lower())
    if base == "Null":
        absent = not actual
        return any((value.lower() == "true") == absent for value in expected_values)
    if not actual:
        if if_exists or qualifier == "ForAllValues":
            return True
        return base in NEGATED
    negated = base in NEGATED

    def one(value: str) -> bool:
        matched = any(compare(base, value, e) for e in expected_values)
        return not matched if negated else matched

    if qualifier == "ForAllValues":
        return all(one(value) for value in actual)
    if qualifier == "ForAnyValue":
        return any(one(value) for value in actual)
    return one(actual[0]) if len(actual) == 1 else any(one(value) for value in actual)


def conditions_hold(block: object, keys: Mapping[str, Sequence[str]]) -> bool:
    if not block:
        return True
    if not isinstance(block, dict):
        raise PolicyError("Condition must be an object")
    for operator, tests in block.items():
        if not isinstance(tests, dict):
            raise PolicyError(f"{operator} must map keys to values")
        for key, expected in tests.items():
            if not condition_holds(operator, key, expected, keys):
                return False
    return True


# ----- statements -------------------------------------------------------------------------------------


def statement_applies(statement: dict, request: PolicyRequest) -> bool:
    if "Principal" in statement:
        if not principal_matches(statement["Principal"], request.principal):
            return False
    elif "NotPrincipal" in statement:
        if principal_matches(statement["NotPrincipal"], request.principal):
            return False
    else:
        return False  # a bucket policy statement without a principal names nobody
    if "Action" in statement:
        if not any_wildcard(statement["Action"], request.action, ignore_case=True):
            return False
    elif "NotAction" in statement:
        if any_wildcard(statement["NotAction"], request.action, ignore_case=True):
            return False
    else:
        return False
    if "Resource" in statement:
        if not any_wildcard(statement["Resource"], request.resource, ignore_case=False):
            return False
    elif "NotResource" in statement:
        if any_wildcard(statement["NotResource"], request.resource, ignore_case=False):
            return False
    return conditions_hold(statement.get("Condition"), request.keys)


def evaluate(document: dict, request: PolicyRequest) -> str | None:
    """"Deny", "Allow" or None (no statement applies)."""
    verdict = None
    for statement in as_list(document.get("Statement")):
        try:
            applies = isinstance(statement, dict) and statement_applies(statement, request)
        except (PolicyError, TypeError, ValueError, AttributeError, KeyError):
            applies = False  # a statement S3 would have refused at PutBucketPolicy grants and denies nothing
        if not applies:
            continue
        if statement.get("Effect") == "Deny":
            return "Deny"
        if statement.get("Effect") == "Allow":
            verdict = "Allow"
    return verdict


def is_public(document: dict) -> bool:
    """S3's "public" test (User Guide, "The meaning of public"): an Allow statement whose principal is
    everyone ("*" or {"AWS": "*"}) and that no condition restricts to fixed values of a restricting key."""
    restricting = (
        "aws:sourceip",
        "aws:sourcearn",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceowner",
        "aws:sourceaccount",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:principalorgid",
        "aws:userid",
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
    )
    for statement in as_list(document.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        spec = statement.get("Principal")
        everyone = spec == "*" or (isinstance(spec, dict) and "*" in as_list(spec.get("AWS")))
        if "NotPrincipal" in statement:
            everyone = True
        if not everyone:
            continue
        condition = statement.get("Condition") or {}
        if not isinstance(condition, dict):
            continue
        restricted = any(
            key.lower() in restricting and not any("*" in str(v) for v in as_list(values))
            for operator, tests in condition.items()
            if isinstance(tests, dict) and not operator.startswith(("StringNot", "NotIp", "ArnNot"))
            for key, values in tests.items()
        )
        if not restricted:
            return True
    return False
