from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from common.settings import AwsSettings, CommaList
from exporter.naming import is_valid_bucket_name


class ExporterSettings(AwsSettings):
    """The exporter's settings, all from the environment (see README: Exporter)."""

    export_dir: Path = Field(Path("./moto_export"), description="where the mirror is written")
    export_interval: float = Field(15.0, gt=0, le=86400, description="seconds between passes")
    delete_sync: bool = Field(False, description="delete local files whose objects were deleted")
    required_buckets: CommaList = Field(["test-bucket", "report-bucket"], description="created at start")
    restore_on_start: bool = Field(
        True, description="when Moto comes back empty (at start or after a restart), restore it from the mirror"
    )
    change_feed: bool = Field(
        True, description="follow the gateway's change feed (/_changes) when the endpoint has one"
    )
    feed_full_pass_interval: float = Field(
        300.0, gt=0, le=86400, description="seconds between full passes while following a change feed"
    )
    max_lag_seconds: float = Field(
        10.0, gt=0, le=86400, description="/healthz says 503 while the change feed is further behind than this"
    )
    export_concurrency: int = Field(8, ge=1, le=64, description="parallel downloads")
    bulk_transfers: bool = Field(
        True,
        description="restore and download many objects at once through the gateway's bulk API (/_bulk) "
        "when the endpoint advertises it; false: the S3 API only",
    )
    health_host: str = Field("127.0.0.1", min_length=1, description="address of /healthz and /status")
    health_port: int = Field(8081, ge=0, le=65535, description="port of /healthz and /status; 0 turns it off")

    @field_validator("required_buckets")
    @classmethod
    def _bucket_names(cls, names: list[str]) -> list[str]:
        bad = [name for name in names if not is_valid_bucket_name(name)]
        if bad:
            raise ValueError(
                f"not a valid S3 bucket name: {', '.join(bad)} (3-63 characters: a-z, 0-9, '.' and '-')"
            )
        return list(dict.fromkeys(names))
