"""The uploader, unchanged, in front of Ceph's radosgw: uploads from headless Chromium through the real page.

The uploader runs under gunicorn pointed at radosgw (bucket, CORS rules and signatures are RGW's to
check); the browser POSTs (the page's own upload) and PUTs (the page's origin, /sign_s3_put/) to radosgw.
"""

from __future__ import annotations

import pytest
import requests

from tests.browser import launch_chromium
from tests.moto_gateway.helpers import aws_error
from tests.uploader.conftest import Gunicorn
from tests.uploader.images import png_bytes
from tests.uploader.test_browser import choose, wait_for_status

pytestmark = [pytest.mark.ceph, pytest.mark.browser]

BUCKET = "ceph-avatars"
MAX_BYTES = 4096

SIGN_FROM_THE_PAGE = """async ([name, size]) => {
  const query = new URLSearchParams({file_name: name, file_type: "image/png", file_size: String(size)});
  return await (await fetch("/sign_s3_put/?" + query)).json();
}"""

PUT_FROM_THE_PAGE = """async ([signed, size]) => {
  try {
    const body = new Uint8Array(size).fill(7);
    const response = await fetch(signed.url, {method: "PUT", headers: signed.headers, body: body});
    return [response.status, await response.text()];
  } catch (error) {
    return [0, String(error)];
  }
}"""


@pytest.fixture(scope="module")
def uploader(rgw):
    server = Gunicorn({})
    server.env.update({
        **rgw.env(),
        "S3_BUCKET": BUCKET,
        "S3_PUBLIC_ENDPOINT_URL": rgw.url,
        "UPLOADER_PUBLIC_URL": server.url,
        "UPLOAD_MAX_BYTES": str(MAX_BYTES),
        "STARTUP_TIMEOUT": "20",
    })
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def page(uploader):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        page.set_default_timeout(15000)
        yield page
        browser.close()


def keys(s3) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_the_page_posts_a_png_into_rgw_and_shows_it(page, uploader, rgw, rgw_s3):
    page.goto(f"{uploader.url}/account/")
    content = png_bytes(48, 48, (200, 30, 90))
    choose(page, "ceph avatar.png", "image/png", content)
    assert "Uploaded ceph avatar.png" in wait_for_status(page, "ok")
    page.wait_for_function("() => document.getElementById('preview').naturalWidth === 48")
    avatar_url = page.input_value("#avatar-url")
    assert avatar_url.startswith(f"{rgw.url}/{BUCKET}/uploads/")
    [key] = [key for key in keys(rgw_s3) if key.endswith("/ceph-avatar.png")]
    stored = rgw_s3.get_object(Bucket=BUCKET, Key=key)
    assert (stored["ContentType"], stored["Body"].read()) == ("image/png", content)


def test_rgw_enforces_the_post_policy_size_limit_the_page_reports_it(page, uploader, rgw_s3):
    def without_size(route):
        route.continue_(url=route.request.url.replace("file_size=", "x="))

    page.route("**/sign_s3/?*", without_size)
    try:
        page.goto(f"{uploader.url}/account/")
        before = keys(rgw_s3)
        choose(page, "big.png", "image/png", png_bytes(padding=MAX_BYTES))
        message = wait_for_status(page, "error")
        assert message == "S3 refused big.png: the file is too large; the limit is 4 KiB."
        assert keys(rgw_s3) == before
    finally:
        page.unroute("**/sign_s3/?*")


def test_a_presigned_put_from_the_page_lands_in_rgw_only_with_the_signed_size(page, uploader, rgw, rgw_s3):
    page.goto(f"{uploader.url}/account/")
    signed = page.evaluate(SIGN_FROM_THE_PAGE, ["put avatar.png", 1000])
    assert signed["url"].startswith(f"{rgw.url}/{BUCKET}/uploads/")
    key = signed["url"].split("?")[0].removeprefix(f"{rgw.url}/{BUCKET}/")

    # RGW refuses a body of another size (403 SignatureDoesNotMatch, as the gateway does) but sends that
    # 403 without CORS headers, so the page sees a network error where the gateway shows the S3 error.
    assert page.evaluate(PUT_FROM_THE_PAGE, [signed, 1010]) == [0, "TypeError: Failed to fetch"]
    assert key not in keys(rgw_s3)
    refused = requests.put(signed["url"], data=bytes(1010), headers=signed["headers"], timeout=10)
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert (aws_error(refused)["status"], aws_error(refused)["Code"]) == (403, "SignatureDoesNotMatch")
    assert page.evaluate(PUT_FROM_THE_PAGE, [signed, 1000]) == [200, ""]
    stored = rgw_s3.get_object(Bucket=BUCKET, Key=key)
    assert (stored["ContentType"], stored["Body"].read()) == ("image/png", bytes([7]) * 1000)
    assert page.evaluate("async (url) => (await fetch(url)).status", signed["display_url"]) == 200
