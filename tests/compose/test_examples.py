"""The examples/ project against the running stack (MOTOSTACK_ENDPOINT), as a user points their suite at
`make up`: the plugin installed with pip, the fault tests under pytest-xdist (-n 2), the tests that
restore snapshots of the whole endpoint on their own (workers sharing one endpoint cannot)."""

from __future__ import annotations

import re

import pytest

from tests.compose.conftest import Stack
from tests.testkit.installed import install_motostack, run_examples, user_env


@pytest.fixture(scope="module")
def installed_python(tmp_path_factory: pytest.TempPathFactory):
    return install_motostack(tmp_path_factory.mktemp("installed"))


def test_the_examples_pass_against_the_stack_under_xdist(stack: Stack, installed_python):
    env = user_env(MOTOSTACK_ENDPOINT=stack.moto_url)
    parallel = run_examples(installed_python, "-n", "2", "-k", "not isolated", env=env)
    assert parallel.returncode == 0, (parallel.stdout + parallel.stderr)[-6000:]
    assert "created: 2/2 workers" in parallel.stdout and re.search(r"\b4 passed\b", parallel.stdout)
    isolated = run_examples(installed_python, "-k", "isolated", env=env)
    assert isolated.returncode == 0, (isolated.stdout + isolated.stderr)[-6000:]
    assert re.search(r"\b3 passed\b", isolated.stdout)
    # the examples clean up after themselves: no bucket of theirs is left in the stack
    names = [bucket["Name"] for bucket in stack.s3().list_buckets()["Buckets"]]
    assert not [name for name in names if name.startswith("photos-") or name in ("catalogue", "scratch")]
