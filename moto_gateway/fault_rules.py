"""Fault rules: which requests a rule matches, how often it fires and what it answers (pure; no Moto).

The GATEWAY_FAULTS setting parses its rules here, before Moto is imported; the `FaultInjector` layer
(server/faults.py) holds them and applies them.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from moto_gateway.wsgi.errors import S3Error
from moto_gateway.wsgi.operations import KNOWN_OPERATIONS

DEFAULT_MESSAGES = {
    "SlowDown": "Please reduce your request rate.",
    "InternalError": "We encountered an internal error. Please try again.",
    "ServiceUnavailable": "Service is unable to handle request.",
    "RequestTimeout": "Your socket connection to the server was not read from or written to within the "
    "timeout period.",
    "AccessDenied": "Access Denied",
    "NoSuchKey": "The specified key does not exist.",
    "NoSuchBucket": "The specified bucket does not exist",
}


class FaultRule(BaseModel):
    """What a user posts: which requests (all given criteria must hold), how often, and the effect."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS"] | None = None
    operation: str | None = None
    bucket: str | None = Field(None, min_length=1, max_length=255)
    prefix: str | None = Field(None, max_length=1024)
    probability: float | None = Field(None, ge=0, le=1)
    count: int | None = Field(None, ge=1, le=1_000_000)
    status: int | None = Field(None, ge=400, le=599)
    code: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9.]+$")
    message: str | None = Field(None, max_length=1024)
    latency_ms: int | None = Field(None, ge=0, le=600_000)
    drop: bool = False
    cut_body_after: int | None = Field(None, ge=0)

    @field_validator("method", mode="before")
    @classmethod
    def _upper_method(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: int | None) -> int | None:
        if value is not None and value not in {status.value for status in HTTPStatus}:
            raise ValueError(f"{value} is not an HTTP status")
        return value

    @field_validator("operation")
    @classmethod
    def _known_operation(cls, value: str | None) -> str | None:
        if value is not None and value not in KNOWN_OPERATIONS:
            raise ValueError(f"unknown S3 operation {value!r} (S3's names, e.g. GetObject, PutObject)")
        return value

    @model_validator(mode="after")
    def _one_effect(self) -> FaultRule:
        if self.probability is not None and self.count is not None:
            raise FieldError("count", "give probability or count, not both")
        if (self.status is None) != (self.code is None):
            missing = "code" if self.code is None else "status"
            raise FieldError(missing, "an S3 error needs both status and code")
        if self.message is not None and self.status is None:
            raise FieldError("message", "a message goes with an S3 error (status and code)")
        effects = [self.status is not None, self.drop, self.cut_body_after is not None]
        if sum(effects) > 1:
            second = "drop" if self.drop else "cut_body_after"
            raise FieldError(second, "give one of status, drop, cut_body_after")
        if not any(effects) and self.latency_ms is None:
            raise FieldError(
                "status", "a rule needs an effect: status and code, latency_ms, drop or cut_body_after"
            )
        return self

    def matches(self, method: str, operation: str | None, bucket: str | None, key: str) -> bool:
        return (
            (self.method is None or self.method == method)
            and (self.operation is None or self.operation == operation)
            and (self.bucket is None or self.bucket == bucket)
            and (self.prefix is None or (bool(bucket) and key.startswith(self.prefix)))
        )

    def error(self) -> S3Error | None:
        if self.status is None or self.code is None:
            return None
        message = self.message or DEFAULT_MESSAGES.get(self.code, HTTPStatus(self.status).phrase)
        return S3Error(self.status, self.code, message)

    def describe(self) -> str:
        effects = []
        if self.status is not None:
            effects.append(f"{self.status} {self.code}")
        if self.latency_ms:
            effects.append(f"+{self.latency_ms} ms")
        if self.drop:
            effects.append("dropped connection")
        if self.cut_body_after is not None:
            effects.append(f"body cut after {self.cut_body_after} bytes")
        return ", ".join(effects) or "no effect"


class FieldError(ValueError):
    """A rule error that belongs to one field (pydantic's model validators report no field of their own)."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field_name = field_name
        self.message = message


def rule_problem(exc: ValidationError) -> tuple[str, str]:
    """(field, message) of the first thing wrong with a rule, for a 400 or a config error."""
    error = exc.errors()[0]
    context_error = (error.get("ctx") or {}).get("error")
    if isinstance(context_error, FieldError):
        return context_error.field_name, context_error.message
    location = ".".join(str(part) for part in error["loc"]) or "rule"
    return location, str(error["msg"]).removeprefix("Value error, ")


def parse_rule(data: object) -> FaultRule:
    """A rule from decoded JSON; a FieldError naming the field when it is malformed."""
    if not isinstance(data, dict):
        raise FieldError("rule", "expected a JSON object")
    try:
        return FaultRule.model_validate(data)
    except ValidationError as exc:
        raise FieldError(*rule_problem(exc)) from None


@dataclass
class ActiveRule:
    """A rule as the gateway holds it: its id, how many matches it may still take, how often it fired."""

    rule: FaultRule
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    remaining: int | None = None
    injected: int = 0

    def __post_init__(self) -> None:
        if self.remaining is None:
            self.remaining = self.rule.count

    def as_json(self) -> dict:
        shown = self.rule.model_dump(exclude_none=True, exclude_defaults=True)
        return {"id": self.id, **shown, "remaining": self.remaining, "injected": self.injected}


class FaultRules:
    """The installed rules, in order; thread-safe. `pick` decides which rule (if any) a request gets."""

    def __init__(self, rules: Iterable[FaultRule] = (), chance: Callable[[], float] = random.random):
        self._rules = [ActiveRule(rule) for rule in rules]
        self._lock = threading.Lock()
        self._chance = chance

    def add(self, rule: FaultRule) -> ActiveRule:
        active = ActiveRule(rule)
        with self._lock:
            self._rules.append(active)
        return active

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            kept = [active for active in self._rules if active.id != rule_id]
            found = len(kept) != len(self._rules)
            self._rules = kept
        return found

    def clear(self) -> None:
        with self._lock:
            self._rules = []

    def __len__(self) -> int:
        return len(self._rules)

    def listing(self) -> list[dict]:
        with self._lock:
            return [active.as_json() for active in self._rules]

    def pick(self, method: str, operation: str | None, bucket: str | None, key: str) -> ActiveRule | None:
        """The first rule that matches and fires; its count goes down by one."""
        with self._lock:
            for active in self._rules:
                if active.remaining == 0 or not active.rule.matches(method, operation, bucket, key):
                    continue
                if active.rule.probability is not None and self._chance() >= active.rule.probability:
                    continue
                if active.remaining is not None:
                    active.remaining -= 1
                active.injected += 1
                return active
        return None
