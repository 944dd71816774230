"""The examples/ project, as its developers run it: motostack installed with pip, the plugin found through
its pytest11 entry point (no -p, no PYTHONPATH), the tests under pytest-xdist with a gateway per worker."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.testkit.installed import install_motostack, run_examples, user_env


@pytest.fixture(scope="module")
def installed_python(tmp_path_factory: pytest.TempPathFactory):
    return install_motostack(tmp_path_factory.mktemp("installed"))


def test_the_distribution_declares_its_packages_and_the_pytest11_entry_point(installed_python):
    probe = subprocess.run(
        [str(installed_python), "-c",
         "import importlib.metadata as m, testkit.pytest_plugin as p, moto_gateway, common; "
         "print(p.__file__); "
         "print([e.value for e in m.entry_points(group='pytest11') if e.name == 'motostack'])"],
        cwd="/", env=user_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    plugin_file, entry_points = probe.stdout.splitlines()
    assert "site-packages" in plugin_file
    assert entry_points == "['testkit.pytest_plugin']"


def test_the_examples_pass_under_xdist_with_a_gateway_per_worker(installed_python):
    done = run_examples(installed_python, "-n", "2")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert "plugins: motostack-0.1.0" in output and "created: 2/2 workers" in output
    assert re.search(r"\b7 passed\b", output), output[-3000:]
