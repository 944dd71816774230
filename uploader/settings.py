"""The uploader's configuration: every variable it reads, with its default, checked once at start."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app
from pydantic import Field, SecretStr, field_validator

from common.names import is_valid_bucket_name
from common.settings import AwsSettings, CommaList, HttpUrlText, check_http_url
from uploader.rules import MEDIA_TYPE

DEFAULT_ALLOWED_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"]


def origin_of(url: str) -> str:
    """`http://localhost:8000/some/path` -> `http://localhost:8000` (what a browser sends as Origin)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def loopback_aliases(origin: str) -> list[str]:
    """`http://localhost:8000` -> [`http://127.0.0.1:8000`] and back: two names of one page."""
    parts = urlsplit(origin)
    other = {"localhost": "127.0.0.1", "127.0.0.1": "localhost"}.get(parts.hostname or "")
    if other is None:
        return []
    port = f":{parts.port}" if parts.port else ""
    return [f"{parts.scheme}://{other}{port}"]


class UploaderSettings(AwsSettings):
    """Where uploads go, what may be uploaded, and the addresses a browser uses to reach S3 and us."""

    s3_bucket: str = Field(
        "uploads", description="bucket for uploads and profiles; created at start if missing"
    )
    s3_public_endpoint_url: HttpUrlText = Field(
        "http://localhost:9876",
        description="S3 endpoint as the browser reaches it; presigned URLs are signed for this host",
    )
    uploader_public_url: HttpUrlText = Field(
        "http://localhost:8000", description="this service as the browser reaches it (default CORS origin)"
    )
    upload_cors_origins: CommaList = Field(
        default_factory=list,
        description="origins allowed to upload to the bucket; empty = UPLOADER_PUBLIC_URL's origin",
    )
    upload_allowed_types: CommaList = Field(default_factory=lambda: list(DEFAULT_ALLOWED_TYPES))
    upload_max_bytes: int = Field(5 * 1024 * 1024, gt=0, le=5 * 1024**3)
    upload_expires: int = Field(300, ge=1, le=604800, description="seconds a presigned upload stays valid")
    upload_display_expires: int = Field(
        3600, ge=1, le=604800, description="seconds a presigned display (GET) URL stays valid"
    )
    upload_public_read: bool = Field(False, description="upload objects public-read and display plain URLs")
    s3_bucket_check_interval: float = Field(
        30.0, ge=0, description="seconds between checks that the bucket and its CORS still exist; 0 = off"
    )
    uploader_workers: int = Field(2, ge=1, le=64, description="gunicorn worker processes")
    uploader_threads: int = Field(
        8, ge=1, le=256, description="threads per worker: a slow client holds one thread, not a worker"
    )
    uploader_access_log: str | None = Field(
        None, description="where gunicorn writes its access log (`-`: stdout); unset: no access log"
    )
    uploader_secret_key: SecretStr | None = Field(
        None,
        description="signs the session cookie; unset: a random key made at start (sessions end at a restart)",
    )
    console_enabled: bool = Field(True, description="serve the console at /console/; false: it is off (404)")
    console_read_only: bool = Field(
        False, description="the console shows everything and changes nothing: no forms, every change refused"
    )
    console_page_size: int = Field(200, ge=100, le=1000, description="entries per console page by default")
    console_count_limit: int = Field(
        5000, ge=1000, le=1_000_000, description="objects counted per bucket in the bucket list; more: >= N"
    )
    console_part_bytes: int = Field(
        8 * 1024 * 1024,
        ge=5 * 1024 * 1024,
        le=5 * 1024**3,
        description="console uploads larger than this go multipart, in parts of this size",
    )
    console_mirror_dir: str = Field(
        "./moto_export", min_length=1, description="the host mirror folder the console names object files in"
    )

    @field_validator("s3_bucket", mode="before")
    @classmethod
    def _bucket_name(cls, value: object) -> object:
        if isinstance(value, str) and not is_valid_bucket_name(value.strip()):
            raise ValueError(
                "expected an S3 bucket name: 3-63 lowercase letters, digits, dots, hyphens (no '..')"
            )
        return value.strip() if isinstance(value, str) else value

    @field_validator("uploader_access_log", mode="before")
    @classmethod
    def _blank_is_off(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("uploader_secret_key", mode="before")
    @classmethod
    def _secret_key(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, str) and len(value) < 16:
            raise ValueError("expected at least 16 characters, e.g. the output of `openssl rand -hex 32`")
        return value

    @field_validator("upload_cors_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        checked = []
        for origin in origins:
            if origin == "*":
                checked.append(origin)
                continue
            url = check_http_url(origin)
            if origin_of(url) != url:
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], no path)")
            checked.append(url)
        return checked

    @field_validator("upload_allowed_types")
    @classmethod
    def _media_types(cls, types: list[str]) -> list[str]:
        lowered = [media_type.lower() for media_type in types]
        for media_type in lowered:
            if not MEDIA_TYPE.match(media_type):
                raise ValueError(f"{media_type!r} is not a media type like image/png")
        if not lowered:
            raise ValueError("at least one media type is needed")
        return lowered

    @property
    def cors_origins(self) -> list[str]:
        """UPLOAD_CORS_ORIGINS, or this service's own origin (both loopback names when it is local)."""
        if self.upload_cors_origins:
            return self.upload_cors_origins
        origin = origin_of(self.uploader_public_url)
        return [origin, *loopback_aliases(origin)]


def get_settings() -> UploaderSettings:
    """The settings of the app handling the current request (set by create_app)."""
    return current_app.config["UPLOADER_SETTINGS"]
