"""The uploader app (Flask test client) against a real Moto server: signing, uploading, profiles, failures."""

from __future__ import annotations

import base64
import json
import re
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from botocore.exceptions import ClientError

from testkit.clients import make_test_client
from testkit.servers import MotoServer, free_port
from tests.uploader.conftest import BUCKET, MAX_BYTES, policy_checks_enforced
from tests.uploader.images import png_bytes
from tests.waiting import wait_until
from common.settings import load_settings
from uploader import StartupError, create_app, prepare_or_stop
from uploader.settings import UploaderSettings

KEY = re.compile(r"^uploads/[0-9a-f]{32}/[A-Za-z0-9][A-Za-z0-9._-]*$")


def sign(client, path="/sign_s3/", **params):
    response = client.get(path, query_string=params)
    return response.status_code, response.get_json()


def post_to_s3(signed: dict, content: bytes, file_name: str = "me.png", content_type: str = "image/png"):
    """What the page's JavaScript does: the signed fields, then the file, as multipart/form-data."""
    return requests.post(
        signed["data"]["url"],
        data=signed["data"]["fields"],
        files={"file": (file_name, content, content_type)},
        timeout=10,
    )


def keys(s3, prefix=""):
    return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


def started_app():
    """What gunicorn does with uploader/gunicorn.conf.py: settings from the environment, the factory
    (preloaded), then S3 prepared once (its on_starting hook)."""
    settings = load_settings(UploaderSettings, "uploader")
    app = create_app(settings)
    prepare_or_stop(settings)
    return app


def test_the_factory_makes_no_s3_call(uploader_env, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    app = create_app()
    assert app.test_client().get("/healthz").status_code == 200
    assert time.monotonic() - started < 2


def test_start_up_creates_the_bucket_with_cors_for_our_origin_only(uploader_env, s3):
    app = started_app()
    assert app.name == "uploader"
    rules = s3.get_bucket_cors(Bucket=BUCKET)["CORSRules"]
    assert rules[0]["AllowedOrigins"] == ["http://127.0.0.1:8000", "http://localhost:8000"]
    assert set(rules[0]["AllowedMethods"]) >= {"POST", "PUT", "GET"}
    assert "*" not in json.dumps(rules)


def test_start_up_keeps_an_existing_bucket_and_reapplies_cors(uploader_env, s3, monkeypatch):
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    s3.put_object(Bucket=BUCKET, Key="kept.txt", Body=b"kept")
    monkeypatch.setenv("UPLOAD_CORS_ORIGINS", "http://a.example,http://b.example:81")
    started_app()
    assert s3.get_object(Bucket=BUCKET, Key="kept.txt")["Body"].read() == b"kept"
    assert s3.get_bucket_cors(Bucket=BUCKET)["CORSRules"][0]["AllowedOrigins"] == [
        "http://a.example",
        "http://b.example:81",
    ]


def test_start_up_stops_with_a_clear_reason_when_s3_never_answers(monkeypatch, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("STARTUP_TIMEOUT", "1")
    started = time.monotonic()
    with pytest.raises(StartupError) as stopped:
        started_app()
    assert stopped.value.code == 1
    assert time.monotonic() - started < 15
    assert "uploader cannot start: cannot reach S3 at http://127.0.0.1:" in capsys.readouterr().err


def test_start_up_waits_for_s3_that_comes_up_late(uploader_env, monkeypatch):
    late = MotoServer()
    monkeypatch.setenv("AWS_ENDPOINT_URL", late.url)
    monkeypatch.setenv("STARTUP_TIMEOUT", "30")
    import threading

    starter = threading.Timer(1.5, late.start)
    starter.start()
    try:
        app = started_app()
        assert app.test_client().get("/healthz").status_code == 200
        assert late.process is not None
    finally:
        starter.join()
        late.stop()


def cors_origins(s3, bucket):
    try:
        return s3.get_bucket_cors(Bucket=bucket)["CORSRules"][0]["AllowedOrigins"]
    except ClientError:
        return None


def test_a_restarted_s3_gets_the_bucket_and_cors_back_without_restarting_the_uploader(
    uploader_env, monkeypatch
):
    own = MotoServer()
    own.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", own.url)
    monkeypatch.setenv("S3_PUBLIC_ENDPOINT_URL", own.url)
    monkeypatch.setenv("S3_BUCKET_CHECK_INTERVAL", "0.5")
    app = started_app()
    keeper = app.extensions["uploader.bucket_keeper"]
    try:
        s3 = make_test_client(own.url)
        app.test_client().get("/healthz")  # the first request starts the keeper in this process
        own.restart()  # a new, empty Moto on the same port
        wait_until(
            lambda: cors_origins(s3, BUCKET) == ["http://127.0.0.1:8000", "http://localhost:8000"],
            15,
            "the bucket keeper to put the CORS rules back",
            interval=0.2,
        )
        s3.delete_bucket_cors(Bucket=BUCKET)
        wait_until(
            lambda: cors_origins(s3, BUCKET) == ["http://127.0.0.1:8000", "http://localhost:8000"],
            15,
            "the bucket keeper to put the CORS rules back",
            interval=0.2,
        )
        content = png_bytes()
        _, signed = sign(app.test_client(), file_name="after.png", file_type="image/png")
        assert post_to_s3(signed, content).status_code == 204
    finally:
        keeper.stop()
        own.stop()


def test_healthz_is_cheap_json(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "bucket": BUCKET}


def test_sign_s3_answers_the_reference_shape_with_a_sigv4_policy(client, moto_server):
    status, body = sign(client, file_name="../../My Photo.png", file_type="image/png")
    assert status == 200
    assert set(body) == {"data", "url"} and set(body["data"]) == {"url", "fields"}
    fields = body["data"]["fields"]
    assert body["data"]["url"] == f"{moto_server.url}/{BUCKET}"
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert "AWSAccessKeyId" not in fields and "signature" not in fields
    assert KEY.match(fields["key"]) and fields["key"].endswith("/My-Photo.png")
    assert fields["Content-Type"] == "image/png"
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert {"Content-Type": "image/png"} in policy["conditions"]
    assert ["content-length-range", 1, MAX_BYTES] in policy["conditions"]
    assert {"key": fields["key"]} in policy["conditions"] and {"bucket": BUCKET} in policy["conditions"]
    expires = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert 250 <= (expires - datetime.now(UTC)).total_seconds() <= 301
    display = urlsplit(body["url"])
    assert display.path == f"/{BUCKET}/{fields['key']}"
    assert parse_qs(display.query)["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]


def test_the_secret_key_never_reaches_the_browser(uploader_env, monkeypatch):
    secret = "s3cr3t-never-shown-Zq9"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    client = started_app().test_client()
    answers = [
        client.get("/sign_s3/?file_name=a.png&file_type=image/png").get_data(as_text=True),
        client.get("/sign_s3_put/?file_name=a.png&file_type=image/png&file_size=9").get_data(as_text=True),
        client.get("/account/").get_data(as_text=True),
    ]
    assert not [answer for answer in answers if secret in answer]


def test_two_requests_for_the_same_name_get_different_keys(client):
    first = sign(client, file_name="me.png", file_type="image/png")[1]["data"]["fields"]["key"]
    second = sign(client, file_name="me.png", file_type="image/png")[1]["data"]["fields"]["key"]
    assert first != second


def test_a_signed_post_uploads_a_private_object_the_display_url_shows(client, s3):
    content = png_bytes(16, 16)
    _, signed = sign(client, file_name="me.png", file_type="image/png", file_size=len(content))
    response = post_to_s3(signed, content)
    assert response.status_code == 204, response.text
    key = signed["data"]["fields"]["key"]
    stored = s3.get_object(Bucket=BUCKET, Key=key)
    assert stored["ContentType"] == "image/png"
    assert stored["Body"].read() == content
    shown = requests.get(signed["url"], timeout=10)
    assert shown.status_code == 200 and shown.content == content
    grants = s3.get_object_acl(Bucket=BUCKET, Key=key)["Grants"]
    assert not [g for g in grants if g["Grantee"].get("URI", "").endswith("AllUsers")]


def test_public_read_uploads_get_the_acl_and_a_plain_display_url(uploader_env, monkeypatch, s3):
    monkeypatch.setenv("UPLOAD_PUBLIC_READ", "true")
    client = started_app().test_client()
    content = png_bytes()
    _, signed = sign(client, file_name="me.png", file_type="image/png")
    assert signed["data"]["fields"]["acl"] == "public-read"
    assert "?" not in signed["url"]
    assert post_to_s3(signed, content).status_code == 204
    key = signed["data"]["fields"]["key"]
    grants = s3.get_object_acl(Bucket=BUCKET, Key=key)["Grants"]
    assert [
        g for g in grants if g["Grantee"].get("URI", "").endswith("AllUsers") and g["Permission"] == "READ"
    ]
    assert requests.get(signed["url"], timeout=10).content == content


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({}, 400, "file_name is required"),
        ({"file_name": "me.png"}, 400, "file_type is required"),
        ({"file_name": "me.png", "file_type": "nonsense"}, 400, "not a media type"),
        ({"file_name": "notes.txt", "file_type": "text/plain"}, 415, "text/plain are not accepted"),
        ({"file_name": "x.html", "file_type": "text/html"}, 415, "not accepted"),
        (
            {"file_name": "me.png", "file_type": "image/png", "file_size": str(MAX_BYTES + 1)},
            413,
            "too large",
        ),
        ({"file_name": "me.png", "file_type": "image/png", "file_size": "lots"}, 400, "whole number"),
    ],
)
@pytest.mark.parametrize("path", ["/sign_s3/", "/sign_s3_put/"])
def test_bad_sign_requests_get_a_json_reason_and_nothing_is_stored(client, s3, path, params, status, words):
    code, body = sign(client, path, **params)
    assert code == status
    assert words in body["error"]
    assert keys(s3) == []


def test_unknown_routes_and_methods_on_the_api_answer_json(client):
    response = client.post("/sign_s3/")
    assert response.status_code == 405 and "error" in response.get_json()
    response = client.get("/nowhere/")
    assert response.status_code == 404 and b"<html" in response.data


def test_a_signed_put_uploads_with_exactly_the_signed_headers(client, s3):
    content = png_bytes(4, 4, (200, 10, 10))
    status, signed = sign(
        client, "/sign_s3_put/", file_name="red.png", file_type="image/png", file_size=len(content)
    )
    assert status == 200
    assert set(signed) == {"url", "method", "headers", "display_url"}
    assert signed["method"] == "PUT" and signed["headers"] == {"Content-Type": "image/png"}
    query = parse_qs(urlsplit(signed["url"]).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-SignedHeaders"] == ["content-length;content-type;host"]
    response = requests.put(signed["url"], data=content, headers=signed["headers"], timeout=10)
    assert response.status_code == 200, response.text
    key = urlsplit(signed["url"]).path.removeprefix(f"/{BUCKET}/")
    assert KEY.match(key)
    stored = s3.get_object(Bucket=BUCKET, Key=key)
    assert stored["ContentType"] == "image/png" and stored["Body"].read() == content
    assert requests.get(signed["display_url"], timeout=10).content == content


def test_put_signing_needs_the_size(client):
    code, body = sign(client, "/sign_s3_put/", file_name="me.png", file_type="image/png")
    assert code == 400 and "file_size is required" in body["error"]


def test_the_bucket_answers_cors_preflights_for_our_origin_only(client, moto_server):
    bucket_url = f"{moto_server.url}/{BUCKET}"
    ours = requests.options(
        bucket_url,
        headers={"Origin": "http://127.0.0.1:8000", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert ours.status_code == 200
    assert ours.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8000"
    theirs = requests.options(
        bucket_url,
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert theirs.status_code == 403  # a browser gives up on any preflight that is not 2xx


def test_the_account_page_has_the_reference_elements(client):
    response = client.get("/account/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for element in (
        'id="file_input"',
        'id="status"',
        'id="preview"',
        'id="avatar-url"',
        'name="avatar-url"',
        'name="username"',
        'name="full-name"',
        'action="/submit_form/"',
        "default-avatar.svg",
    ):
        assert element in page
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert client.get("/").headers["Location"].endswith("/account/")
    assert client.get("/static/upload.js").status_code == 200
    assert client.get("/static/default-avatar.svg").status_code == 200


def form_token(client) -> str:
    page = client.get("/account/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def upload_avatar(client) -> tuple[str, bytes]:
    content = png_bytes(12, 12)
    _, signed = sign(client, file_name="ada.png", file_type="image/png")
    assert post_to_s3(signed, content).status_code == 204
    return signed["url"], content


def test_submitting_the_form_stores_the_profile_and_shows_it(client, s3):
    avatar_url, content = upload_avatar(client)
    form = {
        "username": "ada",
        "full-name": "Ada Lovelace",
        "avatar-url": avatar_url,
        "csrf_token": form_token(client),
    }
    response = client.post("/submit_form/", data=form)
    assert response.status_code == 303
    assert response.headers["Location"] == "/profile/ada/"
    stored = s3.get_object(Bucket=BUCKET, Key="profiles/ada.json")
    assert stored["ContentType"] == "application/json"
    document = json.loads(stored["Body"].read())
    assert document["username"] == "ada" and document["full_name"] == "Ada Lovelace"
    assert document["avatar_key"] == urlsplit(avatar_url).path.removeprefix(f"/{BUCKET}/")
    page = client.get("/profile/ada/").get_data(as_text=True)
    assert "Ada Lovelace" in page
    shown = re.search(r'id="profile-avatar" src="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert requests.get(shown, timeout=10).content == content


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"username": "", "full-name": "Ada"}, "Username is required."),
        ({"username": "ada", "full-name": ""}, "Full name is required."),
        ({"username": "a/b", "full-name": "Ada"}, "Username must be 3 to 32"),
        ({"username": "ada", "full-name": "A" * 200}, "at most 100 characters"),
        (
            {"username": "ada", "full-name": "Ada", "avatar-url": "http://evil.example/x.png"},
            "uploaded on this page",
        ),
    ],
)
def test_bad_forms_come_back_with_the_error_and_nothing_is_stored(client, s3, form, error):
    response = client.post("/submit_form/", data={**form, "csrf_token": form_token(client)})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert error.replace("'", "&#39;") in page
    assert f'value="{form["full-name"]}"' in page
    assert keys(s3, "profiles/") == []


def test_an_avatar_url_of_ours_that_was_never_uploaded_is_refused(client, s3):
    _, signed = sign(client, file_name="ghost.png", file_type="image/png")
    form = {
        "username": "ada",
        "full-name": "Ada",
        "avatar-url": signed["url"],
        "csrf_token": form_token(client),
    }
    response = client.post("/submit_form/", data=form)
    assert response.status_code == 400
    assert "was not found in S3" in response.get_data(as_text=True)
    assert keys(s3, "profiles/") == []


def test_a_form_without_its_token_is_refused_and_nothing_is_stored(client, s3):
    form_token(client)
    response = client.post(
        "/submit_form/", data={"username": "ada", "full-name": "Ada", "csrf_token": "x" * 43}
    )
    assert response.status_code == 403
    assert "This form expired or was not sent from this page" in response.get_data(as_text=True)
    fresh = client.application.test_client()
    assert fresh.post("/submit_form/", data={"username": "ada", "full-name": "Ada"}).status_code == 403
    assert keys(s3, "profiles/") == []


def test_unknown_and_malformed_profiles_are_404_pages(client, s3):
    assert client.get("/profile/nobody/").status_code == 404
    assert client.get("/profile/..%2Fsecret/").status_code == 404
    s3.put_object(Bucket=BUCKET, Key="profiles/broken.json", Body=b"{not json")
    assert client.get("/profile/broken/").status_code == 404


def test_s3_going_away_gives_a_clear_page_and_keeps_the_form(uploader_env, monkeypatch):
    own = MotoServer()
    own.start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", own.url)
        monkeypatch.setenv("S3_PUBLIC_ENDPOINT_URL", own.url)
        client = started_app().test_client()
        token = form_token(client)
    finally:
        own.kill()
    started = time.monotonic()
    response = client.post(
        "/submit_form/", data={"username": "ada", "full-name": "Ada Lovelace", "csrf_token": token}
    )
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "could not be saved right now" in page and 'value="Ada Lovelace"' in page
    assert time.monotonic() - started < 60
    assert client.get("/profile/ada/").status_code == 503
    assert client.get("/healthz").status_code == 200


def test_s3_refuses_posts_that_break_the_policy(client, s3):
    assert policy_checks_enforced(s3, BUCKET), "the test's S3 endpoint (our gateway) must check POST policies"
    _, signed = sign(client, file_name="big.png", file_type="image/png")
    too_big = post_to_s3(signed, png_bytes(padding=MAX_BYTES))
    assert too_big.status_code == 400 and "<Code>EntityTooLarge</Code>" in too_big.text
    _, signed = sign(client, file_name="me.png", file_type="image/png")
    wrong_type = requests.post(
        signed["data"]["url"],
        data={**signed["data"]["fields"], "Content-Type": "text/html"},
        files={"file": ("me.png", b"<script>", "text/html")},
        timeout=10,
    )
    assert wrong_type.status_code == 403 and "AccessDenied" in wrong_type.text
    assert keys(s3, "uploads/") == []


def submit_profile(client, username: str, full_name: str):
    form = {"username": username, "full-name": full_name, "csrf_token": form_token(client)}
    return client.post("/submit_form/", data=form)


def stored_profile(s3, username: str) -> dict:
    return json.loads(s3.get_object(Bucket=BUCKET, Key=f"profiles/{username}.json")["Body"].read())


def test_the_session_that_created_a_profile_may_change_it(client, s3):
    assert submit_profile(client, "ada", "Ada Lovelace").status_code == 303
    cookie = client.get_cookie("uploader_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Strict"
    first = stored_profile(s3, "ada")
    assert re.fullmatch(r"[0-9a-f]{64}", first["owner"]), "the profile stores a digest of the owner token"
    assert first["owner"] not in cookie.value
    assert submit_profile(client, "ada", "Ada King").status_code == 303
    assert stored_profile(s3, "ada")["full_name"] == "Ada King"
    assert stored_profile(s3, "ada")["owner"] == first["owner"]


def test_another_session_cannot_overwrite_a_profile_and_is_told_why(client, s3):
    assert submit_profile(client, "ada", "Ada Lovelace").status_code == 303
    before = s3.get_object(Bucket=BUCKET, Key="profiles/ada.json")["ETag"]
    other = client.application.test_client()
    refused = submit_profile(other, "ada", "Mallory")
    assert refused.status_code == 403
    page = refused.get_data(as_text=True)
    assert "was created from another browser session" in page and "choose another username" in page
    assert 'value="Mallory"' in page, "the form keeps what was typed"
    assert s3.get_object(Bucket=BUCKET, Key="profiles/ada.json")["ETag"] == before
    assert submit_profile(other, "mallory", "Mallory").status_code == 303, "a new name is anyone's to take"


def test_a_session_cookie_not_signed_by_this_uploader_is_not_trusted(uploader_env, client, s3):
    assert submit_profile(client, "ada", "Ada Lovelace").status_code == 303
    stolen = client.get_cookie("uploader_session").value
    tampered = client.application.test_client()
    tampered.set_cookie("uploader_session", stolen[:-2] + ("AA" if not stolen.endswith("AA") else "BB"))
    assert submit_profile(tampered, "ada", "Mallory").status_code == 403
    restarted = create_app().test_client()  # a new random key, as after a restart without UPLOADER_SECRET_KEY
    restarted.set_cookie("uploader_session", stolen)
    assert submit_profile(restarted, "ada", "Ada Again").status_code == 403
    assert stored_profile(s3, "ada")["full_name"] == "Ada Lovelace"


def test_with_uploader_secret_key_sessions_outlive_a_restart(uploader_env, client, s3, monkeypatch):
    monkeypatch.setenv("UPLOADER_SECRET_KEY", "k" * 32)
    before = create_app().test_client()
    assert submit_profile(before, "ada", "Ada Lovelace").status_code == 303
    after = create_app().test_client()
    after.set_cookie("uploader_session", before.get_cookie("uploader_session").value)
    assert submit_profile(after, "ada", "Ada King").status_code == 303
    assert stored_profile(s3, "ada")["full_name"] == "Ada King"


def test_a_profile_without_an_owner_is_nobodys_to_overwrite(client, s3):
    s3.put_object(Bucket=BUCKET, Key="profiles/ada.json", Body=b'{"username": "ada", "full_name": "Ada"}')
    assert submit_profile(client, "ada", "Mallory").status_code == 403
    assert stored_profile(s3, "ada") == {"username": "ada", "full_name": "Ada"}


def test_a_profile_created_between_reading_and_writing_is_not_overwritten(client, s3, monkeypatch):
    """Two sessions racing for one new name: the write is conditional, the loser gets 409 and nothing."""
    from uploader.storage import Storage

    read = Storage.read_profile

    def read_then_someone_else_writes(self, username):
        found = read(self, username)
        s3.put_object(Bucket=BUCKET, Key=f"profiles/{username}.json", Body=b'{"owner": "someone"}')
        return found

    monkeypatch.setattr(Storage, "read_profile", read_then_someone_else_writes)
    response = submit_profile(client, "ada", "Ada Lovelace")
    assert response.status_code == 409
    assert "changed elsewhere at the same moment" in response.get_data(as_text=True)
    assert stored_profile(s3, "ada") == {"owner": "someone"}
