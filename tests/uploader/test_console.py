"""The console in headless Chromium: every page and action against the test's gateway, as a person uses it.

The uploader runs under gunicorn (console on) and talks to the session's gateway; each test makes its own
buckets. Set CONSOLE_SCREENSHOTS=docs/images to regenerate the screenshots of docs/console.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from common.bulk_tar import BucketEntry, ObjectEntry, write_archive
from exporter import naming
from tests.uploader.conftest import Gunicorn
from tests.uploader.images import png_bytes

pytestmark = pytest.mark.browser

REGION = "ap-northeast-1"
PART_BYTES = 5 * 1024 * 1024
SCREENSHOTS = os.environ.get("CONSOLE_SCREENSHOTS")
HOSTILE_KEYS = [
    "with spaces.txt",
    "100% sure.txt",
    "a+b=c.txt",
    "hash#tag.txt",
    "what?.txt",
    "ünïcødé-日本語.txt",
    "new\nline.txt",
    "<img src=x onerror=alert(1)>",
    "é" * 500 + "x" * 24,  # 1,024 bytes
]


def console_env(moto_url: str, server: Gunicorn, **extra: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": REGION,
        "S3_BUCKET": "console-uploads",
        "S3_PUBLIC_ENDPOINT_URL": moto_url,
        "UPLOADER_PUBLIC_URL": server.url,
        "STARTUP_TIMEOUT": "20",
        "S3_BUCKET_CHECK_INTERVAL": "0",
        "CONSOLE_COUNT_LIMIT": "1000",
        "CONSOLE_PART_BYTES": str(PART_BYTES),
        **extra,
    }


def start_console(moto_url: str, **extra: str) -> Gunicorn:
    server = Gunicorn({})
    server.env.update(console_env(moto_url, server, **extra))
    server.start()
    return server


@pytest.fixture(scope="module")
def console(moto_server):
    server = start_console(moto_server.url)
    yield server
    server.stop()


class Dialogs:
    """Every alert/confirm a page opens (an XSS would open one): the test asserts there were none."""

    def __init__(self, page):
        self.seen: list[str] = []
        page.on("dialog", lambda dialog: (self.seen.append(dialog.message), dialog.dismiss()))


@pytest.fixture
def page(browser, console):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=console.url)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.dialogs = Dialogs(page)
    page.csp_errors = []
    page.on("console", lambda m: "Content Security Policy" in m.text and page.csp_errors.append(m.text))
    yield page
    assert page.dialogs.seen == [], "a page opened a dialog: something ran that should not have"
    context.close()


@pytest.fixture
def bucket(s3):
    name = f"console-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


def shoot(page, name: str, full_page: bool = True) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"console-{name}.png"), full_page=full_page)


def bulk_load(moto_url: str, bucket: str, keys: list[str], body: bytes = b"x") -> None:
    """Store many small objects at once through the gateway's bulk import (one tar, one request)."""
    members = [BucketEntry(bucket, REGION)] + [(ObjectEntry(bucket, key, len(body)), [body]) for key in keys]
    answer = requests.post(f"{moto_url}/_bulk/import", data=b"".join(write_archive(members)), timeout=120)
    assert answer.status_code == 200 and answer.json()["objects"] == len(keys), answer.text


def prefix_url(console, bucket: str, prefix: str = "") -> str:
    from urllib.parse import urlencode

    return f"{console.url}/console/b/{bucket}/" + (f"?{urlencode({'prefix': prefix})}" if prefix else "")


def at_prefix(bucket: str, prefix: str = ""):
    """A wait_for_url predicate: the prefix page of `bucket` at `prefix`, however its URL is encoded."""

    def matches(url: str) -> bool:
        parts = urlsplit(url)
        return parts.path == f"/console/b/{bucket}/" and parse_qs(parts.query).get("prefix", [""]) == [prefix]

    return matches


def rows(page) -> list[str]:
    return page.locator("#entries a.entry code.key").all_inner_texts()


def keys_in(s3, bucket: str, prefix: str = "") -> list[str]:
    found = []
    for listed in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += [item["Key"] for item in listed.get("Contents", [])]
    return found


# -- buckets --------------------------------------------------------------------------------------------


def test_the_home_page_links_to_the_console_and_buckets_show_region_versioning_count_and_size(
    page, console, moto_server, s3, bucket
):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"x" * 1500)
    s3.put_object(Bucket=bucket, Key="b/c.txt", Body=b"y" * 548)
    large = f"console-large-{uuid.uuid4().hex[:8]}"
    bulk_load(moto_server.url, large, [f"k{i:05d}" for i in range(1200)])

    page.goto(f"{console.url}/")
    page.click("#nav-console")
    page.wait_for_url(f"{console.url}/console/")
    row = page.locator(f"tr[data-bucket='{bucket}']")
    assert row.locator(".region").inner_text() == REGION
    assert row.locator(".versioning").inner_text() == "Enabled"
    assert row.locator(".objects").inner_text() == "2"
    assert row.locator(".size").inner_text() == "2 KiB"
    big = page.locator(f"tr[data-bucket='{large}']")
    assert big.locator(".objects").inner_text().startswith("≥ ")
    assert big.locator(".size").inner_text().startswith("≥ ")
    shoot(page, "buckets")


def test_create_a_bucket_in_a_region_and_delete_an_empty_one_after_a_confirmation(page, console, s3, bucket):
    name = f"console-new-{uuid.uuid4().hex[:8]}"
    page.goto(f"{console.url}/console/")
    page.fill("#bucket-name", name)
    page.select_option("#bucket-region", "eu-west-1")
    page.click("#create-bucket-submit")
    page.wait_for_url(at_prefix(name))
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
    assert page.locator("#bucket-region").inner_text() == "eu-west-1"

    page.goto(f"{console.url}/console/")
    page.fill("#bucket-name", "Not_A_Bucket")
    page.click("#create-bucket-submit")
    assert "is not a bucket name S3 accepts" in page.locator(".message.error").inner_text()

    s3.put_object(Bucket=bucket, Key="keep.txt", Body=b"x")
    page.goto(f"{console.url}/console/b/{bucket}/delete-bucket")
    assert "is not empty" in page.locator("#not-empty").inner_text()
    assert page.locator("#confirm-delete").count() == 0

    page.goto(f"{console.url}/console/")
    page.click(f"tr[data-bucket='{name}'] .delete-bucket")
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    page.click("#confirm-delete")
    page.wait_for_url(f"{console.url}/console/")
    assert f"Deleted bucket {name}." in page.locator(".message.ok").inner_text()
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


# -- navigation -----------------------------------------------------------------------------------------


def test_folders_breadcrumbs_pages_filter_and_the_jump_box(page, console, moto_server, s3, bucket):
    bulk_load(moto_server.url, bucket, [f"logs/2026/{i:03d}.log" for i in range(250)] + ["logs/readme.txt"])
    page.goto(prefix_url(console, bucket))
    assert rows(page) == ["logs/"]
    page.click("#entries a.folder-link")
    page.wait_for_url(at_prefix(bucket, "logs/"))
    assert rows(page) == ["2026/", "readme.txt"]
    page.click("#entries a.folder-link")
    assert page.locator("#crumbs .crumb").all_inner_texts() == [bucket, "logs", "2026"]

    page.select_option("#page-size", "100")
    page.click("#filter-apply")
    assert len(rows(page)) == 100 and rows(page)[0] == "000.log"
    page.click("#next-page")
    assert rows(page)[0] == "100.log" and len(rows(page)) == 100
    page.click("#next-page")
    assert rows(page)[0] == "200.log" and len(rows(page)) == 50
    assert page.locator("#next-page").count() == 0
    page.click("#first-page")
    assert rows(page)[0] == "000.log"
    shoot(page, "prefix", full_page=False)

    page.fill("#filter", "12")
    page.click("#filter-apply")
    assert rows(page) == [f"{i}.log" for i in range(120, 130)]

    page.click("#crumbs .crumb >> text=logs")
    assert rows(page) == ["2026/", "readme.txt"]

    for uri, expected_url in [
        (f"s3://{bucket}/logs/2026/", at_prefix(bucket, "logs/2026/")),
        (f"s3://{bucket}/logs", at_prefix(bucket, "logs/")),
        (f"s3://{bucket}", at_prefix(bucket)),
    ]:
        page.fill("#jump-uri", uri)
        page.click("#jump-go")
        page.wait_for_url(expected_url)
    page.fill("#jump-uri", f"s3://{bucket}/logs/readme.txt")
    page.click("#jump-go")
    assert page.locator("#object-uri").inner_text() == f"s3://{bucket}/logs/readme.txt"
    page.fill("#jump-uri", f"s3://{bucket}/logs/20")
    page.click("#jump-go")
    assert page.input_value("#filter") == "20" and rows(page) == ["2026/"]
    page.fill("#jump-uri", "s3://No_Such")
    page.click("#jump-go")
    assert "is not an S3 URI" in page.locator("#error-message").inner_text()


def test_hostile_keys_are_listed_opened_and_shown_as_text(page, console, s3, bucket):
    for key in HOSTILE_KEYS:
        s3.put_object(
            Bucket=bucket, Key=key, Body=key.encode(), Metadata={"note": "<script>alert(2)</script>"}
        )
    page.goto(prefix_url(console, bucket))
    listed = rows(page)
    assert sorted(listed) == sorted(HOSTILE_KEYS)
    assert page.locator("img[src=x]").count() == 0
    for index, key in enumerate(sorted(HOSTILE_KEYS)):
        page.locator("#entries a.object-link").nth(index).click()
        assert page.locator("#object-uri").inner_text() == f"s3://{bucket}/{key}"
        assert page.locator("#preview-text").count() == 0 or page.locator("#preview-text").inner_text() == key
        assert page.locator("#metadata code.key").inner_text() == "<script>alert(2)</script>"
        with page.expect_download() as download_info:
            page.click("#download")
        assert Path(download_info.value.path()).read_bytes() == key.encode()
        page.goto(prefix_url(console, bucket))
    for key in HOSTILE_KEYS:
        if "\n" in key:
            continue  # a text box holds one line
        page.fill("#jump-uri", f"s3://{bucket}/{key}")
        page.click("#jump-go")
        assert page.locator("#object-uri").inner_text() == f"s3://{bucket}/{key}"
    page.goto(prefix_url(console, bucket))
    shoot(page, "hostile-keys")

    missing = page.goto(f"{console.url}/console/b/console-no-such-bucket/")
    assert missing.status == 404 and "NoSuchBucket" in page.locator("#error-message").inner_text()
    missing = page.goto(f"{console.url}/console/b/{bucket}/object?key=no%0Asuch")
    assert missing.status == 404 and "S3 refused" in page.locator("#error-message").inner_text()


# -- an object ------------------------------------------------------------------------------------------


def test_an_objects_page_shows_its_properties_metadata_tags_checksums_sse_and_mirror_path(
    page, console, s3, bucket
):
    s3.put_object(
        Bucket=bucket,
        Key="docs/report.json",
        Body=b'{"b": [1, 2], "a": "x"}',
        ContentType="application/json",
        Metadata={"owner": "ada"},
        Tagging="team=s3&stage=test",
        ChecksumAlgorithm="SHA256",
        ServerSideEncryption="AES256",
        StorageClass="STANDARD_IA",
    )
    s3.put_object(Bucket=bucket, Key="docs", Body=b"a key that is also a folder")
    head = s3.head_object(Bucket=bucket, Key="docs/report.json", ChecksumMode="ENABLED")
    page.goto(f"{console.url}/console/b/{bucket}/?prefix=docs/")
    page.click("text=report.json")
    assert page.locator("#prop-size").inner_text().startswith("23 B")
    assert page.locator("#prop-etag").inner_text() == head["ETag"]
    assert page.locator("#prop-type").inner_text() == "application/json"
    assert page.locator("#prop-class").inner_text() == "STANDARD_IA"
    assert page.locator("#prop-sse").inner_text() == "AES256"
    assert page.locator("#prop-modified").inner_text() == head["LastModified"].strftime(
        "%Y-%m-%d %H:%M:%S UTC"
    )
    assert f"Checksum SHA256\t{head['ChecksumSHA256']}" in page.locator("#properties").inner_text()
    assert page.locator("#metadata").inner_text() == "x-amz-meta-owner\tada"
    assert sorted(page.locator("#tags tr").all_inner_texts()) == ["stage\ttest", "team\ts3"]
    assert page.locator("#mirror-path").inner_text() == f"./moto_export/{bucket}/docs/report.json"
    assert json.loads(page.locator("#preview-json").inner_text()) == {"b": [1, 2], "a": "x"}
    assert page.locator("#preview-json").inner_text().startswith('{\n  "b": [')
    shoot(page, "object")

    page.goto(f"{console.url}/console/b/{bucket}/object?key=docs")
    expected = f"./moto_export/{bucket}/{naming.escaped_path('docs')}"
    assert page.locator("#mirror-path").inner_text() == expected  # a key beside its own folder is escaped


def test_versions_and_delete_markers_and_making_an_old_version_current(page, console, s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="note.txt", Body=b"first", ContentType="text/plain")["VersionId"]
    second = s3.put_object(Bucket=bucket, Key="note.txt", Body=b"second", ContentType="text/plain")[
        "VersionId"
    ]
    marker_id = s3.delete_object(Bucket=bucket, Key="note.txt")["VersionId"]
    page.goto(f"{console.url}/console/b/{bucket}/object?key=note.txt")
    assert page.locator("#deleted").is_visible()
    listed = page.eval_on_selector_all("#versions tbody tr", "rows => rows.map(r => r.dataset.version)")
    assert listed[0] == marker_id and sorted(listed) == sorted([marker_id, second, first])
    assert listed.index(second) < listed.index(first), "newest first"
    marker = page.locator("#versions tr.delete-marker")
    assert "current" in marker.inner_text() and "delete marker" in marker.inner_text()
    page.locator(f"#versions tr[data-version='{first}'] button").click()
    assert "is now its current version" in page.locator(".message.ok").inner_text()
    assert page.locator("#preview-text").inner_text() == "first"
    assert s3.get_object(Bucket=bucket, Key="note.txt")["Body"].read() == b"first"
    versions = s3.list_object_versions(Bucket=bucket, Prefix="note.txt")
    assert len(versions["Versions"]) == 3 and len(versions["DeleteMarkers"]) == 1
    listed = page.eval_on_selector_all("#versions tbody tr", "rows => rows.map(r => r.dataset.version)")
    assert len(listed) == 4 and listed[0] not in (marker_id, second, first), (
        "the copy is the new current version"
    )
    assert "current" in page.locator("#versions tbody tr").nth(0).inner_text()
    shoot(page, "versions")


def test_previews_of_images_text_json_csv_large_text_and_download_for_the_rest(page, console, s3, bucket):
    image = png_bytes(48, 32, (200, 80, 20))
    s3.put_object(Bucket=bucket, Key="p/pic.png", Body=image, ContentType="image/png")
    s3.put_object(
        Bucket=bucket, Key="p/notes.txt", Body="héllo <b>text</b>".encode(), ContentType="text/plain"
    )
    s3.put_object(
        Bucket=bucket, Key="p/table.csv", Body=b'name,qty\nbolt,3\n"nut, hex",7\n', ContentType="text/csv"
    )
    big = b"".join(f"line {i:07d}\n".encode() for i in range(30000))  # 390,000 bytes
    s3.put_object(Bucket=bucket, Key="p/big.log", Body=big, ContentType="text/plain")
    binary = bytes(range(256)) * 10
    s3.put_object(Bucket=bucket, Key="p/blob.bin", Body=binary)

    def open_object(key):
        page.goto(f"{console.url}/console/b/{bucket}/object?key={key}")

    open_object("p/pic.png")
    page.wait_for_function("() => document.getElementById('preview-image').naturalWidth === 48")
    assert "X-Amz-Signature=" in page.get_attribute("#preview-image", "src")
    open_object("p/notes.txt")
    assert page.locator("#preview-text").inner_text() == "héllo <b>text</b>"
    open_object("p/table.csv")
    assert page.locator("#preview-csv tr").all_inner_texts() == ["name\tqty", "bolt\t3", "nut, hex\t7"]
    shoot(page, "preview-csv")
    open_object("p/big.log")
    assert "only its first 256 KiB are shown" in page.locator("#preview-truncated").inner_text()
    shown = page.locator("#preview-text").inner_text()
    assert big.decode().startswith(shown) and 256 * 1024 - 20 < len(shown) <= 256 * 1024
    open_object("p/blob.bin")
    assert "No preview" in page.locator("#preview-none").inner_text()
    with page.expect_download() as download_info:
        page.click("#download")
    download = download_info.value
    assert download.suggested_filename == "blob.bin"
    assert Path(download.path()).read_bytes() == binary


def test_a_share_link_with_a_chosen_expiry_and_a_copy_button(page, console, s3, bucket):
    s3.put_object(Bucket=bucket, Key="share me.txt", Body=b"shared bytes")
    page.goto(f"{console.url}/console/b/{bucket}/object?key=share me.txt")
    page.fill("#share-amount", "5")
    page.select_option("#share-unit", "minutes")
    page.click("#share-create")
    link = page.input_value("#share-url")
    assert parse_qs(urlsplit(link).query)["X-Amz-Expires"] == ["300"]
    assert requests.get(link, timeout=10).content == b"shared bytes"
    page.click("#share-copy")
    page.wait_for_function("() => document.getElementById('share-copy').textContent === 'Copied'")
    assert page.evaluate("() => navigator.clipboard.readText()") == link
    shoot(page, "share")

    page.fill("#share-amount", "8")
    page.select_option("#share-unit", "days")
    page.click("#share-create")
    assert "from 1 minute to 7 days" in page.locator("#share-error").inner_text()
    assert page.locator("#share-url").count() == 0
    page.fill("#share-amount", "7")
    page.click("#share-create")
    assert parse_qs(urlsplit(page.input_value("#share-url")).query)["X-Amz-Expires"] == ["604800"]


# -- actions --------------------------------------------------------------------------------------------


def test_upload_several_files_with_the_picker_and_by_drag_and_drop_multipart_for_a_large_one(
    page, console, s3, bucket
):
    s3.put_object(Bucket=bucket, Key="in/here/", Body=b"")
    small = b"small file\n"
    image = png_bytes(16, 16, (0, 90, 200))
    large = os.urandom(PART_BYTES * 2 + 12345)  # three parts
    page.goto(prefix_url(console, bucket, "in/here/"))
    page.set_input_files(
        "#upload-input",
        files=[
            {"name": "small #1?.txt", "mimeType": "text/plain", "buffer": small},
            {"name": "pic.png", "mimeType": "image/png", "buffer": image},
            {"name": "large.bin", "mimeType": "application/octet-stream", "buffer": large},
        ],
    )
    page.wait_for_function(
        "() => document.querySelectorAll('#uploads li.done, #uploads li.failed').length === 3", timeout=60000
    )
    assert page.locator("#uploads li.failed").count() == 0, page.locator("#uploads").inner_text()
    assert all(
        value == 100
        for value in page.eval_on_selector_all("#uploads progress", "bars => bars.map(b => b.value)")
    )
    assert s3.get_object(Bucket=bucket, Key="in/here/small #1?.txt")["Body"].read() == small
    stored = s3.get_object(Bucket=bucket, Key="in/here/pic.png")
    assert stored["ContentType"] == "image/png" and stored["Body"].read() == image
    stored = s3.get_object(Bucket=bucket, Key="in/here/large.bin")
    assert stored["ETag"].endswith('-3"'), "a multipart upload of three parts"
    assert hashlib.sha256(stored["Body"].read()).digest() == hashlib.sha256(large).digest()
    page.wait_for_function("() => document.querySelectorAll('#entries a.object-link').length === 3")
    shoot(page, "upload")

    transfer = page.evaluate_handle(
        """() => { const t = new DataTransfer();
                   t.items.add(new File(['dropped bytes'], 'dropped.txt', {type: 'text/plain'}));
                   return t; }"""
    )
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})
    page.wait_for_function("() => document.querySelectorAll('#uploads li.done').length === 4")
    assert s3.get_object(Bucket=bucket, Key="in/here/dropped.txt")["Body"].read() == b"dropped bytes"


def test_delete_one_or_many_after_a_confirmation_and_a_new_folder(page, console, s3, bucket):
    for key in ("d/one.txt", "d/two.txt", "d/three.txt", "d/new\nline"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    page.goto(prefix_url(console, bucket, "d/"))
    for row in page.locator("#entries tr.object").all():
        if row.locator("code.key").inner_text() in ("one.txt", "two.txt", "new\nline"):
            row.locator("input[type=checkbox]").check()
    page.click("#delete-selected")
    assert sorted(page.locator("#delete-keys code.key").all_inner_texts()) == [
        "d/new\nline",
        "d/one.txt",
        "d/two.txt",
    ]
    assert sorted(keys_in(s3, bucket, "d/")) == ["d/new\nline", "d/one.txt", "d/three.txt", "d/two.txt"]
    shoot(page, "delete")
    page.click("#confirm-delete")
    assert "Deleted 3 objects." in page.locator(".message.ok").inner_text()
    assert keys_in(s3, bucket, "d/") == ["d/three.txt"]

    page.click("text=three.txt")
    page.click("#delete-this")
    page.click("#confirm-delete")
    assert keys_in(s3, bucket, "d/") == []

    page.goto(prefix_url(console, bucket, "d/"))
    page.fill("#folder-name", "new folder")
    page.click("#folder-create")
    page.wait_for_url(at_prefix(bucket, "d/new folder/"))
    assert s3.head_object(Bucket=bucket, Key="d/new folder/")["ContentLength"] == 0


def test_deleting_in_a_versioned_bucket_leaves_a_delete_marker(page, console, s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="v.txt", Body=b"x")
    page.goto(f"{console.url}/console/b/{bucket}/object?key=v.txt")
    page.click("#delete-this")
    assert "delete marker" in page.locator("main").inner_text()
    page.click("#confirm-delete")
    versions = s3.list_object_versions(Bucket=bucket)
    assert len(versions["Versions"]) == 1 and len(versions["DeleteMarkers"]) == 1


# -- live -----------------------------------------------------------------------------------------------


def test_a_prefix_page_follows_the_change_feed_without_a_reload(page, console, s3, bucket):
    s3.put_object(Bucket=bucket, Key="live/first.txt", Body=b"1")
    page.goto(prefix_url(console, bucket, "live/"))
    page.evaluate("() => { window.notReloaded = true; }")
    assert rows(page) == ["first.txt"]
    s3.put_object(Bucket=bucket, Key="live/second.txt", Body=b"2")
    page.wait_for_function("() => document.querySelectorAll('#entries a.object-link').length === 2")
    s3.delete_object(Bucket=bucket, Key="live/first.txt")
    page.wait_for_function("() => document.querySelectorAll('#entries a.object-link').length === 1")
    assert rows(page) == ["second.txt"]
    assert page.evaluate("() => window.notReloaded") is True
    assert page.locator("#live").inner_text() == "live"


# -- safety ---------------------------------------------------------------------------------------------


def test_state_changes_without_the_pages_token_are_refused_and_change_nothing(page, console, s3, bucket):
    page.goto(f"{console.url}/console/")
    name = f"console-csrf-{uuid.uuid4().hex[:8]}"
    status = page.evaluate(
        """async (name) => (await fetch('/console/buckets', {method: 'POST',
             body: new URLSearchParams({name: name, region: 'ap-northeast-1'})})).status""",
        name,
    )
    assert status == 403
    wrong = page.evaluate(
        """async (name) => (await fetch('/console/buckets', {method: 'POST',
             body: new URLSearchParams({name: name, region: 'ap-northeast-1',
                                        csrf_token: 'x'.repeat(43)})})).status""",
        name,
    )
    assert wrong == 403
    s3.put_object(Bucket=bucket, Key="keep.txt", Body=b"x")
    from uploader.console.rules import key_ref

    answer = requests.post(
        f"{console.url}/console/b/{bucket}/delete",
        data={"key": key_ref("keep.txt"), "confirm": "yes", "csrf_token": "y" * 43},
        cookies={"uploader_csrf": "z" * 43},
        timeout=10,
    )
    assert answer.status_code == 403 and "form token" in answer.text
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert keys_in(s3, bucket) == ["keep.txt"]
    api = page.evaluate(
        f"""async () => (await fetch('/console/api/b/{bucket}/uploads', {{method: 'POST',
             headers: {{'Content-Type': 'application/json'}}, body: '{{"name": "x", "size": 1}}'}})).status"""
    )
    assert api == 403


def test_the_content_security_policy_is_strict_and_nothing_inline_runs(page, console, s3, bucket):
    response = page.goto(f"{console.url}/console/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["x-frame-options"] == "DENY"
    ran = page.evaluate(
        """() => new Promise(resolve => { window.inlineRan = false;
             const s = document.createElement('script'); s.textContent = 'window.inlineRan = true';
             document.body.appendChild(s); setTimeout(() => resolve(window.inlineRan), 200); })"""
    )
    assert ran is False, "the CSP blocks inline script"


def test_read_only_hides_and_refuses_every_change(browser, moto_server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="ro/keep.txt", Body=b"x")
    server = start_console(moto_server.url, CONSOLE_READ_ONLY="true")
    try:
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{server.url}/console/")
        assert page.locator("#read-only-badge").is_visible()
        assert page.locator("#create-bucket, .delete-bucket").count() == 0
        page.goto(prefix_url(server, bucket, "ro/"))
        assert rows(page) == ["keep.txt"]
        assert (
            page.locator("#dropzone, #folder-form, #delete-selected, #entries input[type=checkbox]").count()
            == 0
        )
        page.click("text=keep.txt")
        assert page.locator("#delete-this").count() == 0 and page.locator("#share-form").count() == 1
        token = page.evaluate("() => document.body.dataset.csrfToken")
        from uploader.console.rules import key_ref

        for path, form in [
            ("/console/buckets", {"name": "console-ro-new", "region": REGION}),
            (f"/console/b/{bucket}/delete", {"key": key_ref("ro/keep.txt"), "confirm": "yes"}),
            (f"/console/b/{bucket}/folder", {"name": "x", "prefix": ""}),
            (f"/console/b/{bucket}/delete-bucket", {}),
        ]:
            status = page.evaluate(
                """async ([path, form, token]) => (await fetch(path, {method: 'POST',
                     body: new URLSearchParams({...form, csrf_token: token})})).status""",
                [path, form, token],
            )
            assert status == 403, path
        shoot(page, "read-only")
        context.close()
    finally:
        server.stop()
    assert keys_in(s3, bucket) == ["ro/keep.txt"]
    assert "console-ro-new" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_console_enabled_false_turns_it_off(browser, moto_server):
    server = start_console(moto_server.url, CONSOLE_ENABLED="false")
    try:
        context = browser.new_context()
        page = context.new_page()
        assert page.goto(f"{server.url}/console/").status == 404
        page.goto(f"{server.url}/account/")
        assert page.locator("#nav-console").count() == 0
        context.close()
    finally:
        server.stop()
