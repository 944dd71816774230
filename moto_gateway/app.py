"""Builds the WSGI application the moto service serves: Moto's dispatcher, the validating layer, the router.

Layers, innermost first: Moto (with moto_patches; S3 requests straight to its S3 app, see s3_dispatch.py)
-> ChangeRecorder (unless GATEWAY_CHANGE_LOG_SIZE=0) -> BucketLocks (one request per bucket inside Moto)
-> BodyChecks (requests and XML, policy and aws-chunked bodies Moto trusts) -> ValidatingMiddleware (unless
GATEWAY_VALIDATION=false) -> InternalErrors (S3's error XML for any failure inside) -> Router, which
answers the gateway's own `/_...` paths (a bucket name cannot contain '_') and passes everything else on.
A new layer wraps `app` here; a new endpoint is one `router.add`.
"""

import uuid

from moto_gateway import moto_patches
from moto_gateway.body_checks import BodyChecks
from moto_gateway.bucket_locks import BucketLocks
from moto_gateway.changes import ChangeLog, ChangeRecorder, changes_handler
from moto_gateway.internal_errors import InternalErrors
from moto_gateway.middleware import ValidatingMiddleware
from moto_gateway.presigned import Credentials
from moto_gateway.router import Router, health_handler
from moto_gateway.s3_dispatch import S3FirstDispatcher
from moto_gateway.settings import GatewaySettings


def create_app(settings: GatewaySettings) -> Router:
    moto_patches.apply()
    app = S3FirstDispatcher()
    boot_id = uuid.uuid4().hex  # new with every Moto: tells clients (the exporter) that Moto restarted empty
    change_log = ChangeLog(settings.gateway_change_log_size, boot_id) if settings.gateway_change_log_size else None
    if change_log:
        app = ChangeRecorder(app, change_log)
    app = BucketLocks(app)
    app = BodyChecks(app, ValidatingMiddleware.refuse, settings.gateway_spool_memory_bytes)
    if settings.gateway_validation:
        app = ValidatingMiddleware(
            app,
            Credentials(settings.aws_access_key_id, settings.aws_secret_access_key.get_secret_value()),
            verify_header_signatures=settings.gateway_verify_header_signatures,
            spool_memory_bytes=settings.gateway_spool_memory_bytes,
        )
    app = InternalErrors(app, ValidatingMiddleware.refuse)
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
            }
        ),
    )
    if change_log:
        router.add("/_changes", changes_handler(change_log))
    return router
