"""Builds the WSGI application the moto service serves: Moto's dispatcher, the validating layer, the router.

Layers, innermost first: Moto -> ChangeRecorder (unless GATEWAY_CHANGE_LOG_SIZE=0) -> ValidatingMiddleware
(unless GATEWAY_VALIDATION=false) -> Router, which answers the gateway's own `/_...` paths (a bucket name cannot contain '_') and passes everything else on.
Outermost, FaultInjector (faults.py) serves `/_faults` and injects the faults its rules ask for into S3 requests.
A new layer wraps `app` here; a new endpoint is one `router.add`.
"""

import uuid

from moto.server import DomainDispatcherApplication, create_backend_app

from moto_gateway import bulk
from moto_gateway.changes import ChangeLog, ChangeRecorder, changes_handler
from moto_gateway.faults import FaultInjector, FaultRules
from moto_gateway.middleware import ValidatingMiddleware
from moto_gateway.presigned import Credentials
from moto_gateway.router import Router, WsgiApp, health_handler
from moto_gateway.settings import GatewaySettings
from moto_gateway.snapshots import PREFIX as SNAPSHOTS, SnapshotStore, reset_handler, snapshots_handler


def create_app(settings: GatewaySettings) -> WsgiApp:
    app = DomainDispatcherApplication(create_backend_app)
    boot_id = uuid.uuid4().hex  # new with every Moto: tells clients (the exporter) that Moto restarted empty
    change_log = ChangeLog(settings.gateway_change_log_size, boot_id) if settings.gateway_change_log_size else None
    if change_log:
        app = ChangeRecorder(app, change_log)
    if settings.gateway_validation:
        app = ValidatingMiddleware(
            app,
            Credentials(settings.aws_access_key_id, settings.aws_secret_access_key.get_secret_value()),
            verify_header_signatures=settings.gateway_verify_header_signatures,
            spool_memory_bytes=settings.gateway_spool_memory_bytes,
        )
    router = Router(app)
    router.add(
        "/_health",
        health_handler(
            {
                "boot_id": boot_id,
                "change_feed": change_log is not None,
                "validation": settings.gateway_validation,
                "verify_header_signatures": settings.gateway_validation
                and settings.gateway_verify_header_signatures,
                "bulk": bulk.CAPABILITY,
                "snapshots": True,
            }
        ),
    )
    if change_log:
        router.add("/_changes", changes_handler(change_log))
    router.add(f"{bulk.PREFIX}/export", bulk.export_handler())
    router.add(f"{bulk.PREFIX}/import", bulk.import_handler(change_log))
    snapshots = SnapshotStore(change_log)
    router.add(SNAPSHOTS, snapshots_handler(snapshots), subpaths=True)
    router.add("/_reset", reset_handler(snapshots))
    return FaultInjector(router, FaultRules(settings.gateway_faults))
