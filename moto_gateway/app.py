"""Builds the WSGI application the moto service serves: Moto, the gateway's layers around it, the router.

The stack is one ordered list, `layers()`, innermost first, each entry with the reason for its place; one
loop wraps them (`build_stack`, as Starlette's `build_middleware_stack`). A layer that a setting turns off
stays in the list with its condition. Moto is patched in one place (`apply_patches`) before the stack is
built. The path of a request through these layers, and which folder owns each, is in docs/architecture.md.
A new layer is one entry in `layers()`; a new endpoint is one `router.add` in `gateway_endpoints`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from moto_gateway import moto_patches
from moto_gateway.access.layer import AccessLayer
from moto_gateway.access.writers import ObjectWriters
from moto_gateway.checks.body_checks import BodyChecks, RequestChecks
from moto_gateway.checks.conformance.layer import ConformanceLayer
from moto_gateway.checks.cors_answers import CorsAnswers
from moto_gateway.fast_paths import streamed_bodies
from moto_gateway.fast_paths.listing import ListingLayer
from moto_gateway.fast_paths.plain_objects import PlainObjects
from moto_gateway.fast_paths.streamed_bodies import StreamedBodies
from moto_gateway.fault_rules import FaultRules
from moto_gateway.moto_patches import acl_principals, bucket_permission, object_acl_default, owner_grants
from moto_gateway.s3_features.bucket_logging import BucketLogging
from moto_gateway.s3_features.conditional_requests import ConditionalRequests
from moto_gateway.s3_features.lifecycle import LifecycleRules, LifecycleScheduler
from moto_gateway.s3_features.notifications import HUB as webhooks_hub
from moto_gateway.s3_features.notifications import PREFIX as WEBHOOKS, EventContext, webhooks_handler
from moto_gateway.s3_features.object_lock import ObjectLock
from moto_gateway.s3_features.object_ownership import ObjectOwnership
from moto_gateway.s3_features.sse_c import SseC
from moto_gateway.server.faults import FaultInjector
from moto_gateway.server.internal_errors import InternalErrors
from moto_gateway.server.router import Router, health_handler
from moto_gateway.server.s3_dispatch import S3FirstDispatcher
from moto_gateway.settings import GatewaySettings
from moto_gateway.signing.authform import AuthenticationFormLayer
from moto_gateway.signing.credentials import parse_credentials, parse_profiles
from moto_gateway.signing.keyring import Keyring
from moto_gateway.signing.layer import ValidatingMiddleware
from moto_gateway.state import bulk, durable
from moto_gateway.state.bucket_locks import BucketLocks
from moto_gateway.state.changes import ChangeLog, ChangeRecorder, changes_handler
from moto_gateway.state.durable.layer import (
    Durability,
    DurableCapture,
    DurableGate,
    DurableSnapshots,
    after_import,
    snapshot_file_routes,
    start_loading,
)
from moto_gateway.state.snapshots import PREFIX as SNAPSHOTS
from moto_gateway.state.snapshots import reset_handler, snapshots_handler
from moto_gateway.wsgi.answers import WsgiApp
from moto_gateway.wsgi.refusals import refuse


@dataclass(frozen=True)
class Layer:
    """One layer of the stack: how it wraps the app inside it, why it stands there, whether it is on."""

    wrap: Callable[[WsgiApp], WsgiApp]
    why: str
    on: bool = True


def build_stack(app: WsgiApp, layers: Iterable[Layer]) -> WsgiApp:
    """`app` wrapped in every layer that is on, the first of `layers` innermost."""
    for layer in layers:
        if layer.on:
            app = layer.wrap(app)
    return app


def access_decides(settings: GatewaySettings) -> bool:
    """GATEWAY_ACCESS=s3 with validation on: the access layer decides; Moto must let its decision stand."""
    return settings.gateway_validation and settings.gateway_access == "s3"


def apply_patches(settings: GatewaySettings) -> None:
    """Every patch of Moto, in one place, before any layer is built (each `apply` is idempotent)."""
    moto_patches.apply()
    if access_decides(settings):
        owner_grants.apply()  # before object_acl_default, whose private ACL it marks
        bucket_permission.apply()
        object_acl_default.apply()


def keyring_of(settings: GatewaySettings) -> Keyring:
    more = settings.gateway_credentials.get_secret_value() if settings.gateway_credentials else ""
    return Keyring(
        settings.aws_access_key_id,
        settings.aws_secret_access_key.get_secret_value(),
        parse_credentials(more),
        parse_profiles(more),
    )


def layers(
    settings: GatewaySettings,
    change_log: ChangeLog | None,
    endpoints: Callable,
    durability: Durability | None = None,
) -> list[Layer]:
    """The stack, innermost first: S3FirstDispatcher (Moto's S3 application, built once) sits inside them all.
    `endpoints` adds the gateway's own `/_...` paths to the router (they need the bucket locks built here)."""
    spool = settings.gateway_spool_memory_bytes
    streaming_threshold = min(spool, streamed_bodies.STREAM_ABOVE_BYTES)
    validation = settings.gateway_validation
    enforce = access_decides(settings)
    keyring = keyring_of(settings) if validation else None
    locks: BucketLocks | None = None

    def bucket_locks(app: WsgiApp) -> BucketLocks:
        nonlocal locks
        locks = BucketLocks(app)
        # the lifecycle scheduler works on buckets under these same locks
        LifecycleScheduler(locks.holding, change_log, settings.gateway_lifecycle_day_seconds).start()
        return locks

    def access_layer(app: WsgiApp) -> AccessLayer:
        access = AccessLayer(app, keyring, enforce=enforce, allow_anonymous=settings.gateway_allow_anonymous)
        if enforce:
            acl_principals.apply(keyring, access.owner_of, access.account)  # ACLs name the real owner
        return access

    def router(app: WsgiApp) -> Router:
        return endpoints(Router(app), locks)

    return [
        Layer(
            ListingLayer,
            "ListObjects(V2) answered from Moto's keys without its serializer; inside the locks, so it reads"
            " a bucket no request is changing (fast_paths/listing.py)",
        ),
        Layer(
            lambda app: PlainObjects(app, streaming_threshold),
            "plain Get/Head/Put/DeleteObject answered from Moto's backend without its Flask route, exactly "
            "as Moto's route answers; inside the locks and the recorder (fast_paths/plain_objects.py)",
        ),
        Layer(
            lambda app: ChangeRecorder(app, change_log),
            "records only what Moto really stored (state/changes.py)",
            on=change_log is not None,
        ),
        Layer(
            EventContext,
            "tells the event senders which request Moto serves (a POST Object, who, from where), so S3 events"
            " carry AWS's names and fields, to /_events/webhooks and the bucket's destinations "
            "(s3_features/notifications.py, moto_patches/notification_events.py)",
        ),
        Layer(
            ObjectWriters,
            "the writer of an object another account put, as the access layer decided it, set on the version "
            "Moto stored; inside the durable capture, so the state folder keeps it (access/writers.py)",
            on=enforce,
        ),
        Layer(
            ConditionalRequests,
            "GET/HEAD preconditions with S3's precedence, conditional writes (PutObject, CopyObject, "
            "CompleteMultipartUpload) and copy-source conditions; inside the locks, so a condition and the "
            "write it guards are one step, outside the fast paths, which then never see a decided condition "
            "(s3_features/conditional_requests.py)",
        ),
        Layer(
            SseC,
            "SSE-C keys required and checked, kept only as a salted HMAC on Moto's FakeKey; inside the "
            "locks, outside the recorder and the fast paths, so no plain GET reaches Moto around it "
            "(s3_features/sse_c.py)",
        ),
        Layer(
            ObjectLock,
            "retention, legal hold, default retention and the governance bypass with its permission; inside"
            " the locks, so a check and the change it guards are one step (s3_features/object_lock.py)",
        ),
        Layer(
            LifecycleRules,
            "lifecycle rules validated as S3 does and kept on the bucket for the scheduler that carries them "
            "out under the bucket locks, its deletions in the change feed (s3_features/lifecycle.py)",
        ),
        Layer(
            ObjectOwnership,
            "BucketOwnerEnforced refused over a bucket ACL that grants access to others, at CreateBucket and "
            "PutBucketOwnershipControls; inside the locks, so the ACL it reads is the one the change meets "
            "(s3_features/object_ownership.py)",
        ),
        Layer(
            BucketLogging,
            "PutBucketLogging's target of another account and target grants on a BucketOwnerEnforced target "
            "refused as S3 refuses them, before Moto's own checks (s3_features/bucket_logging.py)",
        ),
        Layer(
            lambda app: DurableCapture(app, durability),
            "with GATEWAY_STATE_DIR: queues what a successful mutating request changed for the state folder; "
            "inside the locks, so a bucket's changes are queued in the order Moto made them (state/durable/)",
            on=durability is not None,
        ),
        Layer(
            bucket_locks,
            "one request per bucket inside Moto, whose S3 models are not safe under concurrent requests; "
            "outside the recorder, so the feed's order is the order Moto applied the changes "
            "(state/bucket_locks.py)",
        ),
        Layer(
            lambda app: StreamedBodies(app, spool),
            "bodies over 1 MiB spooled into the key, copies key to key, large GetObjects streamed; outside "
            "the locks, so sending a body does not hold up the bucket (fast_paths/streamed_bodies.py)",
        ),
        Layer(
            lambda app: BodyChecks(app, refuse, spool),
            "XML, policy and aws-chunked bodies Moto would turn into a 500, refused as S3 does, right before"
            " Moto reads them; in every mode (checks/body_checks.py)",
        ),
        Layer(
            lambda app: ConformanceLayer(app, spool_memory_bytes=spool, cors_required=enforce),
            "S3's answers where Moto's differ, given to requests the principal may make "
            "(checks/conformance/)",
            on=validation,
        ),
        Layer(
            access_layer,
            "who may do what; inside the signature checks, whose principal it trusts, outside everything "
            "that reads what a request says: S3 refuses with AccessDenied before judging a body (access/)",
            on=validation,
        ),
        Layer(
            lambda app: ValidatingMiddleware(
                app,
                keyring,
                verify_header_signatures=settings.gateway_verify_header_signatures,
                spool_memory_bytes=spool,
                access_decided_inside=True,
            ),
            "authentication (presigned URLs, header signatures, POST policies); a POST Object leaves it as "
            "the PutObject S3 authorises it as, so every layer inside treats it as a PUT (signing/layer.py)",
            on=validation,
        ),
        Layer(
            lambda app: AuthenticationFormLayer(app, spool_memory_bytes=spool),
            "malformed Authorization, Date, Content-Length and Content-MD5 refused before any signature is "
            "computed or body read (signing/authform.py)",
            on=validation,
        ),
        Layer(
            lambda app: RequestChecks(app, refuse),
            "what S3 refuses whoever sends it (a method it does not serve, a malformed header, a PUT over 5 "
            "GiB), before any layer reads a body or decides access; in every mode (checks/body_checks.py)",
        ),
        Layer(
            lambda app: InternalErrors(app, refuse),
            "S3's error XML for any failure of any layer inside (server/internal_errors.py)",
        ),
        Layer(
            router,
            "the gateway's own `/_...` paths (no bucket name contains '_'); everything else passes on "
            "(server/router.py)",
        ),
        Layer(
            lambda app: DurableGate(app, durability),
            "with GATEWAY_STATE_DIR: 503 until the state folder is loaded, and a mutating request's answer "
            "held until what it changed is committed (503 SlowDown, the change undone, if it cannot be); "
            "outside every lock, so a request waits for the disk without holding up its bucket "
            "(state/durable/)",
            on=durability is not None,
        ),
        Layer(
            lambda app: FaultInjector(app, FaultRules(settings.gateway_faults)),
            "serves /_faults and injects its faults into S3 requests, so an injected failure looks exactly "
            "like one from S3 (server/faults.py)",
        ),
        Layer(
            CorsAnswers,
            "outermost: an S3 request with an Origin gets its bucket's CORS headers whoever answered it; "
            "otherwise Moto's allow-all stays (checks/cors_answers.py)",
            on=enforce,
        ),
    ]


def gateway_endpoints(
    router: Router,
    locks: BucketLocks,
    settings: GatewaySettings,
    change_log: ChangeLog | None,
    boot_id: str,
    durability: Durability | None = None,
) -> Router:
    """The gateway's own endpoints; those that change all of S3 at once hold every bucket lock."""
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
        durability.locks = locks.locks
    router.add(f"{bulk.PREFIX}/import", locks.exclusive(importer))
    router.add(f"{bulk.PREFIX}/list", bulk.list_handler())
    snapshots = DurableSnapshots(change_log, durability)
    router.add(
        SNAPSHOTS,
        snapshot_file_routes(snapshots, locks.exclusive(snapshots_handler(snapshots))),
        subpaths=True,
    )
    router.add("/_reset", locks.exclusive(reset_handler(snapshots)))
    router.add(WEBHOOKS, webhooks_handler(), subpaths=True)
    return router


def create_app(settings: GatewaySettings) -> WsgiApp:
    apply_patches(settings)
    store = None
    if settings.gateway_state_dir:
        fsync, batch_ms = settings.gateway_fsync, settings.gateway_fsync_batch_ms
        store = durable.open_state(settings.gateway_state_dir, fsync, batch_ms)
    # new with every Moto that starts empty: tells clients (the exporter) Moto restarted without its state
    boot_id = store.boot_id if store else uuid.uuid4().hex
    size = settings.gateway_change_log_size
    change_log = ChangeLog(size, boot_id) if size else None
    if change_log and store:
        change_log._last_seq = store.last_seq  # the feed goes on where the state folder's changes stopped
    durability = Durability(store, change_log) if store else None
    durable.activate(durability)

    def endpoints(router: Router, locks: BucketLocks) -> Router:
        return gateway_endpoints(router, locks, settings, change_log, boot_id, durability)

    app = build_stack(S3FirstDispatcher(), layers(settings, change_log, endpoints, durability))
    webhooks_hub.restore()  # the webhooks the state folder kept
    if durability:
        start_loading(durability)  # S3 is answered 503 SlowDown until the folder is in Moto
    return app
