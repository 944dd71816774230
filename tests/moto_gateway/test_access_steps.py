"""The access layer's steps, each alone, without sockets or Moto state: resolve (who), classify (which
action), and which account Moto acts as."""

from moto_gateway.access.layer import AccessLayer, Principal, request_action
from moto_gateway.signing.keyring import Keyring
from moto_gateway.wsgi.request import RequestView

OTHER_ACCOUNT = "210987654321"


def view(method: str, path: str, query: str = "", **headers: str) -> RequestView:
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "HTTP_HOST": "localhost"}
    environ.update({"HTTP_" + name.upper(): value for name, value in headers.items()})
    return RequestView.build(environ)


def layer() -> AccessLayer:
    keyring = Keyring("default-key", "default-secret", [("other-key", "other-secret", OTHER_ACCOUNT)])
    return AccessLayer(lambda environ, start_response: [], keyring)


def test_delete_objects_acts_on_the_buckets_objects_not_the_bucket():
    action = request_action(view("POST", "/b", "delete"))
    assert (action.name, action.bucket, action.key) == ("DeleteObject", "b", "*")


def test_an_object_request_is_its_objects_action():
    action = request_action(view("GET", "/b/some/key"))
    assert (action.name, action.resource) == ("GetObject", "arn:aws:s3:::b/some/key")
    assert request_action(view("GET", "/b")).name == "ListBucket"


def test_an_unsigned_request_resolves_to_the_anonymous_principal():
    assert layer().resolve(view("GET", "/b/k"), {}) == Principal(False, None, None, None)


def test_a_signed_request_resolves_to_its_keys_account_and_how_it_was_signed():
    authorization = (
        "AWS4-HMAC-SHA256 Credential=other-key/20250101/us-east-1/s3/aws4_request, "
        "SignedHeaders=host, Signature=0"
    )
    who = layer().resolve(view("GET", "/b/k", authorization=authorization), {})
    assert who.signed and who.account.account_id == OTHER_ACCOUNT
    assert (who.auth, who.signature_version) == ("REST-HEADER", "AWS4-HMAC-SHA256")
    presigned = (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=other-key%2F20250101%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Signature=0&X-Amz-Date=20250101T000000Z"
    )
    who = layer().resolve(view("GET", "/b/k", presigned), {})
    assert (who.account.account_id, who.auth) == (OTHER_ACCOUNT, "REST-QUERY-STRING")


def test_moto_acts_as_the_principal_or_for_the_anonymous_one_as_the_bucket_owner():
    access = layer()
    signed = Principal(True, access.keyring.keys["other-key"].account, "REST-HEADER", "AWS")
    assert access.acting_account(signed, "123456789012") == OTHER_ACCOUNT
    anonymous = Principal(False, None, None, None)
    assert access.acting_account(anonymous, OTHER_ACCOUNT) == OTHER_ACCOUNT
    assert access.acting_account(anonymous, None) == access.keyring.default.account.account_id
