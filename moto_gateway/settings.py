import json
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from common.settings import AwsSettings
from moto_gateway.fault_rules import FaultRule, FieldError, parse_rule
from moto_gateway.signing.credentials import parse_credentials


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
        description="request bodies (the server's buffer, the gateway's copy) stay in memory up to this size, "
        "then go to disk",
    )
    gateway_change_log_size: int = Field(
        10_000, ge=0, le=10_000_000, description="events the change feed (/_changes) holds; 0 turns the feed off"
    )
    gateway_lifecycle_day_seconds: float = Field(
        86400,
        gt=0,
        le=86400,
        description="length of a lifecycle day in seconds: rules act after their days of this length, rounded "
        "up to the next multiple (86400: S3's days and midnights UTC; a test may set 2)",
    )
    gateway_threads: int = Field(
        16,
        ge=1,
        le=256,
        description="worker threads; each request, and each waiting /_changes poll, holds one",
    )
    gateway_max_waiting_polls: int = Field(
        4,
        ge=1,
        le=256,
        description="/_changes long polls that may wait at once (fewer than GATEWAY_THREADS); one more: 503",
    )
    gateway_connection_limit: int = Field(
        256, ge=1, description="open client connections at most; more wait in the listen backlog"
    )
    gateway_idle_timeout_seconds: int = Field(
        60,
        ge=1,
        description="a connection that sends nothing for this long (idle or stalled mid-request) is closed",
    )
    gateway_max_header_bytes: int = Field(
        64 * 1024,
        ge=8 * 1024,
        description="request line plus headers at most; beyond, 400 RequestHeaderSectionTooLarge and the connection closes",
    )
    gateway_max_body_bytes: int = Field(
        5 * 1024**3,
        ge=1,
        description="request body at most (S3's single PUT, 5 GiB); beyond, 400 EntityTooLarge before the body is read",
    )
    gateway_credentials: SecretStr | None = Field(
        None,
        description="more credentials, key:secret:account,... (12-digit account ids); the AWS_* pair is "
        "always known and belongs to Moto's default account 123456789012",
    )
    gateway_access: Literal["s3", "moto"] = Field(
        "s3",
        description="s3: who may do what is decided as S3 decides it (ACLs, bucket policies, anonymous "
        "requests); moto: Moto's permissive behaviour (every request acts as its account's owner)",
    )
    gateway_allow_anonymous: bool = Field(
        False, description="true: unsigned requests reach Moto as they do on plain Moto (no access decision)"
    )

    @field_validator("gateway_credentials")
    @classmethod
    def _credentials_parse(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_credentials(value.get_secret_value())
        return value

    @field_validator("gateway_access", mode="before")
    @classmethod
    def _lower_access(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    gateway_state_dir: str | None = Field(
        None,
        description="folder where S3's state is kept across restarts and crashes (buckets, objects, "
        "versions, uploads, snapshots, the feed's position); empty: memory only",
    )
    gateway_fsync: Literal["always", "batch", "off"] = Field(
        "always",
        description="always: a write is answered after its fsync; batch: fsynced at most every "
        "GATEWAY_FSYNC_BATCH_MS (a power loss may lose that window, a crash of the process nothing); off: "
        "never fsynced (left to the OS)",
    )
    gateway_fsync_batch_ms: int = Field(50, ge=1, le=60_000, description="the fsync interval of GATEWAY_FSYNC=batch")

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
