"""`GET /healthz`: the container healthcheck; answers from memory, never calls S3."""

from flask import Blueprint, current_app, jsonify

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    settings = current_app.config["UPLOADER_SETTINGS"]
    return jsonify(status="ok", bucket=settings.s3_bucket)
