"""The one place that builds boto3 S3 clients, knows which errors are worth a retry, and waits for S3."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)
from urllib3.exceptions import ProtocolError

from common.settings import AwsSettings

log = logging.getLogger(__name__)

TRANSIENT_CODES = frozenset(
    {"InternalError", "ServiceUnavailable", "SlowDown", "Throttling", "ThrottlingException", "RequestTimeout"}
)
CONNECTION_ERRORS = (
    EndpointConnectionError,
    ConnectionClosedError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ResponseStreamingError,
    ProtocolError,
    ConnectionError,
)


class S3Unreachable(RuntimeError):
    """S3 did not answer within the start-up timeout."""


def make_s3_client(
    settings: AwsSettings,
    *,
    endpoint_url: str | None = None,
    max_pool_connections: int = 10,
) -> Any:
    """A path-style, SigV4 S3 client; `endpoint_url` overrides the settings' (e.g. a public endpoint)."""
    config = Config(
        region_name=settings.aws_region,
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        retries={"mode": "standard", "max_attempts": 3},
        max_pool_connections=max_pool_connections,
        connect_timeout=5,
        read_timeout=60,
    )
    session = boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=endpoint_url or settings.aws_endpoint_url,
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=settings.aws_secret_access_key.get_secret_value(),
        region_name=settings.aws_region,
        config=config,
    )


def is_transient(exc: BaseException) -> bool:
    """Connection trouble, timeouts, 5xx and throttling: the same call may well succeed later."""
    if isinstance(exc, CONNECTION_ERRORS):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return status >= 500 or error_code(exc) in TRANSIENT_CODES
    return False


T = TypeVar("T")


def call_with_retries(fn: Callable[[], T], *, attempts: int = 4) -> T:
    """Run `fn`, retrying transient S3 errors with jittered exponential backoff; other errors pass through."""
    retrying = Retrying(
        retry=retry_if_exception(is_transient),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential_jitter(multiplier=0.2, max=5),
        reraise=True,
    )
    return retrying(fn)


def describe_error(exc: BaseException) -> str:
    """A short, one-line description of an S3 or connection error, for logs and error messages."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
        return f"{error.get('Code', 'Error')} ({status}): {error.get('Message', '')}".rstrip(": ")
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def wait_for_s3(client: Any, timeout: float) -> None:
    """Retry a cheap call (ListBuckets) with backoff until S3 answers, or raise S3Unreachable."""
    endpoint = client.meta.endpoint_url
    retrying = Retrying(
        retry=retry_if_exception(is_transient),
        stop=stop_after_delay(timeout),
        wait=wait_exponential_jitter(multiplier=0.2, max=3),
        before_sleep=lambda state: log.info(
            "waiting for S3 at %s (%s)", endpoint, describe_error(state.outcome.exception())
        ),
    )
    try:
        retrying(client.list_buckets)
    except RetryError as exc:
        cause = exc.last_attempt.exception()
        raise S3Unreachable(
            f"cannot reach S3 at {endpoint} within {timeout:g} s: {describe_error(cause)}"
        ) from None


def error_code(exc: ClientError) -> str | None:
    """The S3 error code of a failed call (`NoSuchKey`, `404`, `PreconditionFailed`...), or None."""
    return exc.response.get("Error", {}).get("Code")


def is_not_found(exc: ClientError) -> bool:
    """A missing bucket or object: HEAD answers a bare 404, GET and the rest name the error."""
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status == 404 or error_code(exc) in ("404", "NoSuchKey", "NoSuchBucket", "NotFound")


def create_bucket_if_missing(client: Any, name: str, region: str) -> bool:
    """Create `name` unless it exists; True when created. us-east-1 takes no LocationConstraint."""
    try:
        call_with_retries(lambda: client.head_bucket(Bucket=name))
        return False
    except ClientError as exc:
        if not is_not_found(exc):
            raise
    kwargs: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        call_with_retries(lambda: client.create_bucket(**kwargs))
    except ClientError as exc:
        if error_code(exc) in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            return False
        raise
    return True
