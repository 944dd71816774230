"""The access layer around Moto: the imperative shell of the pure checks in this package.

`AccessLayer` (inside the signature checks) takes each request through five steps, each a function of its
own: resolve (the principal, and the account Moto acts as: Moto's `x-moto-account-id`), classify (the
action, `request_action`), load (the bucket's owner, ACL, policy, public access block and ownership
controls, the object, the condition keys, from Moto's backend), decide (`decision_for`) and answer (S3's
refusal, the PolicyStatus, or Moto's answer, with the writer of what it stores marked for
`writers.ObjectWriters`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from tempfile import SpooledTemporaryFile
from urllib.parse import unquote

from moto.s3.models import OWNER as MOTO_OWNER_ID
from moto.s3.models import s3_backends
from moto.s3control.models import s3control_backends

from moto_gateway.access import policy as policies
from moto_gateway.access.actions import Action, classify
from moto_gateway.access.context import condition_keys
from moto_gateway.access.decide import (
    ANONYMOUS_OWNER,
    BucketState,
    Decision,
    Grant,
    ObjectState,
    PublicAccessBlock,
    decide,
    is_public_acl,
    public_acl_refusal,
)
from moto_gateway.access.writers import BUCKET_OWNER_CANNED, OBJECT_WRITER, Written, writer_of
from moto_gateway.moto_patches.owner_grants import is_owner_placeholder
from moto_gateway.signing.keyring import Account, Keyring, named_access_key
from moto_gateway.signing.keyring import account as account_of
from moto_gateway.signing.post_object import POST_ACCESS_KEY_ENVIRON
from moto_gateway.signing.presigned import auth_kind
from moto_gateway.state.s3state import find_bucket, find_version
from moto_gateway.wsgi.bodies import put_back, spool_body
from moto_gateway.wsgi.errors import S3Error
from moto_gateway.wsgi.refusals import refuse_drained
from moto_gateway.wsgi.request import ACCESS_CONTEXT, RequestView
from moto_gateway.wsgi.services import MOTO_OWN_PATHS, UNCHECKED_METHODS, signed_for_other_service

log = logging.getLogger("moto_gateway")
ACCOUNT_HEADER = "HTTP_X_MOTO_ACCOUNT_ID"
POLICY_STATUS_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<PolicyStatus xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><IsPublic>{}</IsPublic></PolicyStatus>'
)


@dataclass(frozen=True)
class Principal:
    """Who sends a request: signed or not, its account (None: anonymous), s3:authType, s3:signatureversion."""

    signed: bool
    account: Account | None
    auth: str | None
    signature_version: str | None


@dataclass(frozen=True)
class Loaded:
    """What a decision reads from Moto: the bucket (None: no such bucket), the object, the condition keys."""

    bucket: BucketState | None
    obj: ObjectState | None
    keys: dict


def request_action(view: RequestView) -> Action:
    """The action a request asks for. DeleteObjects acts on keys listed in its body: the resource is the
    bucket's objects, not the bucket. (A checked POST Object arrives here as the PutObject of its form's
    key.)"""
    action = classify(view.method, view.addressing.bucket, view.addressing.key, view.params, view.headers)
    if action.bucket is not None and action.key is None and view.method == "POST":
        return Action(action.name, action.bucket, "*")
    return action


def public_by_acl(bucket: BucketState) -> bool:
    """The bucket's ACL grants to everyone or every signed principal, and IgnorePublicAcls is off."""
    return is_public_acl(bucket.grants) and not bucket.public_access_block.ignore_public_acls


def grants_of(acl: object, owner: Account) -> tuple[Grant, ...]:
    """Moto's ACL as grants; Moto writes its one owner id for the owner of every ACL it makes, which here
    means `owner` (a grant a client gave that id names the default account: moto_patches/owner_grants.py)."""
    grants = []
    for grant in getattr(acl, "grants", None) or ():
        for grantee in grant.grantees:
            placeholder = grantee.id == MOTO_OWNER_ID and is_owner_placeholder(grantee)
            who = grantee.uri or (owner.canonical_id if placeholder else grantee.id)
            for permission in grant.permissions:
                grants.append(Grant(who, permission))
    return tuple(grants)


def account_public_access_block(account_id: str, partition: str):
    """The account's Block Public Access settings (s3control PutPublicAccessBlock), or None."""
    try:
        return s3control_backends[account_id][partition].public_access_block
    except Exception:  # noqa: BLE001 - no s3control backend for this account or partition: no settings
        return None


def effective_block(*blocks) -> PublicAccessBlock:
    """S3 applies the most restrictive combination of the bucket's and its account's settings (S3 User Guide,
    "Blocking public access to your Amazon S3 storage")."""
    present = [block for block in blocks if block]
    return PublicAccessBlock(
        any(bool(block.block_public_acls) for block in present),
        any(bool(block.ignore_public_acls) for block in present),
        any(bool(block.block_public_policy) for block in present),
        any(bool(block.restrict_public_buckets) for block in present),
    )


class AccessLayer:
    def __init__(
        self,
        app: Callable,
        keyring: Keyring,
        *,
        enforce: bool = True,
        allow_anonymous: bool = False,
        clock: Callable[[], float] = time.time,
    ):
        self.app = app
        self.keyring = keyring
        self.enforce = enforce
        self.allow_anonymous = allow_anonymous
        self.clock = clock

    # ----- reading Moto's state --------------------------------------------------------------------

    def owner_of(
        self, bucket_name: str | None, key: str | None = None, version_id: str | None = None
    ) -> Account | None:
        """Who owns the bucket, or the object (its writer when another account wrote it); None: no bucket.
        What ACL answers name (moto_patches/acl_principals.py)."""
        bucket, account_id = find_bucket(bucket_name)
        if account_id is None:
            return None
        if key:
            writer = writer_of(find_version(bucket, key, version_id))
            if writer is not None:
                return self.account(writer)
        return self.account(account_id)

    def account(self, account_id: str) -> Account:
        if account_id == ANONYMOUS_OWNER.account_id:
            return ANONYMOUS_OWNER
        return self.keyring.accounts.get(account_id) or account_of(account_id)

    def bucket_state(self, bucket, account_id: str) -> BucketState:
        owner = self.account(account_id)
        document = policies.load_stored(bucket.policy) if bucket.policy else None
        flags = effective_block(
            bucket.public_access_block, account_public_access_block(account_id, bucket.partition)
        )
        rule = bucket.ownership_rule  # Moto stores the ObjectOwnership value (a string) here
        if isinstance(rule, dict):
            rule = rule.get("ObjectOwnership")
        return BucketState(
            owner,
            grants_of(bucket.acl, owner),
            document,
            flags,
            owner_enforced=rule == "BucketOwnerEnforced",
            owner_preferred=rule == "BucketOwnerPreferred",
        )

    @staticmethod
    def owners_own_object(
        principal: Account | None, bucket: BucketState, moto_bucket, action: Action, version_id: str | None
    ) -> bool:
        """The bucket owner acting on an object of its own in a bucket without a policy: nothing else about
        the object can change the answer (allowed), so its ACL and tags are not read."""
        if principal is None or principal.account_id != bucket.owner.account_id or bucket.policy is not None:
            return False
        return writer_of(find_version(moto_bucket, action.key, version_id)) is None

    def object_state(
        self, bucket, bucket_owner: Account, key: str, version_id: str | None, with_tags: bool = True
    ) -> ObjectState | None:
        try:
            if version_id is None:
                fake = bucket.keys.get(key)
            else:
                fake = next(
                    (v for v in bucket.keys.getlist(key, default=[]) if str(v.version_id) == version_id), None
                )
        except Exception:  # noqa: BLE001 - Moto's key store mid-change: decide as if absent
            fake = None
        if fake is None or not hasattr(fake, "acl"):
            return None
        writer = writer_of(fake)
        owner = self.account(writer) if writer else bucket_owner
        tags = {}
        if with_tags:
            try:
                backend = s3_backends[bucket.account_id][bucket.partition]
                listed = backend.tagger.list_tags_for_resource(fake.arn)["Tags"]
                tags = {t["Key"]: t["Value"] for t in listed}
            except Exception:  # noqa: BLE001 - tags are only condition keys
                tags = {}
        return ObjectState(owner, grants_of(fake.acl, owner), tags)

    # ----- the request -----------------------------------------------------------------------------

    def resolve(self, view: RequestView, environ: dict) -> Principal:
        """Who sends the request: signed or not, the account of the key it names, how it is signed."""
        kind = auth_kind(view)
        post_key = environ.get(POST_ACCESS_KEY_ENVIRON)
        if kind is None and post_key is None:
            return Principal(False, None, None, None)
        key = named_access_key(view, post_key if kind is None else None)
        known = self.keyring.get(key)
        # An unknown key reaches here only when signatures are not verified: it acts as the default
        # account, as every key does on plain Moto.
        account = known.account if known else self.keyring.default.account
        if kind is None:
            auth, version = "POST", None
        elif kind == "header":
            auth = "REST-HEADER"
            version = "AWS4-HMAC-SHA256" if view.headers["authorization"].startswith("AWS4") else "AWS"
        else:
            auth = "REST-QUERY-STRING"
            version = "AWS4-HMAC-SHA256" if kind == "query-v4" else "AWS"
        return Principal(True, account, auth, version)

    def load(
        self, view: RequestView, environ: dict, who: Principal, action: Action, moto_bucket, owner_account_id
    ) -> Loaded:
        """What the decision reads from Moto: the bucket's and the object's state, and the condition keys."""
        bucket = self.bucket_state(moto_bucket, owner_account_id) if moto_bucket is not None else None
        obj = None
        if bucket is not None and action.key is not None and not self.owners_own_object(
            who.account, bucket, moto_bucket, action, view.params.get("versionId")
        ):
            with_tags = bucket.policy is not None and "ExistingObjectTag" in str(moto_bucket.policy)
            obj = self.object_state(
                moto_bucket, bucket.owner, action.key, view.params.get("versionId"), with_tags
            )
        keys = {}
        if bucket is not None and bucket.policy is not None or "x-amz-copy-source" in view.headers:
            keys = condition_keys(
                principal=who.account,
                headers=view.headers,
                params=view.params,
                auth=who.auth,
                signature_version=who.signature_version,
                source_ip=environ.get("REMOTE_ADDR", ""),
                now=self.clock(),
                existing_tags=obj.tags if obj else None,
            )
        return Loaded(bucket, obj, keys)

    def decision_for(
        self, view: RequestView, environ: dict, who: Principal, action: Action, loaded: Loaded
    ) -> Decision:
        """Three decisions in turn: the request itself (ACL, policy, public ACL blocks), a copy's source,
        a public policy under BlockPublicPolicy."""
        principal, bucket = who.account, loaded.bucket
        decision = public_acl_refusal(action, bucket, view.headers) or decide(
            principal, action, bucket, loaded.obj, loaded.keys
        )
        if decision.allowed:
            decision = self.copy_source_decision(principal, action, view, loaded.keys) or decision
        if (
            decision.allowed
            and action.name == "PutBucketPolicy"
            and bucket is not None
            and bucket.public_access_block.block_public_policy
        ):
            decision = self.public_policy_refusal(environ) or decision
        return decision

    def answer(
        self,
        view: RequestView,
        environ: dict,
        start_response: Callable,
        who: Principal,
        action: Action,
        bucket: BucketState | None,
        decision: Decision,
    ) -> Iterable[bytes]:
        """S3's refusal; the PolicyStatus the gateway answers itself; or Moto's answer, its writer kept."""
        if not decision.allowed:
            log.info(
                "denied %s %s to %s: %s",
                action.name,
                action.resource,
                who.account.account_id if who.account else "anonymous",
                decision.reason,
            )
            error = S3Error(decision.status, decision.code, decision.message)
            return refuse_drained(view, error, environ, start_response)
        if action.name == "GetBucketPolicyStatus" and bucket is not None:
            if bucket.policy is not None or public_by_acl(bucket):
                return self.policy_status(bucket, start_response)
        written = self.written(view, action, who.account, bucket)
        if written is not None:
            environ[OBJECT_WRITER] = written
        return self.app(environ, start_response)

    def acting_account(self, who: Principal, owner_account_id: str | None) -> str:
        """The account Moto acts as: the principal's; for the anonymous one, the bucket owner's (or the
        default account's)."""
        if who.account:
            return who.account.account_id
        return owner_account_id or self.keyring.default.account.account_id

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(MOTO_OWN_PATHS) or environ.get("REQUEST_METHOD") in UNCHECKED_METHODS:
            return self.app(environ, start_response)
        environ.pop(ACCOUNT_HEADER, None)  # only the gateway says which account acts
        view = RequestView.from_environ(environ)
        if signed_for_other_service(view.headers.get("authorization", "")):
            return self.app(environ, start_response)
        who = self.resolve(view, environ)
        if not who.signed and self.allow_anonymous:
            return self.app(environ, start_response)
        moto_bucket, owner_account_id = find_bucket(view.addressing.bucket)
        environ[ACCOUNT_HEADER] = self.acting_account(who, owner_account_id)
        if not self.enforce:
            return self.app(environ, start_response)
        action = request_action(view)
        loaded = self.load(view, environ, who, action, moto_bucket, owner_account_id)
        decision = self.decision_for(view, environ, who, action, loaded)
        environ[ACCESS_CONTEXT] = (who.account, loaded.bucket, loaded.keys)  # for permissions decided inside
        return self.answer(view, environ, start_response, who, action, loaded.bucket, decision)

    def copy_source_decision(
        self, principal: Account | None, action: Action, view: RequestView, keys: dict
    ) -> Decision | None:
        """CopyObject and UploadPartCopy also need s3:GetObject on the source."""
        source = view.headers.get("x-amz-copy-source")
        if not source or action.name != "PutObject":
            return None
        source, _, query = unquote(source).partition("?")
        source_bucket, _, source_key = source.lstrip("/").partition("/")
        version = query.removeprefix("versionId=") if query.startswith("versionId=") else None
        moto_bucket, owner_account_id = find_bucket(source_bucket)
        if moto_bucket is None or not source_key:
            return None  # Moto answers NoSuchBucket / InvalidArgument
        bucket = self.bucket_state(moto_bucket, owner_account_id)
        obj = self.object_state(moto_bucket, bucket.owner, source_key, version)
        source_action = Action("GetObjectVersion" if version else "GetObject", source_bucket, source_key)
        source_keys = {k: v for k, v in keys.items() if not k.startswith("s3:existingobjecttag/")}
        for name, value in (obj.tags if obj else {}).items():
            source_keys[f"s3:existingobjecttag/{name.lower()}"] = [value]
        return decide(principal, source_action, bucket, obj, source_keys)

    def public_policy_refusal(self, environ: dict) -> Decision | None:
        """BlockPublicPolicy: a PutBucketPolicy whose policy is public is refused (the body is small)."""
        spool = SpooledTemporaryFile(max_size=1 << 20)
        spool_body(environ, spool)
        size = spool.tell()
        spool.seek(0)
        text = spool.read(1 << 20)  # S3's policy size limit is 20 KB: a larger body is no policy
        spool.seek(size)
        put_back(environ, spool)
        try:
            public = policies.is_public(policies.load(text))
        except policies.PolicyError:
            return None  # not a policy: Moto (or the validation of bodies) refuses it
        return Decision(False, "BlockPublicPolicy refuses a public policy") if public else None

    @staticmethod
    def policy_status(bucket: BucketState, start_response: Callable) -> list[bytes]:
        """IsPublic: a public policy, or an ACL granting to AllUsers or AuthenticatedUsers (S3 User Guide,
        "The meaning of public"); a bucket with neither and no policy is Moto's NoSuchBucketPolicy."""
        public = (bucket.policy is not None and policies.is_public(bucket.policy)) or public_by_acl(bucket)
        body = POLICY_STATUS_XML.format("true" if public else "false").encode()
        start_response("200 OK", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
        return [body]

    @staticmethod
    def written(
        view: RequestView, action: Action, principal: Account | None, bucket: BucketState | None
    ) -> Written | None:
        """Who will own the object a write stores (S3 User Guide, "Controlling ownership of objects":
        ObjectWriter keeps the writer; BucketOwnerPreferred hands objects written with
        bucket-owner-full-control to the bucket owner; BucketOwnerEnforced always does). None: the request
        stores no object (an UploadPart), or a CreateMultipartUpload that needs no grant to the bucket owner."""
        if bucket is None or action.key is None or action.name != "PutObject":
            return None
        params = view.params
        creates_upload = view.method == "POST" and "uploads" in params
        stores = (view.method == "PUT" and "uploadId" not in params) or (
            view.method == "POST" and "uploadId" in params
        )
        if not stores and not creates_upload:
            return None
        writer = principal or ANONYMOUS_OWNER
        canned = view.headers.get("x-amz-acl", "")
        owners = (
            writer.account_id == bucket.owner.account_id
            or bucket.owner_enforced
            or (bucket.owner_preferred and canned == "bucket-owner-full-control")
        )
        granted = None if owners else BUCKET_OWNER_CANNED.get(canned)
        owner_grant = (bucket.owner.canonical_id, granted) if granted else None
        if creates_upload:
            return Written(action.bucket, action.key, None, owner_grant, upload=True) if owner_grant else None
        return Written(action.bucket, action.key, None if owners else writer.account_id, owner_grant)
