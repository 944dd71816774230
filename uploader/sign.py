"""The signing API: `GET /sign_s3/` (presigned POST, the reference design's shape) and `GET /sign_s3_put/`."""

from __future__ import annotations

import uuid

from flask import Blueprint, jsonify, request

from uploader import rules
from uploader.settings import get_settings
from uploader.storage import get_storage

bp = Blueprint("sign", __name__)


def upload_rules() -> rules.UploadRules:
    settings = get_settings()
    return rules.UploadRules(tuple(settings.upload_allowed_types), settings.upload_max_bytes)


def refuse(refusal: rules.Refusal):
    return jsonify(error=refusal.message), refusal.status


@bp.get("/sign_s3/")
def sign_post():
    """`{"data": {"url", "fields"}, "url": display URL}`: POST `fields` plus the file to `data.url`."""
    parsed = rules.parse_upload_request(request.args, upload_rules())
    if isinstance(parsed, rules.Refusal):
        return refuse(parsed)
    storage = get_storage()
    key = rules.upload_key(parsed.file_name, uuid.uuid4().hex)
    post = storage.presigned_post(key, parsed.content_type)
    return jsonify(data={"url": post["url"], "fields": post["fields"]}, url=storage.display_url(key))


@bp.get("/sign_s3_put/")
def sign_put():
    """`{"url", "method": "PUT", "headers", "display_url"}`: PUT the file to `url` with exactly `headers`."""
    parsed = rules.parse_upload_request(request.args, upload_rules(), size_required=True)
    if isinstance(parsed, rules.Refusal):
        return refuse(parsed)
    storage = get_storage()
    key = rules.upload_key(parsed.file_name, uuid.uuid4().hex)
    url, headers = storage.presigned_put(key, parsed.content_type, parsed.size)
    return jsonify(url=url, method="PUT", headers=headers, display_url=storage.display_url(key))
