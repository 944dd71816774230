"""`python -m exporter [--once]`: mirror every bucket into EXPORT_DIR, every EXPORT_INTERVAL seconds."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from common.gc_tuning import tune_garbage_collector
from common.s3 import S3Unreachable, create_bucket_if_missing, describe_error, make_s3_client, wait_for_s3
from common.settings import load_settings, setup_logging
from exporter.endpoint import limits_line, probe
from exporter.feed import GatewayClient
from exporter.settings import ExporterSettings
from exporter.loop import SyncLoop
from exporter.status import Status, serve_status
from exporter.sync import Exporter

log = logging.getLogger("exporter")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m exporter", description=__doc__)
    parser.add_argument("--once", action="store_true", help="run one pass and exit (0: success, 1: failure)")
    return parser.parse_args(argv)


def check_export_dir(settings: ExporterSettings) -> str | None:
    """Why EXPORT_DIR cannot hold the mirror, or None when it can."""
    path = settings.export_dir
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"EXPORT_DIR={str(path)!r} cannot be created: {exc.strerror}"
    if not path.is_dir():
        return f"EXPORT_DIR={str(path)!r} is not a folder"
    if not os.access(path, os.W_OK | os.X_OK):
        return f"EXPORT_DIR={str(path)!r} is not writable by uid {os.getuid()}"
    return None


def ensure_required_buckets(client, settings: ExporterSettings) -> None:
    for name in settings.required_buckets:
        if create_bucket_if_missing(client, name, settings.aws_region):
            log.info("created required bucket %s (region %s)", name, settings.aws_region)


def install_stop_handlers(stop: threading.Event, wake: threading.Event) -> None:
    def handle(signum: int, _frame: object) -> None:
        if not stop.is_set():
            log.info("received %s: finishing the current step, then stopping", signal.Signals(signum).name)
        stop.set()
        wake.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def start(client, settings: ExporterSettings, stop: threading.Event) -> bool:
    """Wait for S3 and create the required buckets; False when stopped first."""
    while not stop.is_set():
        try:
            wait_for_s3(client, settings.startup_timeout)
            ensure_required_buckets(client, settings)
            return True
        except S3Unreachable as exc:
            log.error("%s; still trying", exc)
        except Exception as exc:  # noqa: BLE001 (keep the service alive; the error is logged)
            log.error("start-up failed: %s; retrying", describe_error(exc))
            stop.wait(min(settings.export_interval, 5))
    return False


def make_exporter(settings: ExporterSettings, client, stop: threading.Event, status: Status | None = None) -> Exporter:
    """Probe what the endpoint is (say once what does not apply there when it is not Moto), then the
    exporter, with the gateway client that probed it: one client, one holder of the boot id."""
    gateway = GatewayClient(settings.aws_endpoint_url) if settings.aws_endpoint_url else None
    kind = probe(settings.aws_endpoint_url, gateway)
    line = limits_line(kind, settings.aws_endpoint_url, settings.export_interval)
    if line:
        log.info("%s", line)
    return Exporter(settings, client, stop, status, gateway=gateway, endpoint_kind=kind)


def run_once(client, settings: ExporterSettings, stop: threading.Event) -> int:
    try:
        wait_for_s3(client, settings.startup_timeout)
        ensure_required_buckets(client, settings)
    except S3Unreachable as exc:
        log.error("%s", exc)
        return 1
    except Exception as exc:  # noqa: BLE001
        log.error("cannot create the required buckets: %s", describe_error(exc))
        return 1
    exporter = make_exporter(settings, client, stop)
    try:
        stats = exporter.run_pass()
    except Exception as exc:  # noqa: BLE001
        log.error("pass failed: %s", describe_error(exc))
        return 1
    finally:
        exporter.close()
    if not stats.complete or stats.errors:
        log.error("pass finished with %d error(s)%s", stats.errors, "" if stats.complete else ", incomplete")
        return 1
    return 0


def run_loop(client, settings: ExporterSettings, stop: threading.Event, wake: threading.Event) -> int:
    status = Status(settings.export_interval, settings.max_lag_seconds)
    server = serve_status(status, settings.health_host, settings.health_port) if settings.health_port else None
    if server:
        log.info("health on http://%s:%d/healthz and /status", settings.health_host, server.server_port)
    try:
        if not start(client, settings, stop):
            return 0
        exporter = make_exporter(settings, client, stop, status)
        log.info(
            "mirroring every bucket of %s into %s (delete sync %s, restore %s)",
            settings.aws_endpoint_url or "AWS",
            settings.export_dir,
            "on" if settings.delete_sync else "off",
            ("on" if settings.restore_on_start else "off") if exporter.on_moto else "not applicable",
        )
        try:
            SyncLoop(exporter, settings, status, stop, wake).run()
        finally:
            exporter.close()
        log.info("stopped")
        return 0
    finally:
        if server:
            server.shutdown()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    tune_garbage_collector()
    settings = load_settings(ExporterSettings, "exporter")
    setup_logging(settings.log_level)
    problem = check_export_dir(settings)
    if problem:
        print(f"exporter: {problem}", file=sys.stderr)
        return 2
    stop, wake = threading.Event(), threading.Event()
    install_stop_handlers(stop, wake)
    client = make_s3_client(settings, max_pool_connections=settings.export_concurrency + 2)
    if args.once:
        return run_once(client, settings, stop)
    try:
        return run_loop(client, settings, stop, wake)
    except OSError as exc:
        print(f"exporter: cannot serve health on {settings.health_host}:{settings.health_port}: {exc.strerror}",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
