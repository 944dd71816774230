"""ListObjects and ListObjectsV2 answer as S3 does (moto_gateway/fast_paths/listing.py; issue 19's listing family,
issue 12's listing speed): the pure page selection and document, then a real gateway with real boto3.

S3 API Reference, ListObjects: https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjects.html
S3 API Reference, ListObjectsV2: https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from moto_gateway.fast_paths.listing import (
    ListedObject,
    ListingQuery,
    Page,
    decode_token,
    encode_token,
    listing_query,
    listing_xml,
    query_params,
    select,
)
from moto_gateway.signing.keyring import canonical_id_of
from moto_gateway.wsgi.errors import S3Error
from tests.moto_gateway.access_support import (
    ALICE,
    accounts_server,  # noqa: F401 (fixture)
    alice,
    bob,
    gateway,  # noqa: F401 (fixture)
    new_bucket,
    owner,
    send,
    signed_headers,
)
from tests.moto_gateway.helpers import aws_error

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
TREE = ["asdf", "boo/bar", "boo/baz/xyzzy", "cquux/bla", "cquux/thud"]


def signed(method: str, url: str, key: str = "test", secret: str = "test") -> requests.Response:
    return send(method, url, b"", signed_headers(method, url, key=key, secret=secret))


def elements(response: requests.Response) -> dict[str, list[str]]:
    """Every element of a ListBucketResult by its path below the root ('Contents/Key'), in order."""
    assert response.status_code == 200, response.text
    root = ET.fromstring(response.content)
    found: dict[str, list[str]] = {}

    def walk(node, path):
        for child in node:
            name = path + child.tag.removeprefix(NS)
            found.setdefault(name, []).append(child.text or "")
            walk(child, name + "/")

    walk(root, "")
    return found


# ----- pure: which entries a page holds -----------------------------------------------------------------


def test_pages_with_a_delimiter_list_each_common_prefix_once():
    """ListObjects, Delimiter and NextMarker: keys rolled up into a common prefix count as one entry, and a
    page that starts after a common prefix skips every key under it."""
    names = sorted(TREE)
    first = select(names, "", "/", "", 1)
    assert (first.keys, first.common_prefixes, first.truncated, first.last) == (["asdf"], [], True, "asdf")
    second = select(names, "", "/", first.last, 1)
    assert (second.keys, second.common_prefixes, second.truncated) == ([], ["boo/"], True)
    assert second.last == "boo/"
    third = select(names, "", "/", second.last, 1)
    assert (third.keys, third.common_prefixes, third.truncated) == ([], ["cquux/"], False)


def test_a_delimiter_applies_after_the_prefix():
    """ListObjectsV2, Delimiter: keys that contain the same string between the prefix and the first occurrence
    of the delimiter roll up into one common prefix."""
    page = select(sorted(TREE), "boo/", "/", "", 1000)
    assert (page.keys, page.common_prefixes) == (["boo/bar"], ["boo/baz/"])
    assert select(sorted(TREE), "boo", "/", "", 1000).common_prefixes == ["boo/"]


def test_deleted_keys_and_groups_of_them_are_not_listed():
    """ListObjectsV2 lists objects: a key whose current version is a delete marker is not one, nor is a
    common prefix that holds only such keys; they do not count against max-keys."""
    names = ["a", "b", "gone/1", "gone/2", "kept/1", "z"]
    live = {"a", "kept/1", "z"}.__contains__
    page = select(names, "", "/", "", 2, live)
    assert (page.keys, page.common_prefixes, page.truncated, page.last) == (["a"], ["kept/"], True, "kept/")
    assert select(names, "", "/", "kept/", 2, live).keys == ["z"]


def test_max_keys_zero_is_an_empty_page_that_is_not_truncated():
    """ListObjectsV2, MaxKeys: the response might contain fewer keys but never more; zero asks for none."""
    assert select(sorted(TREE), "", "", "", 0) == Page([], [], False, None)


def test_a_page_holds_at_most_1000_entries_whatever_max_keys_asks():
    """ListObjectsV2, MaxKeys: "By default, the action returns up to 1,000 key names"; never more."""
    names = [f"k{i:05}" for i in range(1500)]
    page = select(names, "", "", "", 5000)
    assert (len(page.keys), page.truncated, page.last) == (1000, True, "k00999")


def test_an_empty_delimiter_groups_nothing_and_is_not_echoed():
    """ListObjects, Delimiter: an empty delimiter is no delimiter (S3 echoes none)."""
    query = listing_query({"delimiter": ""})
    page = select(sorted(TREE), query.prefix, query.delimiter, query.after, query.max_keys)
    assert page.keys == sorted(TREE)
    assert b"<Delimiter>" not in listing_xml("b", query, page, [], "id")


def test_continuation_tokens_round_trip_and_a_forged_one_is_refused():
    """ListObjectsV2, ContinuationToken: an opaque token S3 issued; "Error responses": InvalidArgument."""
    assert decode_token(encode_token("ünï/\ncode")) == "ünï/\ncode"
    for forged in ["", "not base64!", encode_token("x") + "=="]:
        with pytest.raises(S3Error) as refused:
            listing_query({"list-type": "2", "continuation-token": forged})
        assert (refused.value.status, refused.value.code) == (400, "InvalidArgument")


def test_requests_the_layer_leaves_to_moto():
    """Other subresources, an encoding S3 refuses (refused by the conformance layer) and a max-keys that is
    not a number (refused by the request checks) are not listings this module answers."""
    for params in [{"versions": ""}, {"acl": ""}, {"encoding-type": "base64"}, {"max-keys": "-1"},
                   {"list-type": "3"}, {"uploads": ""}]:
        assert listing_query(params) is None
    assert query_params("prefix=a+b&prefix=c&marker=%2B") == {"prefix": "a b", "marker": "+"}


def test_url_encoding_covers_every_element_s3_names():
    """ListObjects, EncodingType: Delimiter, Marker, NextMarker and Key are URL-encoded (and CommonPrefixes,
    which are key prefixes); EncodingType is echoed. The top-level Prefix is echoed as sent (S3 does so,
    botocore does not decode it: test_v1_prefix_comes_back_as_sent)."""
    query = ListingQuery(1, prefix="a b/", delimiter="/", max_keys=1, marker="a b/+", encode=True)
    page = Page(["a b/ä\n"], ["a b/c&d/"], True, "a b/c&d/")
    listed = ListedObject("a b/ä\n", "2026-01-01T00:00:00.000Z", '"e"', 1, "STANDARD")
    document = listing_xml("b", query, page, [listed], "o")
    found = elements(type("R", (), {"status_code": 200, "content": document}))
    assert found["Prefix"] == ["a b/"]
    assert found["Marker"] == ["a%20b/%2B"]
    assert found["NextMarker"] == ["a%20b/c%26d/"]
    assert found["Delimiter"] == ["/"]
    assert found["Contents/Key"] == ["a%20b/%C3%A4%0A"]
    assert found["CommonPrefixes/Prefix"] == ["a%20b/c%26d/"]
    assert found["EncodingType"] == ["url"]


# ----- a real gateway, real boto3 -----------------------------------------------------------------------


def put_all(s3, bucket: str, keys: list[str]) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: s3.put_object(Bucket=bucket, Key=key, Body=key.encode()), keys))


def test_paginators_over_thousands_of_keys(gateway):  # noqa: F811
    """ListObjects / ListObjectsV2 pagination (IsTruncated, NextContinuationToken, the last Key as the next
    Marker): boto3's paginators see every key once, in UTF-8 binary order, 1,000 at most per page."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "thousands")
    keys = [f"dir{i % 3}/key{i:05}" for i in range(2100)] + ["top"]
    put_all(s3, bucket, keys)
    v2_pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=bucket))
    assert [page["KeyCount"] for page in v2_pages] == [1000, 1000, 101]
    assert [o["Key"] for page in v2_pages for o in page["Contents"]] == sorted(keys)
    v1_pages = list(s3.get_paginator("list_objects").paginate(Bucket=bucket))
    assert [o["Key"] for page in v1_pages for o in page["Contents"]] == sorted(keys)
    assert all("NextMarker" not in page for page in v1_pages)
    small = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix="dir1/", PaginationConfig={"PageSize": 150}
    )
    in_dir1 = sorted(k for k in keys if k.startswith("dir1/"))
    assert [o["Key"] for page in small for o in page["Contents"]] == in_dir1
    grouped = list(
        s3.get_paginator("list_objects").paginate(
            Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 1}
        )
    )
    commons = [p["Prefix"] for page in grouped for p in page.get("CommonPrefixes", [])]
    assert commons == ["dir0/", "dir1/", "dir2/"]
    assert [o["Key"] for page in grouped for o in page.get("Contents", [])] == ["top"]
    assert s3.list_objects_v2(Bucket=bucket, MaxKeys=5000)["KeyCount"] == 1000


def test_unicode_and_newline_keys_round_trip_through_url_encoding(gateway):  # noqa: F811
    """ListObjectsV2, EncodingType: boto3 asks for `url` and decodes; keys with a newline, a carriage return,
    '+', '%', spaces and non-ASCII letters come back exactly, and XML-special characters are escaped."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "unicode")
    keys = ["line\nbreak", "carriage\rreturn", "a+b c", "100%/x", "ünïcødé/日本語 😀", "<&>'\"", "tab\tkey"]
    put_all(s3, bucket, keys)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == sorted(keys)
    assert [o["Key"] for o in s3.list_objects(Bucket=bucket)["Contents"]] == sorted(keys)
    folders = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in folders["CommonPrefixes"]] == ["100%/", "ünïcødé/"]
    raw = elements(signed("GET", f"{gateway.url}/{bucket}?list-type=2&encoding-type=url&start-after=a%2Bb"))
    assert raw["StartAfter"] == ["a%2Bb"]
    assert raw["EncodingType"] == ["url"]
    assert "line%0Abreak" in raw["Contents/Key"]
    plain = ET.fromstring(signed("GET", f"{gateway.url}/{bucket}?list-type=2").content)
    assert sorted(node.text for node in plain.iter(f"{NS}Key")) == sorted(keys)


def test_v1_prefix_comes_back_as_sent(gateway):  # noqa: F811
    """ListObjects (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjects.html): the top-level Prefix
    of a v1 answer is the prefix sent, also when boto3 asks for `encoding-type=url` (it decodes only
    Delimiter, Marker and NextMarker): a newline prefix comes back a newline, not `%0A` (issue 28's
    regression from bare Moto, s3-tests' test_bucket_list_prefix_unreadable)."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "unreadable")
    put_all(s3, bucket, ["\nx", "a b/c"])
    found = s3.list_objects(Bucket=bucket, Prefix="\n")
    assert (found["Prefix"], [o["Key"] for o in found["Contents"]]) == ("\n", ["\nx"])
    assert s3.list_objects(Bucket=bucket, Prefix="a b/")["Prefix"] == "a b/"
    assert s3.list_objects_v2(Bucket=bucket, Prefix="\n")["Prefix"] == "\n"


def test_v1_marker_and_next_marker(gateway):  # noqa: F811
    """ListObjects: Marker is echoed (empty when not sent); NextMarker is returned only with a delimiter, and
    then names the last key or common prefix of a truncated page."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "markers")
    put_all(s3, bucket, TREE)
    first = s3.list_objects(Bucket=bucket, MaxKeys=2)
    assert (first["Marker"], first["IsTruncated"], "NextMarker" in first) == ("", True, False)
    assert [o["Key"] for o in first["Contents"]] == ["asdf", "boo/bar"]
    after = s3.list_objects(Bucket=bucket, Marker="boo/bar", MaxKeys=2)
    assert after["Marker"] == "boo/bar"
    assert [o["Key"] for o in after["Contents"]] == ["boo/baz/xyzzy", "cquux/bla"]
    grouped = s3.list_objects(Bucket=bucket, Delimiter="/", MaxKeys=2)
    assert (grouped["IsTruncated"], grouped["NextMarker"]) == (True, "boo/")
    rest = s3.list_objects(Bucket=bucket, Delimiter="/", Marker=grouped["NextMarker"])
    assert [p["Prefix"] for p in rest["CommonPrefixes"]] == ["cquux/"]
    assert (rest["IsTruncated"], "NextMarker" in rest, "Contents" in rest) == (False, False, False)
    raw = elements(signed("GET", f"{gateway.url}/{bucket}?prefix=boo%2F&delimiter=%2F&encoding-type=url"))
    assert (raw["Prefix"], raw["Delimiter"], raw["Marker"]) == (["boo/"], ["/"], [""])
    assert raw["CommonPrefixes/Prefix"] == ["boo/baz/"]


def test_v2_tokens_start_after_fetch_owner_and_max_keys_zero(gateway):  # noqa: F811
    """ListObjectsV2: ContinuationToken is echoed, StartAfter is echoed and where a listing without a token
    starts, Owner only with fetch-owner=true, MaxKeys=0 lists nothing and is not truncated; a token S3 did not
    issue is InvalidArgument."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "tokens")
    put_all(s3, bucket, TREE)
    first = s3.list_objects_v2(Bucket=bucket, MaxKeys=1, StartAfter="asdf")
    assert (first["StartAfter"], [o["Key"] for o in first["Contents"]]) == ("asdf", ["boo/bar"])
    token = first["NextContinuationToken"]
    second = s3.list_objects_v2(Bucket=bucket, ContinuationToken=token, StartAfter="asdf")
    assert second["ContinuationToken"] == first["NextContinuationToken"]
    assert [o["Key"] for o in second["Contents"]] == ["boo/baz/xyzzy", "cquux/bla", "cquux/thud"]
    assert "Owner" not in second["Contents"][0]
    assert "Owner" not in s3.list_objects_v2(Bucket=bucket, FetchOwner=False)["Contents"][0]
    owned = s3.list_objects_v2(Bucket=bucket, FetchOwner=True)["Contents"][0]["Owner"]
    assert owned["ID"] == s3.get_bucket_acl(Bucket=bucket)["Owner"]["ID"]
    zero = s3.list_objects_v2(Bucket=bucket, MaxKeys=0)
    assert (zero["KeyCount"], zero["IsTruncated"], "Contents" in zero) == (0, False, False)
    error = aws_error(signed("GET", f"{gateway.url}/{bucket}?list-type=2&continuation-token=forged"))
    assert (error["status"], error["Code"]) == (400, "InvalidArgument")
    assert error["ArgumentName"] == "continuation-token"


def test_listed_facts_match_the_objects(gateway):  # noqa: F811
    """ListObjectsV2, Contents: ETag, Size, LastModified, StorageClass and ChecksumAlgorithm of each object
    are what HeadObject says; a versioned bucket lists the current version and not a key whose current
    version is a delete marker."""
    s3 = owner(gateway)
    bucket = new_bucket(s3, "facts")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="plain", Body=b"x" * 10, StorageClass="STANDARD_IA")
    s3.put_object(Bucket=bucket, Key="summed", Body=b"y", ChecksumAlgorithm="SHA256")
    for gone in ("gone", "gone-dir/inner"):
        s3.put_object(Bucket=bucket, Key=gone, Body=b"z")
        s3.delete_object(Bucket=bucket, Key=gone)
    listed = {o["Key"]: o for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert sorted(listed) == ["plain", "summed"]
    for key, entry in listed.items():
        head = s3.head_object(Bucket=bucket, Key=key)
        assert (entry["ETag"], entry["Size"]) == (head["ETag"], head["ContentLength"])
        assert entry["LastModified"] == head["LastModified"]
    assert listed["plain"]["StorageClass"] == "STANDARD_IA"
    assert listed["summed"]["ChecksumAlgorithm"] == ["SHA256"]
    assert "CommonPrefixes" not in s3.list_objects_v2(Bucket=bucket, Delimiter="/")


def test_listings_are_still_authorised(gateway):  # noqa: F811
    """ListObjects is s3:ListBucket (S3 User Guide, "Access control list (ACL) overview": READ on a bucket
    lets a grantee list it): another account and an anonymous request are refused a private bucket with
    AccessDenied; the owner lists it, and sees its own canonical id (principals.py) as the objects' owner."""
    bucket = new_bucket(alice(gateway), "private-list")
    alice(gateway).put_object(Bucket=bucket, Key="k", Body=b"1")
    bob_key, bob_secret = "bob-key", "bob-secret"
    refused = aws_error(signed("GET", f"{gateway.url}/{bucket}?list-type=2", key=bob_key, secret=bob_secret))
    assert (refused["status"], refused["Code"]) == (403, "AccessDenied")
    anonymous = aws_error(requests.get(f"{gateway.url}/{bucket}", timeout=10))
    assert (anonymous["status"], anonymous["Code"]) == (403, "AccessDenied")
    with pytest.raises(Exception, match="AccessDenied"):
        bob(gateway).list_objects(Bucket=bucket)
    listing = alice(gateway).list_objects(Bucket=bucket)
    assert listing["Contents"][0]["Owner"]["ID"] == canonical_id_of(ALICE[2])


def test_a_missing_bucket_is_no_such_bucket(gateway):  # noqa: F811
    """ListObjectsV2 of a bucket that does not exist: NoSuchBucket (404), as Moto answers it."""
    error = aws_error(signed("GET", f"{gateway.url}/never-made?list-type=2"))
    assert (error["status"], error["Code"]) == (404, "NoSuchBucket")
