"""Builds the WSGI application the moto service serves: Moto's dispatcher, the gateway's layers, the router.

Layers, innermost first, and why in this order:
- Moto, with the corrections in `moto_patches` (and, under GATEWAY_ACCESS=s3, the two that let the access
  layer's decision stand); S3 requests go straight to Moto's S3 application, built once (s3_dispatch.py);
- ListingLayer: ListObjects and ListObjectsV2 answered from Moto's keys as S3 answers them, without Moto's
  serializer (listing.py); inside the locks, so it reads a bucket no request is changing;
- PlainObjects: plain GetObject, HeadObject, PutObject (objects up to the streaming threshold) and
  DeleteObject of an unversioned bucket, answered from Moto's backend with Moto's own calls and exactly
  the status, headers and body Moto's route gives, without Moto's Flask route (plain_objects.py); any
  other header, parameter or bucket setting goes to Moto; inside the locks and the recorder, like
  ListingLayer, so the feed records its puts and deletes as Moto's;
- ChangeRecorder (unless GATEWAY_CHANGE_LOG_SIZE=0): records only what Moto really stored;
- DurableCapture (with GATEWAY_STATE_DIR): queues what a successful mutating request changed for the state
  folder, inside the locks so a bucket's changes are queued in the order Moto made them (state/durable/);
- BucketLocks: one request per bucket inside Moto, whose S3 models are not safe under concurrent requests
  (bucket_locks.py); outside the recorder, so the feed's order is the order Moto applied the changes;
- StreamedBodies: a PutObject or UploadPart body over 1 MiB (or GATEWAY_SPOOL_MEMORY_BYTES) is copied into
  the key's own spool and handed to Moto as such, never as bytes; copies and multipart completions go
  key to key in chunks (streamed_bodies.py); a GetObject of such an object answers a stream read from the
  key's shared buffer (streamed_reads.py); outside the lock, so reading or sending a body does not hold up
  the bucket; inside BodyChecks, which checks aws-chunked framing before it is decoded;
- BodyChecks (always, even with GATEWAY_VALIDATION=false): XML, policy and aws-chunked bodies Moto would
  turn into a 500, refused as S3 refuses them, right before Moto reads them;
- ConformanceLayer: S3's answers where Moto's differ (listings, NoSuchUpload, conditional completes,
  checksums, CORS preflights), given to requests the principal is allowed to make;
- AccessLayer: who may do what (ACLs, bucket policies, anonymous; GATEWAY_ACCESS). It sits inside the
  signature checks, since it trusts the principal they proved, and outside everything that looks at what
  a request says: S3 refuses a principal that may not act with AccessDenied before judging its body;
- ValidatingMiddleware: authentication (presigned URLs, header signatures, POST policies). A checked POST
  Object leaves it as the PutObject S3 authorises it as (post_object.py), so every layer inside (access,
  checksums, change feed) treats a browser upload exactly as a PUT of the same key by the same principal;
- AuthenticationFormLayer: malformed Authorization, Date, Content-Length and Content-MD5 refused as S3 does
  in every mode, before any signature is computed or body read
  (these four only when GATEWAY_VALIDATION is on);
- RequestChecks (always): requests S3 refuses whoever sends them and whatever their body (a method S3
  does not serve, a POST naming no operation, a malformed header, a PUT over 5 GiB), refused before any
  layer reads a body or decides access, as S3 routes a request before it authenticates it;
- InternalErrors: S3's error XML for any failure of any layer inside;
- DurableGate (with GATEWAY_STATE_DIR): 503 until the state folder is loaded, and a mutating request's
  answer held until what it changed is committed (503 SlowDown if it could not be, the change undone);
  outside every lock, so a request waits for the disk without holding up its bucket;
- Router, which answers the gateway's own `/_...` paths (a bucket name cannot contain '_') and passes
  everything else on;
- FaultInjector: serves `/_faults` and injects the faults its rules ask for into S3 requests
  (faults.py), so an injected failure looks to the client exactly like one from S3;
- CorsAnswers, outermost (GATEWAY_ACCESS=s3): an S3 request with an `Origin` gets the CORS headers its
  bucket's rules give, whoever answered it (cors_answers.py); otherwise Moto's allow-all stays.
A new layer wraps `app` here; a new endpoint is one `router.add`.
"""

import uuid

from moto_gateway import bulk, moto_patches, streamed_bodies
from moto_gateway.access.layer import AccessLayer, AuthenticationFormLayer
from moto_gateway.access.principals import Keyring, parse_credentials
from moto_gateway.body_checks import BodyChecks, RequestChecks
from moto_gateway.bucket_locks import BucketLocks
from moto_gateway.changes import ChangeLog, ChangeRecorder, changes_handler
from moto_gateway.conformance.layer import ConformanceLayer
from moto_gateway.cors_answers import CorsAnswers
from moto_gateway.faults import FaultInjector, FaultRules
from moto_gateway.internal_errors import InternalErrors
from moto_gateway.listing import ListingLayer
from moto_gateway.middleware import ValidatingMiddleware
from moto_gateway.plain_objects import PlainObjects
from moto_gateway.moto_patches import bucket_permission, object_acl_default
from moto_gateway.router import Router, WsgiApp, health_handler
from moto_gateway.s3_dispatch import S3FirstDispatcher
from moto_gateway.settings import GatewaySettings
from moto_gateway.snapshots import PREFIX as SNAPSHOTS, reset_handler, snapshots_handler
from moto_gateway.state import durable
from moto_gateway.state.durable.layer import (
    DurableCapture,
    DurableGate,
    DurableSnapshots,
    Durability,
    after_import,
    snapshot_file_routes,
    start_loading,
)
from moto_gateway.streamed_bodies import StreamedBodies


def create_app(settings: GatewaySettings) -> WsgiApp:
    moto_patches.apply()
    streaming_threshold = min(settings.gateway_spool_memory_bytes, streamed_bodies.STREAM_ABOVE_BYTES)
    app = PlainObjects(ListingLayer(S3FirstDispatcher()), streaming_threshold)
    store = None
    if settings.gateway_state_dir:
        fsync, batch_ms = settings.gateway_fsync, settings.gateway_fsync_batch_ms
        store = durable.open_state(settings.gateway_state_dir, fsync, batch_ms)
    # new with every Moto that starts empty: tells clients (the exporter) Moto restarted without its state
    boot_id = store.boot_id if store else uuid.uuid4().hex
    change_log = ChangeLog(settings.gateway_change_log_size, boot_id) if settings.gateway_change_log_size else None
    if change_log and store:
        change_log._last_seq = store.last_seq  # the feed goes on where the state folder's changes stopped
    if change_log:
        app = ChangeRecorder(app, change_log)
    durability = Durability(store, change_log) if store else None
    durable.activate(durability)
    if durability:
        app = DurableCapture(app, durability)
    app = locks = BucketLocks(app)
    streamed_bodies.apply()
    app = StreamedBodies(app, settings.gateway_spool_memory_bytes)
    app = BodyChecks(app, ValidatingMiddleware.refuse, settings.gateway_spool_memory_bytes)
    if settings.gateway_validation:
        more = settings.gateway_credentials.get_secret_value() if settings.gateway_credentials else ""
        keyring = Keyring(
            settings.aws_access_key_id,
            settings.aws_secret_access_key.get_secret_value(),
            parse_credentials(more),
        )
        enforce = settings.gateway_access == "s3"
        if enforce:
            bucket_permission.apply()
            object_acl_default.apply()
        app = ConformanceLayer(
            app, spool_memory_bytes=settings.gateway_spool_memory_bytes, cors_required=enforce
        )
        app = AccessLayer(app, keyring, enforce=enforce, allow_anonymous=settings.gateway_allow_anonymous)
        app = ValidatingMiddleware(
            app,
            keyring,
            verify_header_signatures=settings.gateway_verify_header_signatures,
            spool_memory_bytes=settings.gateway_spool_memory_bytes,
            access_decided_inside=True,
        )
        app = AuthenticationFormLayer(app, spool_memory_bytes=settings.gateway_spool_memory_bytes)
    app = RequestChecks(app, ValidatingMiddleware.refuse)
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
                "bulk": bulk.CAPABILITY,
                "snapshots": True,
            }
        ),
    )
    if change_log:
        # Polls that wait never take every thread: at least one always serves S3 requests.
        max_waiting = min(settings.gateway_max_waiting_polls, max(1, settings.gateway_threads - 1))
        router.add("/_changes", changes_handler(change_log, max_waiting))
    router.add(f"{bulk.PREFIX}/export", bulk.export_handler())
    importer = bulk.import_handler(change_log)
    if durability:
        importer = after_import(importer, durability)
    router.add(f"{bulk.PREFIX}/import", locks.exclusive(importer))
    router.add(f"{bulk.PREFIX}/list", bulk.list_handler())
    snapshots = DurableSnapshots(change_log, durability)
    router.add(
        SNAPSHOTS,
        snapshot_file_routes(snapshots, locks.exclusive(snapshots_handler(snapshots))),
        subpaths=True,
    )
    router.add("/_reset", locks.exclusive(reset_handler(snapshots)))
    app = router
    if durability:
        durability.locks = locks.locks
        app = DurableGate(router, durability)
        start_loading(durability)
    app = FaultInjector(app, FaultRules(settings.gateway_faults))
    return CorsAnswers(app) if settings.gateway_validation and settings.gateway_access == "s3" else app
