"""Moto 5.2.5 and the principals an ACL names (S3 User Guide, "Access control list (ACL) overview",
grantees: https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#specifying-grantee):

- a grant by e-mail address (`x-amz-grant-*: emailAddress="..."`, or an `AmazonCustomerByEmail` grantee in an
  AccessControlPolicy) names an account: S3 stores it as that account's canonical user grant, and answers
  400 UnresolvableGrantByEmailAddress for an address it does not know. Moto kept the address as a group URI
  (headers) or dropped it (bodies): the patch resolves it against GATEWAY_CREDENTIALS' `email=`;
- ACL answers name one owner for every bucket and object (Moto's id, display name "webfile"): the patch
  names the resource's owner (the bucket's account, or the object's writer, access/writers.py), with
  the display name GATEWAY_CREDENTIALS gives it, and the owner grant Moto wrote as that owner;
- CreateBucket applies `x-amz-grant-*` headers (Moto applied only `x-amz-acl`);
- ListBuckets' Owner is the calling account (S3 API Reference, ListBuckets: "The owner of the buckets
  listed"), with its canonical id and display name; Moto answered one fixed id for every account.
`apply(keyring, owner_of, account_of)` is called by app.py under GATEWAY_ACCESS=s3, with the keyring (its
accounts by e-mail and canonical id), the access layer's `owner_of(bucket, key)` (who owns the bucket or
object) and its `account(account_id)` (an account with its canonical id and display name).
"""

from __future__ import annotations

from collections.abc import Callable

from moto_gateway.moto_patches import require_moto
from moto_gateway.moto_patches.owner_grants import is_owner_placeholder

MOTO_VERSION = "5.2.5"
MOTO_DISPLAY_NAME = "webfile"


def apply(
    keyring,
    owner_of: Callable[[str | None, str | None, str | None], object | None],
    account_of: Callable[[str], object],
) -> None:
    require_moto(MOTO_VERSION, __name__)
    from moto.s3.exceptions import S3ClientError
    from moto.s3.models import OWNER, FakeGrantee
    from moto.s3.responses import S3Response

    if getattr(S3Response._acl_to_dict, "motostack_patched", False):
        return

    class UnresolvableGrantByEmailAddress(S3ClientError):
        code = "UnresolvableGrantByEmailAddress"
        def __init__(self) -> None:
            super().__init__(
                "UnresolvableGrantByEmailAddress",
                "The e-mail address you provided does not match any account on record.",
            )

    UnresolvableGrantByEmailAddress.__module__ = "moto.s3.exceptions"  # Moto finds the service by module

    def by_email(address: str):
        found = keyring.account_by_email(address)
        if found is None:
            raise UnresolvableGrantByEmailAddress()
        return found

    original_from_headers = S3Response._acl_from_headers

    def acl_from_headers(self, headers):
        acl = original_from_headers(self, headers)
        for grant in getattr(acl, "grants", None) or ():
            for index, grantee in enumerate(grant.grantees):
                if grantee.uri and not grantee.uri.startswith(("http://", "https://")):
                    named = by_email(grantee.uri)
                    grant.grantees[index] = FakeGrantee(grantee_id=named.canonical_id,
                                                        display_name=named.display_name)
        return acl

    original_from_xml = S3Response._get_grants_from_xml

    def get_grants_from_xml(self, grant_list, exception_type, permissions):
        for grant in grant_list:
            grantee = grant.get("Grantee") or {}
            if grantee.get("@xsi:type") == "AmazonCustomerByEmail":
                named = by_email(grantee.get("EmailAddress") or "")
                grant["Grantee"] = {**grantee, "@xsi:type": "CanonicalUser", "ID": named.canonical_id,
                                    "DisplayName": named.display_name}
        return original_from_xml(self, grant_list, exception_type, permissions)

    def display_name(found) -> str:
        if found is None:
            return MOTO_DISPLAY_NAME
        return found.display_name or (MOTO_DISPLAY_NAME if found.canonical_id == OWNER else found.account_id)

    def acl_to_dict(self, acl):
        key = version_id = None
        querystring = getattr(self, "querystring", None)
        if querystring and "acl" in querystring:
            try:
                key = self.parse_key_name() or None
            except Exception:  # noqa: BLE001 - a bucket's ACL
                key = None
            version_id = (querystring.get("versionId") or [None])[0]
        owner = owner_of(getattr(self, "bucket_name", None), key, version_id)
        by_id = {a.canonical_id: a for a in keyring.accounts.values()}
        grants = []
        for grant in acl.grants:
            grantee = grant.grantees[0]
            grantee_id = grantee.id or None
            if grantee_id == OWNER and is_owner_placeholder(grantee) and owner is not None:
                grantee_id = owner.canonical_id
            named = by_id.get(grantee_id) if grantee_id else None
            grants.append({
                "Grantee": {
                    "Type": grantee.type,
                    "URI": grantee.uri or None,
                    "ID": grantee_id,
                    "DisplayName": grantee.display_name or (display_name(named) if named else None),
                },
                "Permission": grant.permissions[0],
            })
        return {
            "Owner": {"ID": owner.canonical_id if owner else OWNER, "DisplayName": display_name(owner)},
            "Grants": grants,
        }

    original_bucket_put = S3Response._bucket_response_put

    def bucket_response_put(self, request, bucket_name, querystring):
        answer = original_bucket_put(self, request, bucket_name, querystring)
        headers = request.headers
        grants = any(name.lower().startswith("x-amz-grant-") for name in headers.keys())
        if not querystring and grants and "x-amz-acl" not in headers:
            self.backend.put_bucket_acl(bucket_name, self._acl_from_headers(headers))
        return answer

    original_all_buckets = S3Response.all_buckets

    def all_buckets(self):
        """Moto's ListBuckets, its Owner replaced by the account Moto lists the buckets of."""
        calling = account_of(self.current_account)
        serialize = self.serialized

        def serialized(result):
            if isinstance(result.result, dict) and "Owner" in result.result:
                result.result["Owner"] = {"ID": calling.canonical_id, "DisplayName": display_name(calling)}
            return serialize(result)

        self.serialized = serialized
        try:
            return original_all_buckets(self)
        finally:
            del self.serialized

    acl_to_dict.motostack_patched = True
    S3Response.all_buckets = all_buckets
    S3Response._acl_from_headers = acl_from_headers
    S3Response._get_grants_from_xml = get_grants_from_xml
    S3Response._acl_to_dict = acl_to_dict
    S3Response._bucket_response_put = bucket_response_put
