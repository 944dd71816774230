"""Settings helpers: env parsing the same way in every service, and config errors as one clear line."""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AliasChoices,
    BeforeValidator,
    Field,
    HttpUrl,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def split_commas(value: object) -> object:
    """`a, b,,c` -> ["a", "b", "c"]; an empty string means an empty list."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def url_text(url: HttpUrl) -> str:
    """An http(s) URL as the text clients are given: without the `/` pydantic adds after a bare host."""
    return str(url).rstrip("/")


def blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


CommaList = Annotated[list[str], NoDecode, BeforeValidator(split_commas)]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
HttpUrlText = Annotated[HttpUrl, AfterValidator(url_text)]
"""An http:// or https:// URL (pydantic's check), kept as text without a trailing slash."""
HTTP_URL = TypeAdapter(HttpUrlText)


def check_http_url(value: str) -> str:
    """`value` as HttpUrlText, or ValueError with pydantic's reason (for validators of list items)."""
    try:
        return HTTP_URL.validate_python(value.strip())
    except ValidationError as exc:
        raise ValueError(f"{value!r} is not an http(s) URL: {exc.errors()[0]['msg']}") from None


class AwsSettings(BaseSettings):
    """What every service needs to talk to S3; services subclass it with their own variables."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    aws_endpoint_url: Annotated[HttpUrlText | None, BeforeValidator(blank_is_none)] = Field(
        None, description="S3 endpoint, e.g. http://moto:5000; unset means real AWS"
    )
    aws_region: str = Field(
        "ap-northeast-1",
        min_length=1,
        validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"),
    )
    aws_access_key_id: str = Field("test", min_length=1)
    aws_secret_access_key: SecretStr = Field(SecretStr("test"))
    startup_timeout: float = Field(
        60.0, gt=0, description="seconds to keep retrying the first connection while S3 starts"
    )
    log_level: LogLevel = "INFO"

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value


def env_name(cls: type[BaseSettings], field_name: str) -> str:
    """The environment variable (or variables) a settings field is read from."""
    field = cls.model_fields.get(field_name)
    if field is None:
        return field_name.upper()
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return " / ".join(str(choice).upper() for choice in alias.choices)
    if isinstance(alias, str):
        return alias.upper()
    return (cls.model_config.get("env_prefix", "") + field_name).upper()


def describe_errors(cls: type[BaseSettings], exc: ValidationError) -> list[str]:
    """One line per bad variable: its name, the value given (unless secret) and what is expected."""
    lines = []
    for error in exc.errors():
        field_name = str(error["loc"][0]) if error["loc"] else ""
        name = env_name(cls, field_name)
        field = cls.model_fields.get(field_name)
        secret = field is not None and "Secret" in str(field.annotation)
        given = os.environ.get(name.split(" / ")[0])
        shown = "" if given is None or secret else f"={given!r}"
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"invalid configuration: {name}{shown}: {message}")
    return lines


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S], prog: str) -> S:
    """Build settings from the environment, or print what is wrong and exit with code 2."""
    try:
        return cls()
    except ValidationError as exc:
        for line in describe_errors(cls, exc):
            print(f"{prog}: {line}", file=sys.stderr)
        raise SystemExit(2) from None


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
        stream=sys.stderr,
        force=True,
    )
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
