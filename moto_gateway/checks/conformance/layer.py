"""Applies conformance rules before Moto sees a request (imperative shell of `rules.py`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from tempfile import SpooledTemporaryFile
from urllib.parse import unquote

from werkzeug.wsgi import get_input_stream

from moto_gateway.checks.conformance import rules
from moto_gateway.moto_patches import part_reads
from moto_gateway.state.s3state import find_bucket
from moto_gateway.state.to_moto import handed_to_moto, multipart_completion
from moto_gateway.wsgi import bodies
from moto_gateway.wsgi.aws_chunked import aws_chunked
from moto_gateway.wsgi.bodies import answered, has_body, pass_on, put_back
from moto_gateway.wsgi.errors import S3Error
from moto_gateway.wsgi.refusals import refuse, refuse_drained
from moto_gateway.wsgi.request import RequestView
from moto_gateway.wsgi.services import MOTO_OWN_PATHS, signed_for_other_service
from moto_gateway.wsgi.xml import malformed_xml

log = logging.getLogger("moto_gateway")
MAX_COMPLETE_BODY = 4 * 1024 * 1024  # 10,000 parts of ~150 bytes each; more is not a CompleteMultipartUpload


def copy_source_size(headers: dict[str, str]) -> int | None:
    """The size of the object x-amz-copy-source names, or None (absent: Moto answers)."""
    source, _, query = unquote(headers.get("x-amz-copy-source", "")).partition("?")
    bucket_name, _, key = source.lstrip("/").partition("/")
    bucket, _account_id = find_bucket(bucket_name)
    if bucket is None or not key:
        return None
    version = query.removeprefix("versionId=") if query.startswith("versionId=") else None
    try:
        if version is None:
            fake = bucket.keys.get(key)
        else:
            versions = bucket.keys.getlist(key, default=[])
            fake = next((v for v in versions if str(v.version_id) == version), None)
    except Exception:  # noqa: BLE001 - Moto's key store mid-change: Moto answers
        return None
    return int(fake.size) if fake is not None and hasattr(fake, "size") else None


def completed_by(bucket, key: str, upload_id: str) -> bool:
    """Whether the key's current version is what this multipart upload completed into: a retried
    CompleteMultipartUpload then succeeds again (S3 API Reference, CompleteMultipartUpload: "applications
    should be prepared to retry any failed requests"; Moto answers it from the key, as S3 does)."""
    try:
        fake = bucket.keys.get(key)
    except Exception:  # noqa: BLE001 - Moto's key store mid-change: as if absent
        return False
    multipart = getattr(fake, "multipart", None) if fake is not None else None
    return multipart is not None and getattr(multipart, "id", None) == upload_id


def upload_algorithm(bucket_name: str, params: dict[str, str]) -> str | None:
    """The checksum algorithm of the multipart upload an UploadPart names (None: no upload, or none named)."""
    if "uploadId" not in params:
        return None
    bucket, _account_id = find_bucket(bucket_name)
    upload = bucket.multiparts.get(params["uploadId"]) if bucket is not None else None
    return (upload.metadata or {}).get("x-amz-checksum-algorithm") if upload is not None else None


class ConformanceLayer:
    def __init__(self, app: Callable, *, spool_memory_bytes: int, cors_required: bool = True):
        self.app = app
        self.spool_memory_bytes = spool_memory_bytes
        self.cors_required = cors_required  # False (GATEWAY_ACCESS=moto): Moto's allow-all preflight stays

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(MOTO_OWN_PATHS):
            return self.app(environ, start_response)
        view = RequestView.from_environ(environ)
        if signed_for_other_service(view.headers.get("authorization", "")):
            return self.app(environ, start_response)
        bucket_name, key = view.addressing.bucket, view.addressing.key
        try:
            if view.method == "OPTIONS":
                self.check_preflight(view, bucket_name, key)
            elif bucket_name is not None:
                if view.method in ("GET", "HEAD") and key and "partNumber" in view.params:
                    self.check_part_read(view, bucket_name, key)
                if key == "" or "uploadId" in view.params:
                    rules.check_listing(view.method, key, view.params)
                if view.method == "POST" and key and "uploads" in view.params:
                    rules.check_checksum_type(view.headers)
                if view.method == "POST" and key and "uploadId" in view.params:
                    return self.complete(environ, view, bucket_name, key, start_response)
                copy_range = view.headers.get("x-amz-copy-source-range")
                if view.method == "PUT" and copy_range is not None and "uploadId" in view.params:
                    rules.check_copy_source_range(copy_range, copy_source_size(view.headers))
                if view.method == "PUT" and key and not set(view.params) - {"partNumber", "uploadId"}:
                    rules.check_checksum_headers(view.headers, upload_algorithm(bucket_name, view.params))
                    checksums = rules.requested_checksums(view.headers)
                    if checksums and has_body(environ) and not aws_chunked(view):
                        return self.with_checksums(environ, view, checksums, start_response)
        except S3Error as error:
            return refuse_drained(view, error, environ, start_response)
        return self.app(environ, start_response)

    def check_preflight(self, view: RequestView, bucket_name: str | None, key: str | None) -> None:
        """S3's CORS rules decide preflights: one without an Origin or a requested method is a bad request, a
        bucket without a CORS configuration refuses every one (under GATEWAY_ACCESS=moto it keeps Moto's
        allow-all answer)."""
        origin = view.headers.get("origin")
        method = view.headers.get("access-control-request-method")
        if self.cors_required and bucket_name:
            rules.check_preflight_headers(origin, method)
        bucket, _account_id = find_bucket(bucket_name)
        if bucket is None or not origin or not method:
            return
        if not getattr(bucket, "cors", None):
            if self.cors_required:
                raise rules.cors_not_enabled(method, "OBJECT" if key else "BUCKET")
            return
        cors = [
            rules.CorsRule(rule.allowed_methods or [], rule.allowed_origins or [], rule.allowed_headers or [])
            for rule in bucket.cors
        ]
        requested_headers = view.headers.get("access-control-request-headers", "")
        if not rules.preflight_allowed(cors, origin, method, requested_headers):
            raise rules.cors_forbidden(method)

    @staticmethod
    def check_part_read(view: RequestView, bucket_name: str, key: str) -> None:
        try:
            part_number = int(view.params["partNumber"])
        except ValueError:
            return  # refused earlier by the request checks
        part_count = None
        bucket, _account_id = find_bucket(bucket_name)
        if bucket is not None and "versionId" not in view.params:
            try:
                fake = bucket.keys.get(key)
            except Exception:  # noqa: BLE001 - Moto's key store mid-change: Moto answers
                fake = None
            if fake is not None and hasattr(fake, "multipart"):
                part_count = len(part_reads.completed_parts(fake)) or 1
        rules.check_part_read(part_number, "range" in view.headers, part_count)

    def complete(
        self, environ: dict, view: RequestView, bucket_name: str, key: str, start_response: Callable
    ) -> Iterable[bytes]:
        bucket, _account_id = find_bucket(bucket_name)
        if bucket is None:
            return self.app(environ, start_response)  # Moto answers NoSuchBucket
        body = get_input_stream(environ).read(MAX_COMPLETE_BODY + 1) if has_body(environ) else b""
        spool = SpooledTemporaryFile(max_size=self.spool_memory_bytes)
        spool.write(body)
        put_back(environ, spool)  # what is read is read: a refusal drains the rest from here
        if len(body) > MAX_COMPLETE_BODY:
            raise malformed_xml()
        rules.check_complete_body(body)  # a body without parts is malformed whatever the upload id
        upload_id = view.params["uploadId"]
        if completed_by(bucket, key, upload_id):
            return self.app(environ, start_response)  # S3 answers a repeated completion as the first: 200
        upload = bucket.multiparts.get(upload_id)
        if upload is None:
            raise rules.no_such_upload(upload_id)
        rules.check_part_checksums_listed(body, upload.metadata or {})
        try:
            with handed_to_moto(multipart_completion, rules.completion_checksums(body, view.headers)):
                return answered(self.app, environ, start_response)
        finally:
            spool.close()

    def with_checksums(
        self, environ: dict, view: RequestView, checksums: list[rules.Checksum], start_response: Callable
    ) -> Iterable[bytes]:
        spool = bodies.spool(environ, self.spool_memory_bytes, *checksums)
        for checksum in checksums:
            if checksum.value() != checksum.expected:
                spool.close()
                return refuse(view, rules.checksum_mismatch(checksum), start_response)
        return pass_on(self.app, environ, start_response, spool)
