"""`python -m moto_gateway` binds its port before Moto is imported (moto_gateway/__main__.py's promise): what
runs before the bind (the module's own imports and the settings) must not pull Moto in."""

import subprocess
import sys

from testkit.servers import ROOT

PRE_BIND = """
import sys
import moto_gateway.__main__
from common.settings import load_settings
from moto_gateway.settings import GatewaySettings
load_settings(GatewaySettings, "moto_gateway")
loaded = sorted(name for name in sys.modules if name == "moto" or name.startswith("moto."))
print(",".join(loaded))
"""


def test_moto_is_not_imported_before_the_port_is_bound():
    done = subprocess.run(
        [sys.executable, "-c", PRE_BIND],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "GATEWAY_CREDENTIALS": "KEY2:secret2:210987654321"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"imported before the bind: {done.stdout.strip()}"


def test_the_check_sees_moto_when_it_is_imported():
    """The same probe after the post-bind import finds Moto: the check above can fail."""
    after_bind = "import moto_gateway.app\nloaded = [name for name in sys.modules if name == 'moto']\nprint("
    probe = PRE_BIND.replace("print(", after_bind)
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "moto"
