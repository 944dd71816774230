"""The state folder's contract (moto_gateway/state/durable/__init__.py): what other code adds to Moto's
objects is stored by attribute, without a list of fields; only S3's classes are read back."""

from __future__ import annotations

import io
import pickle

import pytest
from moto.s3.models import FakeKey, get_canned_acl

from moto_gateway.state.durable import codec


def test_an_attribute_another_helper_adds_to_a_key_is_stored_and_loaded_with_it():
    template = codec.Template(codec.new_template())
    key = FakeKey("doc", b"bytes", "123456789012", "us-east-1", bucket_name="b")
    key.sse_customer_key_hash = "salted-hash"  # as issue 28's SSE-C would add
    key.lock_mode, key.lock_until = "GOVERNANCE", "2030-01-01T00:00:00Z"
    key.acl = get_canned_acl("public-read")
    etag = key.etag
    record = codec.loads(codec.dumps([codec.key_record(key, 7, {"t": "1"}, template)]))[0]
    kind, diff, metadata, body_id, tags, _skeleton = record
    assert (kind, body_id, tags) == ("k", 7, {"t": "1"})
    assert "acl" in diff, "a changed ACL is stored even though FakeAcl has no equality of its own"
    built = codec.build_key(codec.record_attrs(diff, template), metadata, io.BytesIO(b"bytes"))
    assert built.sse_customer_key_hash == "salted-hash" and built.lock_mode == "GOVERNANCE"
    assert [grant.permissions for grant in built.acl.grants] == [
        grant.permissions for grant in key.acl.grants
    ]
    assert built.name == "doc" and built.etag == etag and built.value == b"bytes"


def test_the_default_acl_is_not_repeated_in_every_record():
    template = codec.Template(codec.new_template())
    key = FakeKey("doc", b"x", "123456789012", "us-east-1", bucket_name="b")
    assert "acl" not in template.diff(key.__dict__)


class Outside:
    pass


def test_a_class_outside_s3s_state_is_refused_when_read_back():
    with pytest.raises(codec.UnsafeState):
        codec.loads(pickle.dumps(Outside()))
    with pytest.raises(codec.UnsafeState):
        codec.loads(b"cos\nsystem\n(S'true'\ntR.")
