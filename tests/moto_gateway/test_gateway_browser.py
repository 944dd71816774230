"""A browser on another origin uses presigned URLs and POSTs: preflights pass, refusals stay readable."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.browser import launch_chromium
from testkit.clients import REGION

pytestmark = pytest.mark.browser



class AppPage(BaseHTTPRequestHandler):
    """The web app's origin: an empty page on another loopback port than Moto's."""

    def do_GET(self):
        body = b"<html><body>app</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def app_origin():
    server = ThreadingHTTPServer(("127.0.0.1", 0), AppPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def page(app_origin):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page()
            page.goto(f"{app_origin}/")
            yield page
        finally:
            browser.close()


FETCH_PUT = """async ([url, type, text]) => {
  const response = await fetch(url, {method: "PUT", headers: {"Content-Type": type}, body: text});
  return [response.status, await response.text()];
}"""

FETCH_POST = """async ([url, fields, size]) => {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append("file", new Blob(["x".repeat(size)], {type: "text/plain"}), "note.txt");
  const response = await fetch(url, {method: "POST", body: form});
  return [response.status, await response.text()];
}"""


def test_browser_presigned_put_and_post(page, app_origin, s3):
    s3.create_bucket(Bucket="browser", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_cors(  # as on S3, a cross-origin PUT needs the bucket's CORS rules to allow its preflight
        Bucket="browser",
        CORSConfiguration={"CORSRules": [{
            "AllowedMethods": ["PUT", "POST"], "AllowedOrigins": [app_origin], "AllowedHeaders": ["content-type"]
        }]},
    )
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": "browser", "Key": "a b.txt", "ContentType": "text/plain"}
    )
    assert page.evaluate(FETCH_PUT, [url, "text/plain", "from the browser"])[0] == 200
    status, body = page.evaluate(FETCH_PUT, [url, "text/html", "<p>"])
    assert status == 403 and "<Code>SignatureDoesNotMatch</Code>" in body
    presigned = s3.generate_presigned_post(
        "browser", "uploads/${filename}", Conditions=[["content-length-range", 1, 100]]
    )
    status, body = page.evaluate(FETCH_POST, [presigned["url"], presigned["fields"], 101])
    assert status == 400 and "<Code>EntityTooLarge</Code>" in body
    assert page.evaluate(FETCH_POST, [presigned["url"], presigned["fields"], 100])[0] == 204
    assert s3.get_object(Bucket="browser", Key="a b.txt")["Body"].read() == b"from the browser"
    assert s3.head_object(Bucket="browser", Key="uploads/note.txt")["ContentLength"] == 100
