"""gunicorn settings for the uploader; each one can be overridden by GUNICORN_CMD_ARGS or the command line."""

import os
import sys


def positive_int(name: str, default: str) -> int:
    raw = os.environ.get(name, default)
    if not raw.strip().isdigit() or int(raw) < 1:
        print(
            f"uploader: invalid configuration: {name}={raw!r}: expected a whole number >= 1", file=sys.stderr
        )
        raise SystemExit(2)
    return int(raw)


bind = "0.0.0.0:8000"
workers = positive_int("UPLOADER_WORKERS", "2")
worker_class = "sync"
# create_app() runs once in the master: S3 is prepared once, and a failure stops gunicorn with its reason.
preload_app = True
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = os.environ.get("UPLOADER_ACCESS_LOG") or None
errorlog = "-"
log_level = os.environ.get("LOG_LEVEL", "info").strip().lower()
loglevel = log_level if log_level in ("debug", "info", "warning", "error", "critical") else "info"
# No runtime control socket: nothing here uses it, and parallel instances would share its path.
control_socket_disable = True
