"""The console's pages and its small JSON API (uploads, live updates), one blueprint under /console/.

Every state-changing request is a POST that carries the form token (the page's double-submit cookie, in
a form field or, from console.js, the X-CSRF-Token header); deletions show a confirmation page first.
With CONSOLE_READ_ONLY=true the pages show no form and every POST is refused (403) before it is read.
Keys travel in query strings and form fields, never in paths, so that any key S3 accepts (`%`, `+`, `#`,
`?`, newlines, 1,024 bytes) round-trips; Jinja escapes every key, name and value it shows.
"""

from __future__ import annotations

import hmac
import logging
import math
from urllib.parse import quote

import urllib3
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError
from flask import (
    Blueprint,
    abort,
    flash,
    get_flashed_messages,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from common.s3 import describe_error, error_code, is_not_found
from common.units import human_bytes
from uploader import pages
from uploader.console import rules, store
from uploader.console.store import get_store
from uploader.settings import UploaderSettings, get_settings

log = logging.getLogger(__name__)
bp = Blueprint("console", __name__, url_prefix="/console")
CSRF_HEADER = "X-CSRF-Token"
LIVE_WAIT_SECONDS = 5.0
MAX_FORM_BYTES = 4 * 1024 * 1024
MAX_FLASHED_ERRORS = 3


def init_app(app, settings: UploaderSettings) -> None:
    store.init_app(app, settings)
    app.register_blueprint(bp)


@bp.app_template_global()
def console_enabled() -> bool:
    return get_settings().console_enabled


@bp.app_template_filter("bytes")
def bytes_filter(size: int) -> str:
    return human_bytes(size)


@bp.app_template_filter("ref")
def ref_filter(key: str) -> str:
    return rules.key_ref(key)


def form_ref(name: str) -> str:
    """A key or prefix a form sent as a ref (see rules.key_ref); empty when absent."""
    value = request.values.get(name, "")
    return rules.from_ref(value) if value else ""


@bp.app_template_filter("q")
def query_value(value: str) -> str:
    """A value for a query string: every character but unreserved ones and `/` percent-encoded."""
    return quote(value, safe="/")


@bp.app_template_filter("when")
def when_filter(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


@bp.before_request
def guard():
    """Refuse every change when read-only, and every POST without this page's form token."""
    if request.method == "GET":
        return
    request.max_content_length = MAX_FORM_BYTES  # a delete form may name 1,000 keys of 1,024 bytes
    if get_settings().console_read_only:
        abort(403, description="The console is read-only (CONSOLE_READ_ONLY=true): nothing was changed.")
    cookie = request.cookies.get(pages.CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER) or request.form.get(pages.CSRF_FIELD, "")
    if not (pages.CSRF_TOKEN.match(cookie) and hmac.compare_digest(cookie, sent)):
        abort(
            403,
            description="This request was not sent from a console page (missing or wrong form token); "
            "nothing was changed. Reload the page and try again.",
        )


@bp.after_request
def set_csrf_cookie(response):
    """Every console answer renews the form token's cookie (HttpOnly, SameSite=Strict) and is not cached."""
    token = getattr(request, "console_csrf", None)
    if token:
        response.set_cookie(
            pages.CSRF_COOKIE,
            token,
            httponly=True,
            samesite="Strict",
            secure=get_settings().uploader_public_url.startswith("https://"),
            path="/",
        )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(ClientError)
def s3_refused(exc: ClientError):
    """S3 said no (no such bucket, access denied, ...): the page says what S3 said, with its status."""
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 502)
    if is_not_found(exc) and error_code(exc) in ("NoSuchBucket", "404", "NotFound"):
        status = 404
    message = f"S3 refused: {describe_error(exc)}"
    if request.path.startswith("/console/api/"):
        return jsonify(error=message), status if 400 <= status < 500 else 502
    return render("console/error.html", status if 400 <= status < 500 else 502, message=message, code=status)


@bp.errorhandler(ParamValidationError)
def not_for_s3(exc: ParamValidationError):
    """boto3 would not even send it (an empty key, say): the client's mistake, a 400."""
    message = f"S3 would not take that request: {exc}"
    if request.path.startswith("/console/api/"):
        return jsonify(error=message), 400
    return render("console/error.html", 400, message=message, code=400)


@bp.errorhandler(BotoCoreError)
@bp.errorhandler(urllib3.exceptions.HTTPError)
def s3_unreachable(exc: Exception):
    log.error("console: S3 did not answer: %s", describe_error(exc))
    message = "S3 did not answer; nothing was changed. Please try again."
    if request.path.startswith("/console/api/"):
        return jsonify(error=message), 503
    return render("console/error.html", 503, message=message, code=503)


@bp.errorhandler(rules.Refused)
def refused(exc: rules.Refused):
    if request.path.startswith("/console/api/"):
        return jsonify(error=str(exc)), 400
    return render("console/error.html", 400, message=str(exc), code=400)


def render(template: str, status: int = 200, **context):
    """A console page, with its form token (reused from the cookie, or new) and the read-only flag."""
    token = pages.csrf_token()
    request.console_csrf = token
    settings = get_settings()
    return (
        render_template(
            template,
            csrf_token=token,
            read_only=settings.console_read_only,
            messages=get_flashed_messages(with_categories=True),
            **context,
        ),
        status,
    )


def bucket_name(bucket: str) -> str:
    if not rules.is_valid_bucket_name(bucket):
        abort(404, description="There is no bucket of that name (not a valid bucket name).")
    return bucket


def key_arg(source, name: str = "key") -> str:
    key = source.get(name, "")
    if not key:
        raise rules.Refused("Which object? The request names no key.")
    if len(key.encode("utf-8", "surrogatepass")) > rules.MAX_KEY_BYTES:
        raise rules.Refused("That key is longer than S3's limit of 1,024 bytes.")
    return key


# -- buckets --------------------------------------------------------------------------------------------


@bp.get("/")
def buckets():
    return render(
        "console/buckets.html",
        buckets=get_store().buckets(),
        regions=rules.REGIONS,
        default_region=get_settings().aws_region,
    )


@bp.post("/buckets")
def create_bucket():
    name = request.form.get("name", "").strip()
    region = request.form.get("region", "")
    if not rules.is_valid_bucket_name(name):
        flash(
            f"{name!r} is not a bucket name S3 accepts: 3-63 lowercase letters, digits, dots and hyphens.",
            "error",
        )
        return redirect(url_for("console.buckets"), 303)
    if region not in rules.REGIONS:
        flash(f"{region!r} is not a region the console knows.", "error")
        return redirect(url_for("console.buckets"), 303)
    try:
        get_store().create_bucket(name, region)
    except ClientError as exc:
        flash(f"S3 refused to create {name}: {describe_error(exc)}", "error")
        return redirect(url_for("console.buckets"), 303)
    flash(f"Created bucket {name} in {region}.", "ok")
    return redirect(url_for("console.prefix", bucket=name), 303)


@bp.get("/b/<bucket>/delete-bucket")
def confirm_delete_bucket(bucket: str):
    bucket = bucket_name(bucket)
    return render("console/delete_bucket.html", bucket=bucket, empty=get_store().is_empty(bucket))


@bp.post("/b/<bucket>/delete-bucket")
def delete_bucket(bucket: str):
    bucket = bucket_name(bucket)
    try:
        get_store().delete_bucket(bucket)
    except ClientError as exc:
        if error_code(exc) != "BucketNotEmpty":
            raise
        flash(f"The bucket {bucket} is not empty; delete its objects (and versions) first.", "error")
        return redirect(url_for("console.confirm_delete_bucket", bucket=bucket), 303)
    flash(f"Deleted bucket {bucket}.", "ok")
    return redirect(url_for("console.buckets"), 303)


# -- navigation -----------------------------------------------------------------------------------------


def listing_context(bucket: str) -> dict:
    settings = get_settings()
    prefix = request.args.get("prefix") or form_ref("pref")
    name_filter = request.args.get("filter", "")
    size = rules.page_size(request.args.get("size"), settings.console_page_size)
    token = request.args.get("token") or None
    page = get_store().page(bucket, prefix, prefix + name_filter, size, token)
    return {
        "bucket": bucket,
        "prefix": prefix,
        "name_filter": name_filter,
        "size": size,
        "token": token,
        "page": page,
        "crumbs": rules.breadcrumbs(prefix),
        # url_for for each of 1,000 rows would be a third of the page's time: two bases, then the key.
        # Relative to /console/b/<bucket>/, where both the page and its fragment live.
        "prefix_base": "./?prefix=",
        "object_base": "object?key=",
    }


@bp.get("/b/<bucket>/")
def prefix(bucket: str):
    bucket = bucket_name(bucket)
    context = listing_context(bucket)
    store_ = get_store()
    position = None
    try:
        position = store_.feed.position()
    except (OSError, ValueError) as exc:
        log.warning("console: the change feed did not answer (%s); this page will not update by itself", exc)
    return render(
        "console/prefix.html",
        region=store_.region(bucket),
        versioning=store_.versioning(bucket),
        feed=position,
        part_bytes=get_settings().console_part_bytes,
        **context,
    )


@bp.get("/b/<bucket>/listing")
def listing(bucket: str):
    """The table of a prefix page alone: what the page fetches to update itself."""
    return render("console/listing.html", **listing_context(bucket_name(bucket)))


@bp.get("/go")
def go():
    """`s3://bucket/key-or-prefix`: an object's page if there is such an object, else the prefix's."""
    location = rules.parse_s3_uri(request.args.get("uri", ""))
    bucket, path = location.bucket, location.path
    store_ = get_store()
    if not path or path.endswith("/"):
        return redirect(url_for("console.prefix", bucket=bucket, prefix=path), 303)
    if store_.exists(bucket, path):
        return redirect(url_for("console.object_page", bucket=bucket, key=path), 303)
    if store_.has_children(bucket, path):
        return redirect(url_for("console.prefix", bucket=bucket, prefix=path + "/"), 303)
    parent, name = rules.parent_and_name(path)
    return redirect(url_for("console.prefix", bucket=bucket, prefix=parent, filter=name), 303)


# -- an object ------------------------------------------------------------------------------------------


@bp.get("/b/<bucket>/object")
def object_page(bucket: str):
    bucket = bucket_name(bucket)
    key = form_ref("kref") if "kref" in request.args else key_arg(request.args)
    version_id = request.args.get("version") or None
    settings = get_settings()
    store_ = get_store()
    versioning = store_.versioning(bucket)
    versions = store_.versions(bucket, key) if versioning != "Off" else []
    try:
        detail = store_.detail(bucket, key, version_id)
    except ClientError as exc:
        if not is_not_found(exc) or error_code(exc) == "NoSuchBucket" or not versions:
            raise
        detail = None  # the current version is a delete marker: the versions are still there
    share_url, share_error, share_seconds = None, None, None
    if "share_amount" in request.args and detail is not None:
        try:
            share_seconds = rules.share_seconds(
                request.args["share_amount"], request.args.get("share_unit", "")
            )
            share_url = store_.get_url(bucket, key, detail.version_id if version_id else None, share_seconds)
        except rules.Refused as exc:
            share_error = str(exc)
    kind = rules.preview_kind(detail.content_type, key) if detail else "none"
    preview, image_url = None, None
    if detail is not None and kind == "image":
        image_url = store_.get_url(bucket, key, version_id, settings.upload_display_expires)
    elif detail is not None and kind != "none":
        head = store_.head_bytes(bucket, key, version_id, rules.PREVIEW_BYTES) if detail.size else b""
        preview = rules.text_preview(kind, head, detail.size)
    parent, name = rules.parent_and_name(key)
    return render(
        "console/object.html",
        bucket=bucket,
        key=key,
        name=name,
        parent=parent,
        crumbs=rules.breadcrumbs(parent),
        detail=detail,
        version_id=version_id,
        versioning=versioning,
        versions=versions,
        mirror=rules.mirror_path(settings.console_mirror_dir, bucket, key, store_.has_children(bucket, key)),
        preview=preview,
        image_url=image_url,
        preview_bytes=rules.PREVIEW_BYTES,
        share_url=share_url,
        share_error=share_error,
        share_seconds=share_seconds,
        share_amount=request.args.get("share_amount", "1"),
        share_unit=request.args.get("share_unit", "hours"),
    )


@bp.get("/b/<bucket>/download")
def download(bucket: str):
    """A redirect to a presigned GET that saves the object under its name (one signature per click)."""
    bucket = bucket_name(bucket)
    key = key_arg(request.args)
    url = get_store().get_url(
        bucket, key, request.args.get("version") or None, get_settings().upload_display_expires, download=True
    )
    return redirect(url, 302)


@bp.post("/b/<bucket>/make-current")
def make_current(bucket: str):
    bucket = bucket_name(bucket)
    key = form_ref("key")
    version_id = request.form.get("version", "")
    if not version_id:
        raise rules.Refused("Which version? The request names none.")
    get_store().make_current(bucket, key, version_id)
    flash(f"Version {version_id} was copied over the key and is now its current version.", "ok")
    return redirect(url_for("console.object_page", bucket=bucket, key=key), 303)


@bp.post("/b/<bucket>/delete")
def delete_objects(bucket: str):
    """First POST: the confirmation page (nothing deleted); with `confirm`: delete them."""
    bucket = bucket_name(bucket)
    keys = [rules.from_ref(ref) for ref in request.form.getlist("key") if ref]
    if not all(keys):
        raise rules.Refused("The form named an empty key.")
    back = form_ref("prefix")
    if not keys:
        flash("Nothing was selected, so nothing was deleted.", "error")
        return redirect(url_for("console.prefix", bucket=bucket, prefix=back), 303)
    if len(keys) > 1000:
        raise rules.Refused("Delete at most 1,000 objects at a time.")
    if request.form.get("confirm") != "yes":
        versioning = get_store().versioning(bucket)
        return render(
            "console/delete_objects.html", bucket=bucket, keys=keys, prefix=back, versioning=versioning
        )
    errors = get_store().delete(bucket, keys)
    for error in errors[:MAX_FLASHED_ERRORS]:  # messages ride in the session cookie: a few, not 1,000
        flash(f"S3 did not delete {error}", "error")
    if len(errors) > MAX_FLASHED_ERRORS:
        flash(f"… and {len(errors) - MAX_FLASHED_ERRORS} more objects S3 did not delete.", "error")
    deleted = len(keys) - len(errors)
    flash(f"Deleted {deleted} object{'s' if deleted != 1 else ''}.", "ok")
    return redirect(url_for("console.prefix", bucket=bucket, prefix=back), 303)


@bp.post("/b/<bucket>/folder")
def new_folder(bucket: str):
    bucket = bucket_name(bucket)
    prefix_ = form_ref("prefix")
    key = rules.folder_key(prefix_, request.form.get("name", ""))
    get_store().put_folder(bucket, key)
    flash(f"Created folder {key}.", "ok")
    return redirect(url_for("console.prefix", bucket=bucket, prefix=key), 303)


# -- the JSON API of console.js ---------------------------------------------------------------------------


@bp.post("/api/b/<bucket>/uploads")
def sign_upload(bucket: str):
    """`{"key", "size", "type"}` -> a presigned PUT, or a multipart upload's id and one URL per part."""
    bucket = bucket_name(bucket)
    body = request.get_json(silent=True) or {}
    key = rules.upload_key(rules.from_ref(str(body.get("prefix", ""))), str(body.get("name", "")))
    size = body.get("size")
    if not isinstance(size, int) or size < 0:
        raise rules.Refused("The file's size is missing.")
    content_type = str(body.get("type") or "application/octet-stream")
    settings = get_settings()
    store_ = get_store()
    store_.allow_uploads_from(bucket, settings.cors_origins)
    expires = max(settings.upload_expires, 3600)
    if size <= settings.console_part_bytes:
        return jsonify(
            key=rules.key_ref(key),
            method="PUT",
            url=store_.put_url(bucket, key, expires),
            headers={"Content-Type": content_type},
        )
    part_bytes = max(settings.console_part_bytes, math.ceil(size / 10_000))
    parts = math.ceil(size / part_bytes)
    started = store_.start_multipart(bucket, key, content_type, parts, expires)
    return jsonify(key=rules.key_ref(key), method="MULTIPART", part_bytes=part_bytes, **started)


@bp.post("/api/b/<bucket>/uploads/complete")
def complete_upload(bucket: str):
    bucket = bucket_name(bucket)
    body = request.get_json(silent=True) or {}
    key = rules.from_ref(str(body.get("key", "")))
    etags = body.get("etags")
    if not body.get("upload_id") or not isinstance(etags, list) or not all(isinstance(e, str) for e in etags):
        raise rules.Refused("The upload id or the parts' ETags are missing.")
    get_store().complete_multipart(bucket, key, body["upload_id"], etags)
    return jsonify(done=True)


@bp.post("/api/b/<bucket>/uploads/abort")
def abort_upload(bucket: str):
    bucket = bucket_name(bucket)
    body = request.get_json(silent=True) or {}
    key = rules.from_ref(str(body.get("key", "")))
    if not body.get("upload_id"):
        raise rules.Refused("The upload id is missing.")
    get_store().abort_multipart(bucket, key, body["upload_id"])
    return jsonify(done=True)


@bp.get("/api/b/<bucket>/changes")
def changes(bucket: str):
    """Waits (up to 5 s) for the change feed to move past `after` (the process's one follower of the
    gateway's feed, uploader/console/feed.py); answers whether anything under the page's prefix changed,
    and where the feed is now. A new boot id or missed events mean: reload the table."""
    bucket = bucket_name(bucket)
    prefix_ = form_ref("pref")
    try:
        after = int(request.args.get("after", ""))
    except ValueError:
        raise rules.Refused("after must be a whole number.") from None
    moved = get_store().feed.wait(request.args.get("boot", ""), max(after, 0), LIVE_WAIT_SECONDS)
    if moved is None:
        return jsonify(error="This S3 endpoint has no change feed."), 404
    changed = moved.events is None or any(rules.concerns(event, bucket, prefix_) for event in moved.events)
    return jsonify(boot=moved.boot, seq=moved.seq, changed=changed)
