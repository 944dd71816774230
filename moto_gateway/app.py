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
- EventContext: tells the event senders which request Moto serves (a POST Object, who, from where), so
  that S3 events carry AWS's names and fields and reach the webhooks of `/_events/webhooks` as well as
  the bucket's own destinations (s3_features/notifications.py, moto_patches/notification_events.py);
- SseC: customer-provided keys required, checked and kept only as a salted HMAC on Moto's FakeKey
  (s3_features/sse_c.py); inside the locks and outside the recorder and the
  fast paths, as ObjectLock just outside it is;
- ObjectLock: retention, legal hold and default retention enforced as S3 does, the governance bypass
  with its permission (s3_features/object_lock.py); inside the locks, so a check and the change it guards
  are one step, and outside the recorder and the fast paths, so no path reaches Moto around it;
- LifecycleRules: lifecycle configurations validated as S3 validates them and kept for the scheduler, a
  thread that carries the rules out under the bucket locks and records its deletions in the change feed
  (s3_features/lifecycle.py; GATEWAY_LIFECYCLE_DAY_SECONDS sets the length of its day);
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
from moto_gateway.access.principals import Keyring, parse_credentials, parse_profiles
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
from moto_gateway.moto_patches import acl_principals, bucket_permission, object_acl_default, owner_grants
from moto_gateway.router import Router, WsgiApp, health_handler
from moto_gateway.s3_dispatch import S3FirstDispatcher
from moto_gateway.s3_features.lifecycle import LifecycleRules, LifecycleScheduler
from moto_gateway.s3_features.notifications import PREFIX as WEBHOOKS, EventContext, webhooks_handler
from moto_gateway.s3_features.object_lock import ObjectLock
from moto_gateway.s3_features.sse_c import SseC
from moto_gateway.settings import GatewaySettings
from moto_gateway.snapshots import PREFIX as SNAPSHOTS, SnapshotStore, reset_handler, snapshots_handler
from moto_gateway.streamed_bodies import StreamedBodies


def create_app(settings: GatewaySettings) -> WsgiApp:
    moto_patches.apply()
    streaming_threshold = min(settings.gateway_spool_memory_bytes, streamed_bodies.STREAM_ABOVE_BYTES)
    app = PlainObjects(ListingLayer(S3FirstDispatcher()), streaming_threshold)
    boot_id = uuid.uuid4().hex  # new with every Moto: tells clients (the exporter) that Moto restarted empty
    change_log = ChangeLog(settings.gateway_change_log_size, boot_id) if settings.gateway_change_log_size else None
    if change_log:
        app = ChangeRecorder(app, change_log)
    app = LifecycleRules(ObjectLock(SseC(EventContext(app))))
    app = locks = BucketLocks(app)
    LifecycleScheduler(locks.holding, change_log, settings.gateway_lifecycle_day_seconds).start()
    streamed_bodies.apply()
    app = StreamedBodies(app, settings.gateway_spool_memory_bytes)
    app = BodyChecks(app, ValidatingMiddleware.refuse, settings.gateway_spool_memory_bytes)
    if settings.gateway_validation:
        more = settings.gateway_credentials.get_secret_value() if settings.gateway_credentials else ""
        keyring = Keyring(
            settings.aws_access_key_id,
            settings.aws_secret_access_key.get_secret_value(),
            parse_credentials(more),
            parse_profiles(more),
        )
        enforce = settings.gateway_access == "s3"
        if enforce:
            owner_grants.apply()  # before object_acl_default, whose private ACL it marks
            bucket_permission.apply()
            object_acl_default.apply()
        app = ConformanceLayer(
            app, spool_memory_bytes=settings.gateway_spool_memory_bytes, cors_required=enforce
        )
        app = access = AccessLayer(
            app, keyring, enforce=enforce, allow_anonymous=settings.gateway_allow_anonymous
        )
        if enforce:
            acl_principals.apply(keyring, access.object_writer)
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
    router.add(f"{bulk.PREFIX}/import", locks.exclusive(bulk.import_handler(change_log)))
    router.add(f"{bulk.PREFIX}/list", bulk.list_handler())
    snapshots = SnapshotStore(change_log)
    router.add(SNAPSHOTS, locks.exclusive(snapshots_handler(snapshots)), subpaths=True)
    router.add("/_reset", locks.exclusive(reset_handler(snapshots)))
    router.add(WEBHOOKS, webhooks_handler(), subpaths=True)
    app = FaultInjector(router, FaultRules(settings.gateway_faults))
    return CorsAnswers(app) if settings.gateway_validation and settings.gateway_access == "s3" else app
