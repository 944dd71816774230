"""The pytest plugin, driven as pytest drives it: small test projects run in a child pytest with the plugin
(`-p testkit.pytest_plugin`), against real gateways."""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests

from testkit.pytest_plugin import configured_endpoint, shares_endpoint_between_workers
from testkit.servers import ROOT, MotoServer
from tests.testkit.installed import user_env


@pytest.fixture(scope="module")
def stack():
    """A gateway standing in for a running stack (MOTOSTACK_ENDPOINT)."""
    server = MotoServer()
    server.start()
    yield server
    server.stop()


def run_pytest(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """A child pytest in `project` with the plugin loaded from this checkout."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "testkit.pytest_plugin", "-p", "no:cacheprovider", "-q",
         "--rootdir", str(project), *args],
        cwd=project, env=user_env(PYTHONPATH=str(ROOT), **env), capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def write(project: Path, **files: str) -> Path:
    for name, text in files.items():
        (project / name).write_text(textwrap.dedent(text))
    return project


def test_the_endpoint_comes_from_motostack_endpoint_or_aws_endpoint_url():
    assert configured_endpoint({}) is None
    assert configured_endpoint({"AWS_ENDPOINT_URL": "http://127.0.0.1:9876/"}) == "http://127.0.0.1:9876"
    both = {"MOTOSTACK_ENDPOINT": "http://a:1", "AWS_ENDPOINT_URL": "http://b:2"}
    assert configured_endpoint(both) == "http://a:1"
    with pytest.raises(pytest.UsageError, match="MOTOSTACK_ENDPOINT"):
        configured_endpoint({"MOTOSTACK_ENDPOINT": "localhost:9876"})

def test_an_endpoint_is_shared_between_workers_unless_it_is_a_gateway_of_the_sessions_own():
    assert shares_endpoint_between_workers("http://a:1", set(), worker_count=2)
    assert shares_endpoint_between_workers("http://a:1", {"http://b:2"}, worker_count=2)
    assert not shares_endpoint_between_workers("http://b:2", {"http://b:2"}, worker_count=2)
    assert not shares_endpoint_between_workers("http://a:1", set(), worker_count=1)


def test_a_projects_own_fixtures_of_the_same_names_win(tmp_path):
    write(
        tmp_path,
        **{
            "conftest.py": """
                import pytest

                @pytest.fixture
                def s3():
                    return "the project's own s3"
            """,
            "test_own.py": """
                def test_own(s3, motostack_endpoint):
                    assert s3 == "the project's own s3"
                    assert motostack_endpoint.startswith("http://127.0.0.1:")
            """,
        },
    )
    done = run_pytest(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_the_projects_own_suite_still_passes_with_the_plugin_loaded():
    """tests/conftest.py defines `s3` and `moto`: with the plugin loaded they must stay the project's."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "testkit.pytest_plugin", "-p", "no:cacheprovider", "-q",
         "tests/moto_gateway/test_changes.py", "-k", "test_"],
        cwd=ROOT, env=user_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout


def test_a_named_endpoint_is_used_and_faults_are_removed_after_the_test(tmp_path, stack):
    stack.reset()
    outside = requests.post(f"{stack.url}/_faults", json={"bucket": "elsewhere", "latency_ms": 1}, timeout=10)
    write(
        tmp_path,
        **{
            "test_named.py": """
                import pytest
                from botocore.exceptions import ClientError

                def test_uses_the_stack(s3, motostack_endpoint, s3_faults):
                    s3.create_bucket(Bucket="made-by-child",
                                     CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
                    rule = s3_faults.add(operation="ListObjectsV2", status=500, code="InternalError")
                    assert rule["id"] in [r["id"] for r in s3_faults.rules()]
                    with pytest.raises(ClientError):
                        s3.list_objects_v2(Bucket="made-by-child")
            """
        },
    )
    done = run_pytest(tmp_path, MOTOSTACK_ENDPOINT=stack.url)
    assert done.returncode == 0, done.stdout + done.stderr
    s3 = stack_client(stack)
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["made-by-child"]
    s3.list_objects_v2(Bucket="made-by-child")  # the test's rule is gone...
    rules = requests.get(f"{stack.url}/_faults", timeout=10).json()
    assert [rule["id"] for rule in rules] == [outside.json()["id"]]  # ...and only the test's
    requests.delete(f"{stack.url}/_faults", timeout=10)


def stack_client(stack: MotoServer):
    from testkit.clients import make_test_client

    return make_test_client(stack.url)


def test_each_xdist_worker_gets_a_gateway_of_its_own(tmp_path):
    ports = tmp_path / "ports"
    ports.mkdir()
    write(
        tmp_path,
        **{
            "test_workers.py": f"""
                import os, pathlib, time
                import pytest

                @pytest.mark.parametrize("n", range(4))
                def test_records_endpoint(n, motostack_endpoint, s3):
                    s3.list_buckets()
                    worker = os.environ["PYTEST_XDIST_WORKER"]
                    pathlib.Path({str(ports)!r}, worker).write_text(motostack_endpoint)
                    time.sleep(0.2)
            """
        },
    )
    done = run_pytest(tmp_path, "-n", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    endpoints = {path.name: path.read_text() for path in ports.iterdir()}
    assert set(endpoints) == {"gw0", "gw1"}
    assert len(set(endpoints.values())) == 2


ISOLATED_TESTS = """
    import pytest

    @pytest.fixture(scope="session")
    def motostack_seed(motostack_endpoint):
        from testkit.clients import make_test_client
        s3 = make_test_client(motostack_endpoint)
        s3.create_bucket(Bucket="seed", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
        s3.put_object(Bucket="seed", Key="a", Body=b"original")

    def keys(s3):
        return sorted(b["Name"] + "/" + o["Key"] for b in s3.list_buckets()["Buckets"]
                      for o in s3.list_objects_v2(Bucket=b["Name"]).get("Contents", []))

    def test_1_changes_everything(s3_isolated):
        assert keys(s3_isolated) == ["seed/a"]
        s3_isolated.put_object(Bucket="seed", Key="a", Body=b"overwritten")
        s3_isolated.put_object(Bucket="seed", Key="b", Body=b"new")
        s3_isolated.create_bucket(Bucket="later",
                                  CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})

    def test_2_not_isolated_leaves_a_mess(s3):
        s3.delete_object(Bucket="seed", Key="a")

    def test_3_starts_from_the_seed(s3_isolated):
        assert keys(s3_isolated) == ["seed/a"]
        assert s3_isolated.get_object(Bucket="seed", Key="a")["Body"].read() == b"original"
        s3_isolated.put_object(Bucket="seed", Key="c", Body=b"left behind?")
"""


def test_isolated_tests_start_from_the_baseline_and_leave_nothing_behind(tmp_path, stack):
    stack.reset()
    write(tmp_path, **{"test_isolated.py": ISOLATED_TESTS})
    done = run_pytest(tmp_path, MOTOSTACK_ENDPOINT=stack.url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout
    s3 = stack_client(stack)
    # after the last isolated test the stack is back at the baseline (the seed), its snapshot deleted
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="seed")["Contents"]] == ["a"]
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["seed"]
    assert requests.get(f"{stack.url}/_snapshots", timeout=10).json()["snapshots"] == []


def test_isolated_refuses_to_restore_an_endpoint_that_xdist_workers_share(tmp_path, stack):
    # The seed is in place whichever test ran on this stack before (xdist may run this one first): the
    # isolated tests never reach motostack_seed, the one that does not ask for isolation needs it.
    stack.reset()
    s3 = stack_client(stack)
    s3.create_bucket(Bucket="seed", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    s3.put_object(Bucket="seed", Key="a", Body=b"original")
    write(tmp_path, **{"test_isolated.py": ISOLATED_TESTS})
    done = run_pytest(tmp_path, "-n", "2", MOTOSTACK_ENDPOINT=stack.url)
    assert done.returncode == 1
    assert "s3_isolated restores the whole endpoint" in done.stdout
    assert "1 passed" in done.stdout  # the test that does not ask for isolation


# The plugin's fixtures a test asks for by name, beside s3_isolated (s3, a plain client, changes nothing).
# motostack_env sets AWS_ENDPOINT_URL, which once made s3_isolated take a worker's own gateway for a shared
# endpoint when a test asked for motostack_env first.
ORDERED_FIXTURES = ("motostack_env", "s3_faults", "motostack_endpoint", "motostack_baseline", "s3_isolated")
ORDERS = list(itertools.permutations(ORDERED_FIXTURES))


def every_order_of_the_fixtures(seeded: bool) -> str:
    """A test module with one test per order of ORDERED_FIXTURES, each starting from the seed (when
    `seeded`) and changing S3."""
    header = textwrap.dedent(ISOLATED_TESTS.split("def test_1")[0])
    if not seeded:
        header = "import pytest\n"
    check = 'assert keys(s3_isolated) == ["seed/a"]' if seeded else "pass"
    tests = [
        f"""
        def test_order_{n}({", ".join(order)}):
            {check}
            s3_isolated.put_object(Bucket={"seed" if seeded else "anything"!r}, Key="{n}", Body=b"x")
        """
        for n, order in enumerate(ORDERS)
    ]
    return header + "".join(textwrap.dedent(test) for test in tests)


def test_isolated_works_under_xdist_with_gateways_of_their_own_whatever_the_fixture_order(tmp_path):
    write(tmp_path, **{"test_orders.py": every_order_of_the_fixtures(seeded=True)})
    done = run_pytest(tmp_path, "-n", "2")
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-5000:]
    assert f"{len(ORDERS)} passed" in done.stdout


def test_isolated_refuses_a_shared_endpoint_under_xdist_whatever_the_fixture_order(tmp_path, stack):
    write(tmp_path, **{"test_orders.py": every_order_of_the_fixtures(seeded=False)})
    done = run_pytest(tmp_path, "-n", "2", "-rE", MOTOSTACK_ENDPOINT=stack.url)
    assert done.returncode == 1
    assert f"{len(ORDERS)} errors" in done.stdout, done.stdout[-5000:]
    assert done.stdout.count("Failed: s3_isolated restores the whole") == len(ORDERS), done.stdout[-5000:]


def test_s3_events_captures_the_events_a_test_caused(tmp_path):
    """The `s3_events` fixture: the records of the events the test caused, as AWS names them, delivered to a
    receiver of the test's own and gone with it (issue 28)."""
    write(
        tmp_path,
        **{
            "test_events.py": """
                def test_events(s3, s3_events):
                    s3.create_bucket(Bucket="evented", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
                    s3.put_object(Bucket="evented", Key="k", Body=b"x")
                    s3.delete_object(Bucket="evented", Key="k")
                    records = s3_events.wait_for(2)
                    assert [r["eventName"] for r in records] == ["ObjectCreated:Put", "ObjectRemoved:Delete"]
                    assert records[0]["s3"]["bucket"]["name"] == "evented"
            """,
        },
    )
    done = run_pytest(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
