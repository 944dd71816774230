"""Shared fixtures: a real Moto server on a free loopback port, clients and environment pointing at it."""

from __future__ import annotations

import pytest

from testkit.clients import CREDENTIALS, REGION, make_test_client
from testkit.servers import MotoServer


@pytest.fixture(scope="session")
def moto_server():
    """One Moto server process for the whole session; `moto` below empties it before each test."""
    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def moto(moto_server: MotoServer) -> MotoServer:
    moto_server.reset()
    return moto_server


@pytest.fixture
def aws_env(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment a service sees in the stack, pointing at the test's Moto server."""
    env = {**CREDENTIALS, "AWS_ENDPOINT_URL": moto.url, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env



@pytest.fixture
def s3(moto: MotoServer):
    """A plain boto3 client on the test's (empty) Moto server, as a user's code would make it."""
    return make_test_client(moto.url)
