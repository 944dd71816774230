"""The account page in headless Chromium: real uploads from the browser straight to a real Moto server.

The uploader runs under gunicorn on a free loopback port and signs for the test's Moto server, whose bucket
allows CORS from the uploader's origin only, exactly as in the stack.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.uploader.conftest import Gunicorn, policy_checks_enforced
from tests.uploader.images import png_bytes

pytestmark = pytest.mark.browser

BUCKET = "browser-avatars"
MAX_BYTES = 4096
SCREENSHOTS = Path(os.environ.get("UPLOADER_SCREENSHOTS", "/tmp"))


def uploader_env(moto_url: str, server: Gunicorn, bucket: str, **extra: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "ap-northeast-1",
        "S3_BUCKET": bucket,
        "S3_PUBLIC_ENDPOINT_URL": moto_url,
        "UPLOADER_PUBLIC_URL": server.url,
        "UPLOAD_MAX_BYTES": str(MAX_BYTES),
        "STARTUP_TIMEOUT": "20",
        **extra,
    }


def start_uploader(moto_url: str, bucket: str, **extra: str) -> Gunicorn:
    server = Gunicorn({})
    server.env.update(uploader_env(moto_url, server, bucket, **extra))
    server.start()
    return server


@pytest.fixture(scope="module")
def uploader(moto_server):
    server = start_uploader(moto_server.url, BUCKET)
    yield server
    server.stop()


@pytest.fixture
def page(browser, uploader, s3):
    from uploader.storage import cors_rules

    if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:  # another module reset Moto
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
        s3.put_bucket_cors(Bucket=BUCKET, CORSConfiguration=cors_rules([uploader.url]))
    for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        s3.delete_object(Bucket=BUCKET, Key=item["Key"])
    context = browser.new_context(viewport={"width": 900, "height": 760})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def stored_keys(s3, bucket=BUCKET) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def choose(page, name: str, mime_type: str, content: bytes) -> None:
    page.set_input_files("#file_input", files=[{"name": name, "mimeType": mime_type, "buffer": content}])


def wait_for_status(page, kind: str) -> str:
    from playwright.sync_api import expect

    expect(page.locator("#status")).to_have_class(kind)
    return page.locator("#status").inner_text()


def image_loaded(page, selector: str) -> bool:
    return page.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 0")


def test_upload_a_png_see_it_and_save_the_profile(page, uploader, moto_server, s3):
    from playwright.sync_api import expect

    page.goto(f"{uploader.url}/account/")
    default_src = page.get_attribute("#preview", "src")
    assert default_src.endswith("/static/default-avatar.svg") and image_loaded(page, "#preview")
    assert page.locator("#status").inner_text() == "Please select a file"

    content = png_bytes(64, 64, (47, 111, 222))
    choose(page, "my avatar.png", "image/png", content)
    status = wait_for_status(page, "ok")
    assert "Uploaded my avatar.png" in status

    avatar_url = page.input_value("#avatar-url")
    expect(page.locator("#preview")).to_have_attribute("src", avatar_url)
    page.wait_for_function("() => document.getElementById('preview').naturalWidth === 64")
    assert page.get_attribute("#progress", "hidden") is not None
    assert page.eval_on_selector("#progress", "p => p.value") == 100

    parts = urlsplit(avatar_url)
    assert f"{parts.scheme}://{parts.netloc}" == moto_server.url
    key = parts.path.removeprefix(f"/{BUCKET}/")
    assert re.fullmatch(r"uploads/[0-9a-f]{32}/my-avatar\.png", key)
    stored = s3.get_object(Bucket=BUCKET, Key=key)
    assert stored["ContentType"] == "image/png"
    assert stored["Body"].read() == content
    page.screenshot(path=str(SCREENSHOTS / "uploader-account.png"), full_page=True)

    page.fill("#username", "ada")
    page.fill("#full-name", "Ada Lovelace")
    page.click("#submit")
    page.wait_for_url(f"{uploader.url}/profile/ada/")
    assert page.locator("#profile-name").inner_text() == "Ada Lovelace"
    assert page.locator("#profile-username").inner_text() == "ada"
    page.wait_for_function("() => document.getElementById('profile-avatar').naturalWidth === 64")
    assert "profiles/ada.json" in stored_keys(s3)
    page.screenshot(path=str(SCREENSHOTS / "uploader-profile.png"), full_page=True)


def test_a_disallowed_file_is_refused_with_a_message_and_nothing_is_stored(page, uploader, s3):
    page.goto(f"{uploader.url}/account/")
    choose(page, "notes.txt", "text/plain", b"just some text\n")
    status = wait_for_status(page, "error")
    assert "Cannot upload notes.txt: files of type text/plain are not accepted" in status
    assert page.get_attribute("#preview", "src").endswith("/static/default-avatar.svg")
    assert page.input_value("#avatar-url") == ""
    assert page.is_enabled("#submit")
    assert stored_keys(s3) == []
    page.screenshot(path=str(SCREENSHOTS / "uploader-refused.png"), full_page=True)


def test_an_oversized_file_is_refused_before_upload_with_the_limit(page, uploader, s3):
    page.goto(f"{uploader.url}/account/")
    choose(page, "big.png", "image/png", png_bytes(padding=MAX_BYTES))
    status = wait_for_status(page, "error")
    assert "Cannot upload big.png: the file is too large" in status and "the limit is 4 KiB" in status
    assert stored_keys(s3) == []


def test_an_oversized_file_that_skips_the_size_check_is_refused_by_the_policy(page, uploader, s3):
    assert policy_checks_enforced(s3, BUCKET), "the test's S3 endpoint (our gateway) must check POST policies"

    def without_size(route):
        route.continue_(url=re.sub(r"&?file_size=\d+", "", route.request.url))

    page.route(re.compile(r".*/sign_s3/\?.*"), without_size)
    page.goto(f"{uploader.url}/account/")
    choose(page, "big.png", "image/png", png_bytes(padding=MAX_BYTES))
    status = wait_for_status(page, "error")
    assert status == "S3 refused big.png: the file is too large; the limit is 4 KiB."
    assert page.get_attribute("#preview", "src").endswith("/static/default-avatar.svg")
    assert stored_keys(s3) == []


def test_a_bucket_without_cors_for_this_page_gives_a_clear_message(browser, moto_server, s3):
    server = start_uploader(
        moto_server.url, "browser-no-cors", UPLOAD_CORS_ORIGINS="http://elsewhere.example"
    )
    try:
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{server.url}/account/")
        choose(page, "me.png", "image/png", png_bytes())
        status = wait_for_status(page, "error")
        assert "The upload of me.png failed" in status and "(CORS)" in status
        assert stored_keys(s3, "browser-no-cors") == []
        context.close()
    finally:
        server.stop()


def test_a_bad_profile_form_comes_back_with_the_error(page, uploader, s3):
    page.goto(f"{uploader.url}/account/")
    page.fill("#username", "ada lovelace")
    page.fill("#full-name", "Ada Lovelace")
    page.eval_on_selector("#username", "input => input.removeAttribute('pattern')")
    page.click("#submit")
    page.wait_for_selector("#form-errors")
    assert "Username must be 3 to 32 characters" in page.locator("#form-errors").inner_text()
    assert page.input_value("#full-name") == "Ada Lovelace"
    assert stored_keys(s3) == []


def save_profile(page, uploader, username: str, full_name: str) -> None:
    page.goto(f"{uploader.url}/account/")
    page.fill("#username", username)
    page.fill("#full-name", full_name)
    page.click("#submit")


def test_only_the_browser_session_that_created_a_profile_can_change_it(page, browser, uploader, s3):
    save_profile(page, uploader, "ada", "Ada Lovelace")
    page.wait_for_url(f"{uploader.url}/profile/ada/")
    save_profile(page, uploader, "ada", "Ada King")
    page.wait_for_url(f"{uploader.url}/profile/ada/")
    assert page.locator("#profile-name").inner_text() == "Ada King"

    other = browser.new_context().new_page()
    try:
        save_profile(other, uploader, "ada", "Mallory")
        other.wait_for_selector("#form-errors")
        assert "was created from another browser session" in other.locator("#form-errors").inner_text()
        assert other.input_value("#full-name") == "Mallory"
    finally:
        other.context.close()
    page.goto(f"{uploader.url}/profile/ada/")
    assert page.locator("#profile-name").inner_text() == "Ada King"
