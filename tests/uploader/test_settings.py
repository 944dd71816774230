"""UploaderSettings: documented defaults, and one clear line (exit 2) for every bad variable."""

import pytest

from common.settings import load_settings
from uploader.settings import UploaderSettings

UPLOADER_VARIABLES = [
    "S3_BUCKET",
    "S3_PUBLIC_ENDPOINT_URL",
    "UPLOADER_PUBLIC_URL",
    "UPLOAD_CORS_ORIGINS",
    "UPLOAD_ALLOWED_TYPES",
    "UPLOAD_MAX_BYTES",
    "UPLOAD_EXPIRES",
    "UPLOAD_DISPLAY_EXPIRES",
    "UPLOAD_PUBLIC_READ",
    "UPLOADER_WORKERS",
    "UPLOADER_THREADS",
    "UPLOADER_ACCESS_LOG",
    "UPLOADER_SECRET_KEY",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in UPLOADER_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_defaults_match_the_docs():
    settings = UploaderSettings()
    assert settings.s3_bucket == "uploads"
    assert settings.s3_public_endpoint_url == "http://localhost:9876"
    assert settings.uploader_public_url == "http://localhost:8000"
    assert settings.cors_origins == ["http://localhost:8000", "http://127.0.0.1:8000"]
    assert settings.upload_allowed_types == ["image/png", "image/jpeg", "image/gif", "image/webp"]
    assert settings.upload_max_bytes == 5 * 1024 * 1024
    assert settings.upload_expires == 300
    assert settings.upload_display_expires == 3600
    assert settings.upload_public_read is False
    assert settings.s3_bucket_check_interval == 30
    assert (settings.uploader_workers, settings.uploader_threads) == (2, 8)
    assert settings.uploader_access_log is None and settings.uploader_secret_key is None


def test_a_short_secret_key_is_refused_without_showing_it(monkeypatch, capsys):
    monkeypatch.setenv("UPLOADER_SECRET_KEY", "hunter2")
    with pytest.raises(SystemExit) as exited:
        load_settings(UploaderSettings, "uploader")
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(
        "uploader: invalid configuration: UPLOADER_SECRET_KEY: expected at least 16 characters"
    )
    assert "hunter2" not in err


def test_values_from_the_environment(monkeypatch):
    monkeypatch.setenv("UPLOADER_PUBLIC_URL", "https://up.example:8443/")
    monkeypatch.setenv("UPLOAD_ALLOWED_TYPES", "image/PNG, application/pdf,")
    monkeypatch.setenv("UPLOAD_PUBLIC_READ", "true")
    monkeypatch.setenv("S3_PUBLIC_ENDPOINT_URL", "http://127.0.0.1:9999/")
    settings = UploaderSettings()
    assert settings.cors_origins == ["https://up.example:8443"]
    assert settings.upload_allowed_types == ["image/png", "application/pdf"]
    assert settings.upload_public_read is True
    assert settings.s3_public_endpoint_url == "http://127.0.0.1:9999"
    monkeypatch.setenv("UPLOAD_CORS_ORIGINS", "http://a.example, http://b.example:81")
    assert UploaderSettings().cors_origins == ["http://a.example", "http://b.example:81"]


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("UPLOAD_MAX_BYTES", "abc", "valid integer"),
        ("UPLOAD_MAX_BYTES", "0", "greater than 0"),
        ("UPLOAD_EXPIRES", "0", "greater than or equal to 1"),
        ("UPLOAD_EXPIRES", "999999999", "less than or equal to 604800"),
        ("UPLOAD_ALLOWED_TYPES", "png", "'png' is not a media type"),
        ("UPLOAD_ALLOWED_TYPES", " , ", "at least one media type"),
        ("UPLOAD_CORS_ORIGINS", "http://a.example/path", "is not an origin"),
        ("UPLOAD_CORS_ORIGINS", "a.example", "'a.example' is not an http(s) URL"),
        ("UPLOAD_CORS_ORIGINS", "ftp://a.example", "URL scheme should be 'http' or 'https'"),
        ("S3_PUBLIC_ENDPOINT_URL", "localhost:9876", "URL scheme should be 'http' or 'https'"),
        ("UPLOADER_PUBLIC_URL", "ftp://x", "URL scheme should be 'http' or 'https'"),
        ("S3_BUCKET", "Bad_Bucket", "S3 bucket name"),
        ("S3_BUCKET", "a..b", "S3 bucket name"),
        ("S3_BUCKET", "192.168.0.1", "S3 bucket name"),
        ("UPLOADER_WORKERS", "0", "greater than or equal to 1"),
        ("UPLOADER_THREADS", "many", "valid integer"),
        ("UPLOAD_PUBLIC_READ", "maybe", "valid boolean"),
        ("S3_BUCKET_CHECK_INTERVAL", "-1", "greater than or equal to 0"),
    ],
)
def test_a_bad_variable_is_one_line_naming_it_and_exit_2(monkeypatch, capsys, name, value, words):
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        load_settings(UploaderSettings, "uploader")
    assert exited.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"uploader: invalid configuration: {name}=")
    assert words in lines[0]


def test_star_is_allowed_only_when_configured(monkeypatch):
    assert "*" not in UploaderSettings().cors_origins
    monkeypatch.setenv("UPLOAD_CORS_ORIGINS", "*")
    assert UploaderSettings().cors_origins == ["*"]
