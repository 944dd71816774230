"""The console's pure decisions: S3 URIs, key refs, breadcrumbs, share expiries, previews, mirror paths."""

from __future__ import annotations

import pytest

from exporter import naming
from uploader.console import rules
from uploader.console.store import cors_allows_upload

HOSTILE = ["a b", "100%", "a+b", "#x", "?q", "ü日本", "new\nline", "cr\rlf", "<img src=x onerror=alert(1)>",
           "é" * 512]  # fmt: skip


@pytest.mark.parametrize("key", HOSTILE)
def test_a_key_ref_round_trips_every_key(key):
    ref = rules.key_ref(key)
    assert ref.isascii() and "\n" not in ref and "=" not in ref
    assert rules.from_ref(ref) == key


def test_a_bad_ref_is_refused_with_a_sentence():
    with pytest.raises(rules.Refused, match="shape"):
        rules.from_ref("not base64!")
    with pytest.raises(rules.Refused, match="1,024"):
        rules.from_ref(rules.key_ref("x" * 1025))


def test_s3_uris():
    assert rules.parse_s3_uri("s3://bucket/a/b") == rules.Location("bucket", "a/b")
    assert rules.parse_s3_uri("  S3://bucket\n") == rules.Location("bucket", "")
    assert rules.parse_s3_uri("bucket/key ends in a space ") == rules.Location(
        "bucket", "key ends in a space "
    )
    for bad in ("", "s3://", "s3://Bad_Bucket/x", "http://bucket/x"):
        with pytest.raises(rules.Refused):
            rules.parse_s3_uri(bad)


def test_breadcrumbs_and_parents():
    assert rules.breadcrumbs("") == []
    assert rules.breadcrumbs("a//b/") == [rules.Crumb("a", "a/"), rules.Crumb("(empty)", "a//"),
                                          rules.Crumb("b", "a//b/")]  # fmt: skip
    assert rules.parent_and_name("a/b/c") == ("a/b/", "c")
    assert rules.parent_and_name("a/b/") == ("a/", "b/")
    assert rules.parent_and_name("c") == ("", "c")


def test_page_sizes_and_share_expiries():
    sizes = [rules.page_size(value, 200) for value in (None, "100", "1000", "99", "1001", "x")]
    assert sizes == [200, 100, 1000, 200, 200, 200]
    assert rules.share_seconds("1", "minutes") == 60
    assert rules.share_seconds("7", "days") == 604800
    for amount, unit in (("59", "seconds"), ("0", "minutes"), ("8", "days"), ("x", "hours"), ("-1", "hours")):
        with pytest.raises(rules.Refused):
            rules.share_seconds(amount, unit)


def test_folder_and_upload_keys():
    assert rules.folder_key("a/", "new folder") == "a/new folder/"
    for bad in ("", "/", "tab\there"):
        with pytest.raises(rules.Refused):
            rules.folder_key("a/", bad)
    assert rules.upload_key("in/", "x #1?.txt") == "in/x #1?.txt"
    with pytest.raises(rules.Refused):
        rules.upload_key("é" * 500, "x" * 30)


def test_the_mirror_path_is_the_exporters_own():
    assert rules.mirror_path("./moto_export", "b", "a/c.txt", False) == "./moto_export/b/a/c.txt"
    assert (
        rules.mirror_path("./moto_export/", "b", "a", True) == f"./moto_export/b/{naming.escaped_path('a')}"
    )
    assert rules.mirror_path("/srv/m", "b", "../x", False) == f"/srv/m/b/{naming.escaped_path('../x')}"


def test_preview_kinds():
    assert rules.preview_kind("image/png", "x") == "image"
    assert rules.preview_kind("binary/octet-stream", "x.json") == "json"
    assert rules.preview_kind("application/vnd.api+json", "x") == "json"
    assert rules.preview_kind("text/csv; charset=utf-8", "x") == "csv"
    assert rules.preview_kind("text/plain", "x") == "text"
    assert rules.preview_kind("application/octet-stream", "notes.md") == "text"
    assert rules.preview_kind("application/zip", "x.zip") == "none"


def test_text_previews():
    assert rules.text_preview("json", b'{"a":[1]}', 9).text == '{\n  "a": [\n    1\n  ]\n}'
    cut = rules.text_preview("json", b'{"a": 1', 100)
    assert (cut.kind, cut.truncated) == ("text", True)
    table = rules.text_preview("csv", b'a,b\n1,"x, y"\n2,3', 100)
    assert table.rows == (("a", "b"), ("1", "x, y")) and table.truncated  # the cut last line is dropped
    assert rules.text_preview("text", "é".encode()[:1], 2).text == ""  # half a character at the cut


def test_which_feed_events_concern_a_page():
    assert rules.concerns({"bucket": "b", "key": "p/x"}, "b", "p/")
    assert not rules.concerns({"bucket": "b", "key": "q/x"}, "b", "p/")
    assert not rules.concerns({"bucket": "c", "key": "p/x"}, "b", "p/")
    assert rules.concerns({"bucket": "b", "key": None}, "b", "p/")
    assert rules.concerns({"bucket": "", "key": None, "op": "reset"}, "b", "p/")


def test_a_cors_rule_that_allows_console_uploads():
    rule = {"AllowedOrigins": ["http://o"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["Content-Type"],
            "ExposeHeaders": ["ETag"]}  # fmt: skip
    assert cors_allows_upload(rule, "http://o")
    assert not cors_allows_upload(rule, "http://other")
    assert not cors_allows_upload({**rule, "ExposeHeaders": []}, "http://o")
    assert cors_allows_upload({**rule, "AllowedOrigins": ["*"], "AllowedHeaders": ["*"]}, "http://other")
