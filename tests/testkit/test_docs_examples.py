"""docs/testing.md's "Examples to copy" run as written: its conftest.py and tests, in a project of their
own, under the plugin with a gateway of its own (so its first example's bucket must suit the s3 client's
region, as on AWS)."""

from __future__ import annotations

import re

from testkit.servers import ROOT
from tests.testkit.test_plugin import run_pytest

PAGE = ROOT / "docs" / "testing.md"


def python_block_after(text: str, label: str) -> str:
    """The first ```python block after the line `label`."""
    found = re.search(re.escape(label) + r"\s*\n+```python\n(.*?)\n```", text, re.DOTALL)
    assert found, f"docs/testing.md has no python block after {label!r}"
    return found.group(1) + "\n"


def test_the_examples_to_copy_pass_as_written(tmp_path):
    text = PAGE.read_text()
    (tmp_path / "conftest.py").write_text(python_block_after(text, "`conftest.py`:"))
    (tmp_path / "test_example.py").write_text(python_block_after(text, "Tests:"))
    done = run_pytest(tmp_path)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-5000:]
    assert "6 passed" in done.stdout
