"""`GET /healthz`: the container healthcheck; answers from memory, never calls S3."""

from flask import Blueprint, jsonify

from uploader.settings import get_settings

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok", bucket=get_settings().s3_bucket)
