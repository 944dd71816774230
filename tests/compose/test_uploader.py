"""End-to-end: the uploader in the compose stack, from the host and from a real browser (shared stack)."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
import requests

from tests.compose.conftest import Stack, wait_until
from tests.uploader.images import png_bytes

pytestmark = pytest.mark.compose

UPLOAD_BUCKET = "uploads"


def uploader_url(stack: Stack, host: str = "localhost") -> str:
    return f"http://{host}:{stack.env['UPLOADER_PORT']}"


def test_the_uploader_is_healthy_on_loopback_as_a_non_root_user(stack: Stack):
    service = stack.services()["uploader"]
    assert (service["State"], service["Health"]) == ("running", "healthy")
    published = [(p["URL"], p["PublishedPort"]) for p in service["Publishers"] if p["PublishedPort"]]
    assert published == [("127.0.0.1", int(stack.env["UPLOADER_PORT"]))]
    assert stack.compose("exec", "-T", "uploader", "id", "-u").stdout.strip() == "10001"
    health = requests.get(f"{uploader_url(stack)}/healthz", timeout=5)
    assert health.status_code == 200 and health.json() == {"status": "ok", "bucket": UPLOAD_BUCKET}
    cors = stack.s3().get_bucket_cors(Bucket=UPLOAD_BUCKET)["CORSRules"][0]["AllowedOrigins"]
    assert cors == [uploader_url(stack), uploader_url(stack, "127.0.0.1")]


def test_an_upload_signed_by_the_uploader_lands_in_moto_and_in_the_mirror(stack: Stack):
    content = png_bytes(20, 20, (10, 160, 90))
    signed = requests.get(
        f"{uploader_url(stack)}/sign_s3/",
        params={"file_name": "e2e.png", "file_type": "image/png", "file_size": len(content)},
        timeout=5,
    ).json()
    assert signed["data"]["url"] == f"http://localhost:{stack.moto_port}/{UPLOAD_BUCKET}"
    assert signed["data"]["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    posted = requests.post(
        signed["data"]["url"],
        data=signed["data"]["fields"],
        files={"file": ("e2e.png", content, "image/png")},
        timeout=10,
    )
    assert posted.status_code == 204, posted.text
    key = signed["data"]["fields"]["key"]
    stored = stack.s3().get_object(Bucket=UPLOAD_BUCKET, Key=key)
    assert stored["ContentType"] == "image/png" and stored["Body"].read() == content
    assert requests.get(signed["url"], timeout=10).content == content
    path = stack.export_dir / UPLOAD_BUCKET / key
    wait_until(lambda: path.is_file() and path.read_bytes() == content, 30, f"{path} in the mirror")
    assert path.stat().st_uid == stack.uid


def test_the_gateway_refuses_uploads_that_break_the_uploaders_policy(stack: Stack):
    signed = requests.get(
        f"{uploader_url(stack)}/sign_s3/",
        params={"file_name": "big.png", "file_type": "image/png"},
        timeout=5,
    ).json()
    too_big = requests.post(
        signed["data"]["url"],
        data=signed["data"]["fields"],
        files={"file": ("big.png", b"\0" * (5 * 1024 * 1024 + 1), "image/png")},
        timeout=30,
    )
    assert too_big.status_code == 400 and "<Code>EntityTooLarge</Code>" in too_big.text
    wrong_type = requests.post(
        signed["data"]["url"],
        data={**signed["data"]["fields"], "Content-Type": "text/html"},
        files={"file": ("big.png", b"<html>", "text/html")},
        timeout=10,
    )
    assert wrong_type.status_code == 403 and "AccessDenied" in wrong_type.text
    refused = requests.get(
        f"{uploader_url(stack)}/sign_s3/", params={"file_name": "a.txt", "file_type": "text/plain"}, timeout=5
    )
    assert refused.status_code == 415 and "not accepted" in refused.json()["error"]
    listed = stack.s3().list_objects_v2(Bucket=UPLOAD_BUCKET, Prefix=signed["data"]["fields"]["key"])
    assert listed.get("KeyCount", 0) == 0


@pytest.mark.browser
def test_the_account_page_uploads_from_a_real_browser_and_the_profile_is_mirrored(stack: Stack):
    from playwright.sync_api import expect, sync_playwright

    from tests.browser import launch_chromium

    content = png_bytes(40, 40, (200, 60, 60))
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page()
            page.goto(f"{uploader_url(stack)}/account/")
            page.set_input_files(
                "#file_input", files=[{"name": "e2e.png", "mimeType": "image/png", "buffer": content}]
            )
            expect(page.locator("#status")).to_have_class("ok", timeout=20000)
            page.wait_for_function("() => document.getElementById('preview').naturalWidth === 40")
            key = re.sub(r"^/uploads/", "", urlsplit(page.input_value("#avatar-url")).path)
            assert stack.s3().get_object(Bucket=UPLOAD_BUCKET, Key=key)["Body"].read() == content
            page.fill("#username", "e2e-user")
            page.fill("#full-name", "End To End")
            page.click("#submit")
            page.wait_for_url(f"{uploader_url(stack)}/profile/e2e-user/")
            assert page.locator("#profile-name").inner_text() == "End To End"
        finally:
            browser.close()
    profile = stack.export_dir / UPLOAD_BUCKET / "profiles" / "e2e-user.json"
    wait_until(profile.is_file, 30, f"{profile} in the mirror")
    assert json.loads(profile.read_text())["avatar_key"] == key


@pytest.mark.browser
def test_the_console_manages_a_bucket_end_to_end_and_names_the_mirror_file(stack: Stack):
    """Create a bucket in the console, upload into a folder, watch it appear live, open it, find its file."""
    from playwright.sync_api import sync_playwright

    from tests.browser import launch_chromium

    bucket = "console-e2e"
    content = b"from the console\n"
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page()
            page.set_default_timeout(20000)
            page.goto(f"{uploader_url(stack)}/account/")
            page.click("#nav-console")
            assert page.locator(f"tr[data-bucket='{UPLOAD_BUCKET}']").count() == 1
            page.fill("#bucket-name", bucket)
            page.select_option("#bucket-region", "eu-west-1")
            page.click("#create-bucket-submit")
            page.wait_for_selector("#bucket-region")
            assert stack.s3().get_bucket_location(Bucket=bucket)["LocationConstraint"] == "eu-west-1"
            page.fill("#folder-name", "notes")
            page.click("#folder-create")
            page.wait_for_selector("#no-entries")
            page.set_input_files(
                "#upload-input", files=[{"name": "hello world.txt", "mimeType": "text/plain", "buffer": content}]
            )
            page.wait_for_selector("#uploads li.done")
            stack.s3().put_object(Bucket=bucket, Key="notes/from-elsewhere.txt", Body=b"x")
            page.wait_for_selector("#entries code.key:text-is('from-elsewhere.txt')")  # live, from the feed
            page.click("#entries code.key:text-is('hello world.txt')")
            assert page.locator("#preview-text").inner_text() == content.decode()
            mirror = page.locator("#mirror-path").inner_text()
        finally:
            browser.close()
    assert mirror == f"{stack.env['EXPORT_DIR_HOST']}/{bucket}/notes/hello world.txt"
    path = stack.export_dir / bucket / "notes" / "hello world.txt"
    wait_until(lambda: path.is_file() and path.read_bytes() == content, 30, f"{path} in the mirror")
    assert stack.s3().get_object(Bucket=bucket, Key="notes/hello world.txt")["Body"].read() == content
