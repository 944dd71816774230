import json
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from common.settings import AwsSettings
from moto_gateway.faults import FaultRule, FieldError, parse_rule


class GatewaySettings(AwsSettings):
    """The moto service's settings; the AWS_* credentials are the ones presigned requests are checked with."""

    gateway_host: str = Field(
        "127.0.0.1", min_length=1, description="address to listen on (0.0.0.0 in a container)"
    )
    gateway_port: int = Field(5000, ge=1, le=65535)
    gateway_validation: bool = Field(
        True, description="check presigned URLs and POST policies as S3 does; false serves plain Moto"
    )
    gateway_verify_header_signatures: bool = Field(
        False, description="also verify the Authorization header of ordinary signed requests"
    )
    gateway_spool_memory_bytes: int = Field(
        8 * 1024 * 1024,
        ge=0,
        description="request bodies the gateway reads are kept in memory up to this size, then on disk",
    )
    gateway_change_log_size: int = Field(
        10_000, ge=0, le=10_000_000, description="events the change feed (/_changes) holds; 0 turns the feed off"
    )
    gateway_faults: Annotated[list[FaultRule], NoDecode] = Field(
        [], description="fault rules (a JSON list, see docs/testing.md) installed at start"
    )

    @field_validator("gateway_faults", mode="before")
    @classmethod
    def _fault_rules(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else []
            except json.JSONDecodeError as exc:
                raise ValueError(f"not JSON: {exc}") from None
        if not isinstance(value, list):
            raise ValueError("expected a JSON list of fault rules")
        rules = []
        for index, item in enumerate(value):
            try:
                rules.append(item if isinstance(item, FaultRule) else parse_rule(item))
            except FieldError as exc:
                raise ValueError(f"rule {index}: {exc.field_name}: {exc.message}") from None
        return rules
