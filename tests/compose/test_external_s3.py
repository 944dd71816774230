"""docker-compose.external.yml: the stack's services on an S3 the user names, with no Moto at all.

What the services then do against a real S3 engine is tested in tests/ceph (the same code, as processes,
against Ceph's radosgw); here: that Compose resolves the override as documented.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import pytest

from testkit.servers import ROOT
from tests.compose.conftest import run

pytestmark = pytest.mark.compose

EXTERNAL = {"S3_ENDPOINT_URL": "http://rgw.example:7480", "S3_ACCESS_KEY_ID": "team-key",
            "S3_SECRET_ACCESS_KEY": "team-secret"}


def config(env: dict[str, str], *args: str, check: bool = True):
    if os.environ.get("SKIP_DOCKER") == "1":
        pytest.skip("SKIP_DOCKER=1")
    if shutil.which("docker") is None:
        pytest.fail("the docker CLI is missing (SKIP_DOCKER=1 skips these tests)", pytrace=False)
    with tempfile.NamedTemporaryFile(suffix=".env") as empty:  # a user's .env must not count
        command = ["docker", "compose", "--env-file", empty.name, "-f", str(ROOT / "docker-compose.yml"),
                   "-f", str(ROOT / "docker-compose.external.yml"), "config", *args]
        return run(command, env={"PATH": os.environ["PATH"], **env}, check=check, timeout=60)


def test_moto_is_absent_and_the_services_use_the_given_s3():
    output = config({**EXTERNAL, "S3_REGION": "eu-west-1"}, "--format", "json").stdout
    services = json.loads(output)["services"]
    assert sorted(services) == ["exporter", "uploader"]
    for name in ("exporter", "uploader"):
        env = services[name]["environment"]
        assert "depends_on" not in services[name]
        assert (env["AWS_ENDPOINT_URL"], env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == (
            "http://rgw.example:7480", "team-key", "team-secret")
        assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert services["exporter"]["environment"]["REQUIRED_BUCKETS"] == ""
    assert services["uploader"]["environment"]["S3_PUBLIC_ENDPOINT_URL"] == "http://rgw.example:7480"


def test_a_separate_public_endpoint_for_browsers():
    env = {**EXTERNAL, "S3_PUBLIC_ENDPOINT_URL": "https://s3.example.org"}
    services = json.loads(config(env, "--format", "json").stdout)["services"]
    assert services["uploader"]["environment"]["S3_PUBLIC_ENDPOINT_URL"] == "https://s3.example.org"


@pytest.mark.parametrize("missing", sorted(EXTERNAL))
def test_a_missing_endpoint_or_credential_is_named(missing):
    env = {name: value for name, value in EXTERNAL.items() if name != missing}
    result = config(env, check=False)
    assert result.returncode != 0 and f"set {missing}" in result.stderr
