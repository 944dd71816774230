"""The uploader's pure decisions: request parsing, key choice, policies, display URLs, profile forms."""

import json

import pytest

from uploader import rules

RULES = rules.UploadRules(("image/png", "image/jpeg"), 1000)
ENDPOINT = "http://localhost:9876"
HEX = "0123456789abcdef0123456789abcdef"


def test_a_good_request_is_accepted_with_or_without_size():
    assert rules.parse_upload_request({"file_name": "me.png", "file_type": "image/png"}, RULES) == (
        rules.UploadRequest("me.png", "image/png", None)
    )
    parsed = rules.parse_upload_request(
        {"file_name": "me.jpg", "file_type": " Image/JPEG ", "file_size": "1000"}, RULES
    )
    assert parsed == rules.UploadRequest("me.jpg", "image/jpeg", 1000)


@pytest.mark.parametrize(
    ("args", "status", "words"),
    [
        ({"file_type": "image/png"}, 400, "file_name is required"),
        ({"file_name": "  ", "file_type": "image/png"}, 400, "file_name is required"),
        ({"file_name": "a" * 1025, "file_type": "image/png"}, 400, "longer than 1024"),
        ({"file_name": "a\nb.png", "file_type": "image/png"}, 400, "control characters"),
        ({"file_name": "a.png"}, 400, "file_type is required"),
        ({"file_name": "a.png", "file_type": "png"}, 400, "is not a media type"),
        ({"file_name": "a.png", "file_type": "image/png\r\nX: y"}, 400, "is not a media type"),
        (
            {"file_name": "a.txt", "file_type": "text/plain"},
            415,
            "text/plain are not accepted; allowed types: image/png",
        ),
        ({"file_name": "a.svg", "file_type": "image/svg+xml"}, 415, "not accepted"),
        ({"file_name": "a.png", "file_type": "image/png", "file_size": "-1"}, 400, "whole number"),
        ({"file_name": "a.png", "file_type": "image/png", "file_size": "1e3"}, 400, "whole number"),
        ({"file_name": "a.png", "file_type": "image/png", "file_size": "٣"}, 400, "whole number"),
        ({"file_name": "a.png", "file_type": "image/png", "file_size": "9" * 30}, 400, "whole number"),
        ({"file_name": "a.png", "file_type": "image/png", "file_size": "0"}, 400, "empty"),
        (
            {"file_name": "a.png", "file_type": "image/png", "file_size": "1001"},
            413,
            "too large (1001 B); the limit is 1000 B",
        ),
    ],
)
def test_bad_requests_are_refused_with_a_status_and_a_reason(args, status, words):
    refusal = rules.parse_upload_request(args, RULES)
    assert isinstance(refusal, rules.Refusal)
    assert refusal.status == status
    assert words in refusal.message


def test_put_requests_must_say_their_size():
    refusal = rules.parse_upload_request(
        {"file_name": "a.png", "file_type": "image/png"}, RULES, size_required=True
    )
    assert refusal == rules.Refusal(400, "file_size is required (the exact size of the file in bytes)")


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("photo.png", "photo.png"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\My Photo (1).PNG", "My-Photo-1.PNG"),
        ("Überraschung façade.jpg", "Uberraschung-facade.jpg"),
        ("..", "file"),
        ("日本語.png", "file.png"),
        (".hidden", "file.hidden"),
        ("a" * 300 + ".jpeg", "a" * 95 + ".jpeg"),
        ("%2e%2e%2fx.png", "2e-2e-2fx.png"),
    ],
)
def test_file_names_become_one_safe_segment(given, safe):
    assert rules.sanitise_file_name(given) == safe
    assert rules.upload_key(given, HEX) == f"uploads/{HEX}/{safe}"
    assert rules.UPLOAD_KEY.match(rules.upload_key(given, HEX))


def test_upload_key_needs_a_real_unique_part():
    with pytest.raises(ValueError):
        rules.upload_key("a.png", "../x")


def test_post_policy_pins_type_and_size_and_adds_the_acl_only_when_public():
    fields, conditions = rules.post_policy("image/png", 1000, public_read=False)
    assert fields == {"Content-Type": "image/png"}
    assert conditions == [{"Content-Type": "image/png"}, ["content-length-range", 1, 1000]]
    fields, conditions = rules.post_policy("image/png", 1000, public_read=True)
    assert fields["acl"] == "public-read" and {"acl": "public-read"} in conditions


def test_display_urls_map_back_to_our_keys_only():
    key = f"uploads/{HEX}/me.png"
    signed = f"{ENDPOINT}/bucket/{key}?X-Amz-Signature=abc"
    assert rules.key_from_display_url(signed, ENDPOINT, "bucket") == key
    assert rules.key_from_display_url(rules.object_url(ENDPOINT, "bucket", key), ENDPOINT, "bucket") == key
    assert rules.key_from_display_url(f"http://evil.example/bucket/{key}", ENDPOINT, "bucket") is None
    assert rules.key_from_display_url(f"https://localhost:9876/bucket/{key}", ENDPOINT, "bucket") is None
    assert rules.key_from_display_url(f"{ENDPOINT}/other/{key}", ENDPOINT, "bucket") is None
    assert rules.key_from_display_url(f"{ENDPOINT}/bucket/profiles/me.json", ENDPOINT, "bucket") is None
    assert rules.key_from_display_url(f"{ENDPOINT}/bucket/uploads/{HEX}/../../x", ENDPOINT, "bucket") is None
    assert rules.key_from_display_url(f"{ENDPOINT}/bucket/uploads/{HEX}/a%2Fb", ENDPOINT, "bucket") is None
    assert rules.key_from_display_url("javascript:alert(1)", ENDPOINT, "bucket") is None
    assert rules.key_from_display_url(f"{ENDPOINT}/bucket/{key}" + "x" * 5000, ENDPOINT, "bucket") is None
    assert rules.key_from_display_url(f"http://h/s3/bucket/{key}", "http://h/s3", "bucket") == key


def test_a_good_profile_form_is_read_and_stored_as_json():
    avatar = f"{ENDPOINT}/bucket/uploads/{HEX}/me.png?sig=1"
    form = {"username": " ada_l ", "full-name": "  Ada   Lovelace ", "avatar-url": avatar}
    profile, errors = rules.parse_profile_form(form, ENDPOINT, "bucket")
    assert errors == []
    assert profile == rules.Profile("ada_l", "Ada Lovelace", f"uploads/{HEX}/me.png")
    document = rules.profile_document(profile, "2026-01-01T00:00:00+00:00", rules.owner_digest("t" * 43))
    assert json.loads(json.dumps(document))["avatar_key"] == f"uploads/{HEX}/me.png"
    assert document["owner"] == rules.owner_digest("t" * 43) and "t" * 43 not in json.dumps(document)
    assert rules.profile_from_document(document) == profile
    assert rules.profile_key("ada_l") == "profiles/ada_l.json"


def test_a_profile_without_avatar_is_fine():
    profile, errors = rules.parse_profile_form({"username": "ada", "full-name": "Ada"}, ENDPOINT, "bucket")
    assert errors == [] and profile.avatar_key is None


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"full-name": "Ada"}, "Username is required."),
        ({"username": "ab", "full-name": "Ada"}, "Username must be 3 to 32"),
        ({"username": "../etc", "full-name": "Ada"}, "Username must be 3 to 32"),
        ({"username": "a" * 33, "full-name": "Ada"}, "Username must be 3 to 32"),
        ({"username": "ada"}, "Full name is required."),
        ({"username": "ada", "full-name": "x" * 101}, "at most 100 characters"),
        ({"username": "ada", "full-name": "Ada\u202eevil"}, "control characters"),
        (
            {"username": "ada", "full-name": "Ada", "avatar-url": "http://evil.example/x.png"},
            "uploaded on this page",
        ),
    ],
)
def test_bad_profile_forms_are_refused_with_reasons(form, error):
    profile, errors = rules.parse_profile_form(form, ENDPOINT, "bucket")
    assert profile is None
    assert any(error in message for message in errors), errors


def test_stored_profiles_that_were_tampered_with_do_not_break_anything():
    assert rules.profile_from_document([1, 2]) is None
    assert rules.profile_from_document({"username": 1, "full_name": "x"}) is None
    tampered = rules.profile_from_document({"username": "ada", "full_name": "Ada", "avatar_key": "../secret"})
    assert tampered == rules.Profile("ada", "Ada", None)


def test_a_profile_is_writable_when_new_or_from_the_session_that_created_it():
    mine, theirs = "a" * 43, "b" * 43
    stored = {"username": "ada", "full_name": "Ada", "owner": rules.owner_digest(mine)}
    assert rules.may_write_profile(None, None)
    assert rules.may_write_profile(None, theirs)
    assert rules.may_write_profile(stored, mine)
    assert not rules.may_write_profile(stored, theirs)
    assert not rules.may_write_profile(stored, None)
    assert not rules.may_write_profile(stored, rules.owner_digest(mine)), "the digest itself is no key"
    assert not rules.may_write_profile({"username": "ada", "full_name": "Ada"}, mine), "no owner: nobody's"
    assert not rules.may_write_profile({"owner": 5}, mine)
