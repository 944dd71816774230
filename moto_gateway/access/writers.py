"""Who wrote an object another account put, kept on Moto's own FakeKey (Moto records no writer).

S3 User Guide, "Controlling ownership of objects and disabling ACLs for your bucket": with ObjectWriter
(and with BucketOwnerPreferred unless the upload names `bucket-owner-full-control`) the account that
uploads an object owns it, not the bucket owner. The access layer decides who that is when it allows the
write (`OBJECT_WRITER` in the environ); `ObjectWriters`, inside the durable capture, sets it on the
version Moto has just stored, so snapshots and the state folder (GATEWAY_STATE_DIR) keep it with the object.

The attribute `object_writer` is the writer's account id; a version without it belongs to the bucket
owner. The canned ACLs `bucket-owner-read` and `bucket-owner-full-control` grant the bucket owner READ or
FULL_CONTROL of another account's object (S3 User Guide, "Access control list (ACL) overview", canned
ACL): Moto's canned ACLs leave that grant out, so it is added to the object's ACL here, a new FakeAcl
(never one changed in place), where GetObjectAcl shows it and a later PutObjectAcl replaces it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from moto.s3.models import FakeAcl, FakeGrant, FakeGrantee

from moto_gateway.state.s3state import find_bucket
from moto_gateway.wsgi.bodies import answered_with_status

WRITER_ATTR = "object_writer"
OBJECT_WRITER = "moto_gateway.object_writer"
"""environ: the `Written` an allowed write will record, set by the access layer."""


BUCKET_OWNER_CANNED = {"bucket-owner-read": "READ", "bucket-owner-full-control": "FULL_CONTROL"}


@dataclass(frozen=True)
class Written:
    bucket: str
    key: str
    writer: str | None  # the writer's account id; None: the bucket owner owns what is written
    bucket_owner_grant: tuple[str, str] | None = None  # (the bucket owner's canonical id, permission)
    upload: bool = False  # a CreateMultipartUpload: the grant goes on the upload, whose ACL the object gets


def writer_of(fake) -> str | None:
    """The account id of whoever wrote a version another account owns; None: the bucket owner's."""
    return getattr(fake, WRITER_ATTR, None)


def with_grant(acl, canonical_id: str, permission: str):
    """A copy of Moto's ACL with one more grant, to a canonical user."""
    grants = list(getattr(acl, "grants", None) or [])
    return FakeAcl([*grants, FakeGrant([FakeGrantee(grantee_id=canonical_id)], [permission])])


class ObjectWriters:
    """Sets (or clears: a copy starts with its source's attributes) the writer of the version a successful
    PutObject, CopyObject, POST Object or CompleteMultipartUpload stored; inside the bucket locks."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        written: Written | None = environ.get(OBJECT_WRITER)
        if written is None:
            return self.app(environ, start_response)
        if written.upload:
            return self.grant_on_upload(environ, start_response, written)

        def record(status: str, headers: list, exc_info=None):
            if status.startswith("2"):
                bucket, _account = find_bucket(written.bucket)
                fake = bucket.keys.get(written.key) if bucket is not None else None
                if fake is not None and hasattr(fake, "etag"):
                    if written.writer is not None:
                        setattr(fake, WRITER_ATTR, written.writer)
                    elif writer_of(fake) is not None:
                        delattr(fake, WRITER_ATTR)
                    if written.bucket_owner_grant is not None:
                        fake.acl = with_grant(fake.acl, *written.bucket_owner_grant)
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return self.app(environ, record)

    def grant_on_upload(self, environ: dict, start_response: Callable, written: Written) -> list[bytes]:
        """CreateMultipartUpload with a bucket-owner-* canned ACL: Moto gives the completed object the
        upload's ACL, so the bucket owner's grant is added to the upload's."""
        status, body = answered_with_status(self.app, environ, start_response)
        found = re.search(rb"<UploadId>([^<]+)</UploadId>", b"".join(body))
        bucket, _account = find_bucket(written.bucket)
        if status is not None and 200 <= status < 300 and found and bucket is not None:
            upload = bucket.multiparts.get(found.group(1).decode())
            if upload is not None:
                upload.acl = with_grant(upload.acl, *written.bucket_owner_grant)
        return body
