"""motostack's pytest plugin (entry point `pytest11: motostack`): S3 fixtures for users' test suites.

- `motostack_endpoint`: the endpoint in MOTOSTACK_ENDPOINT (or AWS_ENDPOINT_URL), else a gateway of its own
  (`python -m moto_gateway` on a free loopback port), started once per session and per xdist worker, so
  parallel workers never share or fight over a fixed port.
- `s3`: a boto3 client bound to it; `motostack_env`: the AWS_* variables pointing at it, for code that
  builds its own clients.
- `s3_faults`: installs fault rules for one test and removes them afterwards.
- `s3_events`: the S3 event records (as AWS writes them) the test caused, delivered by the gateway to a
  receiver of the test's own (`s3_events.wait_for(2)`, `s3_events.names()`).
- `s3_isolated`: a client for a test that starts from the session's baseline snapshot (taken when the first
  such test starts, after the `motostack_seed` fixture ran) and leaves nothing behind.

A project's own conftest.py fixtures of the same names take precedence over these, as pytest's rules say.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Mapping

import pytest

from testkit.clients import REGION, make_test_client
from testkit.control import Faults, Snapshots
from testkit.events import EventCapture
from testkit.servers import MotoServer

ENDPOINT_VARIABLES = ("MOTOSTACK_ENDPOINT", "AWS_ENDPOINT_URL")
# The stack's defaults (MOTO_ACCESS_KEY_ID, MOTO_SECRET_ACCESS_KEY in .env.example); never a user's real keys.
DEFAULT_CREDENTIALS = ("test", "test")


def configured_endpoint(environ: Mapping[str, str]) -> str | None:
    """The running stack's endpoint when one is named, else None (the plugin then starts a gateway)."""
    for name in ENDPOINT_VARIABLES:
        value = environ.get(name, "").strip()
        if value:
            if not value.startswith(("http://", "https://")):
                raise pytest.UsageError(f"{name}={value!r}: expected an http:// or https:// URL")
            return value.rstrip("/")
    return None


def credentials(environ: Mapping[str, str]) -> tuple[str, str]:
    return (
        environ.get("MOTOSTACK_ACCESS_KEY_ID") or DEFAULT_CREDENTIALS[0],
        environ.get("MOTOSTACK_SECRET_ACCESS_KEY") or DEFAULT_CREDENTIALS[1],
    )


# The gateways this session started itself (each xdist worker is a session of its own): an endpoint among
# them is this worker's alone; any other (a named one, or a project's own motostack_endpoint) may be shared.
OWN_GATEWAYS = pytest.StashKey[set[str]]()


def shares_endpoint_between_workers(endpoint: str, own_gateways: set[str], worker_count: int) -> bool:
    """True when other xdist workers may use the endpoint too: it is not a gateway this session started."""
    return worker_count > 1 and endpoint not in own_gateways


def xdist_worker_count(config: pytest.Config) -> int:
    """How many xdist workers run the suite (1 without xdist), as xdist told this worker at its start."""
    return int(getattr(config, "workerinput", {}).get("workercount", 1))


@pytest.fixture(scope="session")
def motostack_endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    """The S3 endpoint URL the session's tests use."""
    named = configured_endpoint(os.environ)
    if named:
        yield named
        return
    key, secret = credentials(os.environ)
    # memory only (GATEWAY_STATE_DIR empty), whatever the shell exports: a session starts from an empty S3
    env = {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret, "GATEWAY_FAULTS": "[]"}
    env["GATEWAY_STATE_DIR"] = ""
    server = MotoServer(env=env)
    server.start()
    own = request.config.stash.setdefault(OWN_GATEWAYS, set())
    own.add(server.url)
    try:
        yield server.url
    finally:
        own.discard(server.url)
        server.stop()


@pytest.fixture
def s3(motostack_endpoint: str):
    """A boto3 S3 client on the endpoint (path-style addressing, the stack's test credentials)."""
    key, secret = credentials(os.environ)
    return make_test_client(motostack_endpoint, key=key, secret=secret)


@pytest.fixture
def motostack_env(motostack_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Points AWS_* at the endpoint for this test, so that code making its own clients uses it."""
    key, secret = credentials(os.environ)
    env = {
        "AWS_ENDPOINT_URL": motostack_endpoint,
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return env


@pytest.fixture
def s3_faults(motostack_endpoint: str) -> Iterator[Faults]:
    """`s3_faults.add(operation="PutObject", status=503, code="SlowDown", count=2)`; gone after the test."""
    faults = Faults(motostack_endpoint)
    yield faults
    faults.clear()


@pytest.fixture
def s3_events(motostack_endpoint: str) -> Iterator[EventCapture]:
    """Every S3 event (ObjectCreated:Put, ObjectRemoved:DeleteMarkerCreated, ...) the gateway sends while the
    test runs, whatever the buckets' notification configurations; `wait_for(n)` waits for n of them."""
    capture = EventCapture(motostack_endpoint)
    try:
        yield capture
    finally:
        capture.close()


@pytest.fixture(scope="session")
def motostack_seed(motostack_endpoint: str) -> None:
    """Override in your conftest.py (session scope) to create what every `s3_isolated` test starts from."""
    return None


@pytest.fixture(scope="session")
def motostack_baseline(motostack_endpoint: str, motostack_seed: None) -> Iterator[str]:
    """The name of the session's baseline snapshot, taken once the seed is in; deleted at the end."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"pytest-{worker}-{os.getpid()}-{secrets.token_hex(4)}"
    snapshots = Snapshots(motostack_endpoint)
    snapshots.save(name)
    yield name
    snapshots.delete(name)


@pytest.fixture
def s3_isolated(request: pytest.FixtureRequest, motostack_endpoint: str, s3) -> Iterator:
    """Like `s3`, but the test starts from the baseline snapshot and S3 is back to it afterwards."""
    own_gateways = request.config.stash.get(OWN_GATEWAYS, set())
    if shares_endpoint_between_workers(motostack_endpoint, own_gateways, xdist_worker_count(request.config)):
        pytest.fail(
            "s3_isolated restores the whole endpoint, which would erase what other xdist workers are doing "
            f"on the shared {motostack_endpoint}: run these tests without -n, or leave MOTOSTACK_ENDPOINT "
            "unset so that each worker gets a gateway of its own",
            pytrace=False,
        )
    baseline = request.getfixturevalue("motostack_baseline")
    snapshots = Snapshots(motostack_endpoint)
    snapshots.restore(baseline)
    yield s3
    snapshots.restore(baseline)
