"""A gateway with three accounts (the default pair plus alice and bob), and clients and raw requests for them."""

from __future__ import annotations

import pytest
import requests
from botocore.exceptions import ClientError
from botocore.auth import HmacV1Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from testkit.clients import REGION, make_test_client
from testkit.servers import MotoServer

ALICE = ("alice-key", "alice-secret", "111111111111")
BOB = ("bob-key", "bob-secret", "222222222222")
CREDENTIALS = ",".join(":".join(entry) for entry in (ALICE, BOB))


def start(env: dict | None = None) -> MotoServer:
    server = MotoServer(env={"GATEWAY_CREDENTIALS": CREDENTIALS, **(env or {})})
    server.start()
    return server


@pytest.fixture(scope="module")
def accounts_server():
    server = start()
    yield server
    server.stop()


@pytest.fixture
def gateway(accounts_server: MotoServer) -> MotoServer:
    accounts_server.reset()
    return accounts_server


def owner(server: MotoServer):
    """The default pair (test/test): Moto's default account, as every service of the stack uses it."""
    return make_test_client(server.url)


def alice(server: MotoServer):
    return make_test_client(server.url, key=ALICE[0], secret=ALICE[1])


def bob(server: MotoServer):
    return make_test_client(server.url, key=BOB[0], secret=BOB[1])


def new_bucket(s3, name: str, **kwargs) -> str:
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}, **kwargs)
    return name


def signed_headers(method: str, url: str, body: bytes = b"", version: str = "v4", headers: dict | None = None,
                   key: str = "test", secret: str = "test") -> dict:
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    credentials = BotoCredentials(key, secret)
    if version == "v4":
        S3SigV4Auth(credentials, "s3", REGION).add_auth(request)
    else:
        HmacV1Auth(credentials).add_auth(request)
    return dict(request.headers.items())


def send(method: str, url: str, body: bytes = b"", headers: dict | None = None) -> requests.Response:
    return requests.request(method, url, data=body, headers=headers or {}, timeout=10)


def allowed(call, *args, **kwargs) -> bool:
    """Whether the call succeeds; a refusal must be S3's 403 AccessDenied, not any other error."""
    try:
        call(*args, **kwargs)
    except ClientError as error:
        assert error.response["Error"]["Code"] == "AccessDenied", error.response
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        return False
    return True
