import pytest
from pydantic import Field, SecretStr

from common.settings import AwsSettings, CommaList, load_settings


class ExampleSettings(AwsSettings):
    names: CommaList = ["a", "b"]
    interval: float = 15


def test_defaults_target_moto(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(ExampleSettings, "prog")
    assert settings.aws_endpoint_url is None
    assert settings.aws_region == "ap-northeast-1"
    assert settings.aws_access_key_id == "test"
    assert settings.aws_secret_access_key.get_secret_value() == "test"
    assert settings.startup_timeout == 60


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("x,y", ["x", "y"]), (" x , y ,", ["x", "y"]), ("", []), ("single", ["single"])],
)
def test_comma_list_is_not_json(monkeypatch, raw, expected):
    monkeypatch.setenv("NAMES", raw)
    assert load_settings(ExampleSettings, "prog").names == expected


def test_region_falls_back_to_aws_default_region(monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert load_settings(ExampleSettings, "prog").aws_region == "eu-west-1"


def test_an_endpoint_is_kept_as_text_without_a_trailing_slash(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", " http://moto:5000/ ")
    assert load_settings(ExampleSettings, "prog").aws_endpoint_url == "http://moto:5000"


def test_empty_endpoint_means_real_aws(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "")
    assert load_settings(ExampleSettings, "prog").aws_endpoint_url is None


@pytest.mark.parametrize(
    ("name", "value", "expected_words"),
    [
        ("INTERVAL", "soon", "INTERVAL='soon'"),
        ("AWS_ENDPOINT_URL", "moto:5000", "URL scheme should be 'http' or 'https'"),
        ("AWS_ENDPOINT_URL", "http://", "valid URL"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL='loud'"),
        ("STARTUP_TIMEOUT", "-1", "greater than 0"),
    ],
)
def test_bad_value_exits_2_with_one_line_naming_the_variable(monkeypatch, capsys, name, value, expected_words):
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exit_info:
        load_settings(ExampleSettings, "prog")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"prog: invalid configuration: {name}")
    assert expected_words in err
    assert "Traceback" not in err


def test_secret_value_is_never_echoed(monkeypatch, capsys):
    class WithSecret(AwsSettings):
        api_token: SecretStr = Field(SecretStr("long enough"), min_length=10)

    monkeypatch.setenv("API_TOKEN", "short")
    with pytest.raises(SystemExit):
        load_settings(WithSecret, "prog")
    err = capsys.readouterr().err
    assert "API_TOKEN" in err and "short" not in err
