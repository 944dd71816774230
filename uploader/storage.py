"""The uploader's S3 side: bucket and CORS set-up at start, presigning, and profile objects.

The `internal` client talks to S3 where this service reaches it (AWS_ENDPOINT_URL, e.g. http://moto:5000);
the presigner signs for the endpoint the browser reaches (S3_PUBLIC_ENDPOINT_URL), because a SigV4
signature covers the host.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from flask import Flask, current_app

from common.s3 import (
    S3Unreachable,
    call_with_retries,
    create_bucket_if_missing,
    describe_error,
    error_code,
    is_not_found,
    make_s3_client,
    wait_for_s3,
)
from uploader import rules
from uploader.presign import Presigner
from uploader.settings import UploaderSettings

log = logging.getLogger(__name__)

CORS_METHODS = ["GET", "HEAD", "POST", "PUT"]
CORS_HEADERS = ["content-type", "x-amz-acl"]
CORS_EXPOSE = ["ETag", "Location"]


def cors_rules(origins: list[str]) -> dict:
    return {
        "CORSRules": [
            {
                "AllowedOrigins": list(origins),
                "AllowedMethods": CORS_METHODS,
                "AllowedHeaders": CORS_HEADERS,
                "ExposeHeaders": CORS_EXPOSE,
                "MaxAgeSeconds": 600,
            }
        ]
    }


def cors_is_current(client: Any, settings: UploaderSettings) -> bool:
    """Does the bucket carry exactly our CORS rules (a restarted S3 or a hand edit may have dropped them)?"""
    try:
        rules_now = client.get_bucket_cors(Bucket=settings.s3_bucket)["CORSRules"]
    except ClientError as exc:
        if error_code(exc) == "NoSuchCORSConfiguration" or is_not_found(exc):
            return False
        raise
    fields = ("AllowedOrigins", "AllowedMethods", "AllowedHeaders", "ExposeHeaders", "MaxAgeSeconds")
    wanted = cors_rules(settings.cors_origins)["CORSRules"]
    return [{f: rule.get(f) for f in fields} for rule in rules_now] == [
        {f: rule.get(f) for f in fields} for rule in wanted
    ]


def apply_cors(client: Any, settings: UploaderSettings) -> None:
    call_with_retries(
        lambda: client.put_bucket_cors(
            Bucket=settings.s3_bucket, CORSConfiguration=cors_rules(settings.cors_origins)
        )
    )


def prepare_bucket(client: Any, settings: UploaderSettings) -> None:
    """Wait for S3, create the bucket if missing, and (re)apply its CORS rules; raises S3Unreachable."""
    wait_for_s3(client, settings.startup_timeout)
    created = create_bucket_if_missing(client, settings.s3_bucket, settings.aws_region)
    log.info("%s bucket %s", "created" if created else "using existing", settings.s3_bucket)
    apply_cors(client, settings)
    log.info("CORS on %s allows %s", settings.s3_bucket, ", ".join(settings.cors_origins))


class StartupError(SystemExit):
    """S3 could not be prepared: gunicorn stops with this one-line reason instead of serving errors."""


def prepare_or_stop(settings: UploaderSettings) -> None:
    """Prepare the bucket once before serving (gunicorn's on_starting hook); StartupError when S3 cannot be
    reached or refuses, after logging the one-line reason."""
    client = make_s3_client(settings)
    try:
        prepare_bucket(client, settings)
    except S3Unreachable as exc:
        log.error("uploader cannot start: %s", exc)
        raise StartupError(1) from None
    except (ClientError, BotoCoreError) as exc:
        log.error("uploader cannot prepare bucket %s: %s", settings.s3_bucket, describe_error(exc))
        raise StartupError(1) from None
    finally:
        client.close()


def repair_bucket(client: Any, settings: UploaderSettings) -> str | None:
    """Put back the bucket and its CORS rules if S3 lost them; says what was repaired, or None."""
    if create_bucket_if_missing(client, settings.s3_bucket, settings.aws_region):
        apply_cors(client, settings)
        return f"bucket {settings.s3_bucket} and its CORS rules"
    if not cors_is_current(client, settings):
        apply_cors(client, settings)
        return f"the CORS rules of bucket {settings.s3_bucket}"
    return None


class BucketKeeper:
    """Checks every S3_BUCKET_CHECK_INTERVAL seconds that the bucket and its CORS rules still exist.

    A restarted Moto forgets every bucket; without this, uploads would fail until the uploader restarts.
    One daemon thread per process, started on the first request (threads do not survive gunicorn's fork).
    """

    def __init__(self, settings: UploaderSettings):
        self.settings = settings
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def ensure_running(self) -> None:
        if self._pid == os.getpid() or self.settings.s3_bucket_check_interval <= 0:
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            threading.Thread(target=self._run, name="bucket-keeper", daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        client = make_s3_client(self.settings)
        bucket = self.settings.s3_bucket
        while not self._stopped.wait(self.settings.s3_bucket_check_interval):
            try:
                repaired = repair_bucket(client, self.settings)
            except (ClientError, BotoCoreError) as exc:
                log.warning("cannot check bucket %s: %s", bucket, describe_error(exc))
                continue
            if repaired:
                log.warning("restored %s: S3 had lost them (was it restarted?)", repaired)


class Storage:
    """Presigns for the browser and keeps profiles; S3 clients are made per process (gunicorn forks).

    Calls made while a request waits rely on the client's own retries (3 attempts), so that a person
    sees an error page within seconds when S3 is down instead of waiting through start-up-length backoff.
    """

    def __init__(self, settings: UploaderSettings):
        self.settings = settings
        self.bucket = settings.s3_bucket
        self.presigner = Presigner(
            settings.s3_public_endpoint_url,
            settings.s3_bucket,
            settings.aws_region,
            settings.aws_access_key_id,
            settings.aws_secret_access_key.get_secret_value(),
        )
        self._pid: int | None = None
        self._internal: Any = None

    @property
    def internal(self) -> Any:
        if self._pid != os.getpid():
            self._internal = make_s3_client(self.settings)
            self._pid = os.getpid()
        return self._internal

    def presigned_post(self, key: str, content_type: str) -> dict:
        fields, conditions = rules.post_policy(
            content_type, self.settings.upload_max_bytes, self.settings.upload_public_read
        )
        return self.presigner.post(key, fields, conditions, self.settings.upload_expires)

    def presigned_put(self, key: str, content_type: str, size: int) -> tuple[str, dict[str, str]]:
        """A PUT URL whose signature covers Content-Type and Content-Length: S3 refuses any other file."""
        headers = {"Content-Type": content_type}
        if self.settings.upload_public_read:
            headers["x-amz-acl"] = "public-read"
        url = self.presigner.url(
            "PUT", key, self.settings.upload_expires, {**headers, "Content-Length": str(size)}
        )
        return url, headers

    def display_url(self, key: str) -> str:
        """Where a browser can see the object: a presigned GET, or the plain URL when uploads are public."""
        if self.settings.upload_public_read:
            return self.presigner.object_url(key)
        return self.presigner.url("GET", key, self.settings.upload_display_expires)

    def object_exists(self, key: str) -> bool:
        try:
            self.internal.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as exc:
            if is_not_found(exc):
                return False
            raise

    def save_profile(self, profile: rules.Profile, saved_at: str, owner: str, replaces: str | None) -> None:
        """Store the profile only if it is still as it was read: `replaces` is the ETag read (None: there
        was none), so a profile created or changed meanwhile is not overwritten (ProfileChanged)."""
        document = rules.profile_document(profile, saved_at, owner)
        condition = {"IfMatch": replaces} if replaces else {"IfNoneMatch": "*"}
        try:
            self.internal.put_object(
                Bucket=self.bucket,
                Key=rules.profile_key(profile.username),
                Body=json.dumps(document, ensure_ascii=False, indent=2).encode(),
                ContentType="application/json",
                **condition,
            )
        except ClientError as exc:
            if error_code(exc) in ("PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey"):
                raise ProfileChanged(profile.username) from None
            raise

    def read_profile(self, username: str) -> tuple[dict | None, str | None]:
        """The stored document of a profile (None when missing or not JSON) and its ETag (None: no object)."""
        try:
            response = self.internal.get_object(Bucket=self.bucket, Key=rules.profile_key(username))
            body = response["Body"].read()
        except ClientError as exc:
            if is_not_found(exc):
                return None, None
            raise
        try:
            document = json.loads(body)
        except ValueError:
            log.warning("profile %s is not JSON; treating it as nobody's", username)
            document = {}
        return (document if isinstance(document, dict) else {}), response["ETag"]

    def load_profile(self, username: str) -> rules.Profile | None:
        document, _etag = self.read_profile(username)
        return rules.profile_from_document(document) if document else None


class ProfileChanged(Exception):
    """The profile was created or changed by someone else between reading and writing it."""


def init_app(app: Flask, settings: UploaderSettings) -> None:
    """Attach the S3 side to the app (no S3 call here): the storage, and the bucket keeper started by the
    first request of each process."""
    app.extensions["uploader.storage"] = Storage(settings)
    keeper = BucketKeeper(settings)
    app.extensions["uploader.bucket_keeper"] = keeper
    app.before_request(keeper.ensure_running)


def get_storage() -> Storage:
    """The storage of the app handling the current request (set by init_app)."""
    return current_app.extensions["uploader.storage"]
