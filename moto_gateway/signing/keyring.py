"""Principals: a request is anonymous (no signature) or signed by a key the stack knows.

Each known key belongs to an account (id and canonical user id). Today's single pair (AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY) is the default and belongs to Moto's default account, whose canonical id is the
owner id Moto writes into every ACL; GATEWAY_CREDENTIALS adds more (`key:secret:account,...`), each
optionally naming its account's canonical id, display name and e-mail (`...:account:id=<64 hex>:name=alice:
email=alice@example.com`), so that grants and ACL answers name real principals.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from moto.s3.models import OWNER as MOTO_OWNER_ID

from moto_gateway.signing import sigv4
from moto_gateway.signing.presigned import Credentials
from moto_gateway.wsgi.request import RequestView

DEFAULT_ACCOUNT_ID = "123456789012"  # Moto's default account (moto.core.DEFAULT_ACCOUNT_ID)


@dataclass(frozen=True)
class Account:
    account_id: str
    canonical_id: str
    display_name: str = ""  # as ACL answers name the account (GATEWAY_CREDENTIALS' name=)
    email: str = ""  # what grants by e-mail address name (GATEWAY_CREDENTIALS' email=)

    @property
    def root_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:root"


ANONYMOUS = None  # the anonymous principal: no account


CHOSEN_CANONICAL_IDS: dict[str, str] = {}
"""account id -> the canonical id GATEWAY_CREDENTIALS' `id=` gives it (filled by the Keyring)."""


def canonical_id_of(account_id: str) -> str:
    """A stable 64-hex canonical user id per account (or the one GATEWAY_CREDENTIALS chose); the default
    account keeps Moto's owner id."""
    if account_id == DEFAULT_ACCOUNT_ID:
        return MOTO_OWNER_ID
    if account_id in CHOSEN_CANONICAL_IDS:
        return CHOSEN_CANONICAL_IDS[account_id]
    return hashlib.sha256(f"motostack-canonical-user:{account_id}".encode()).hexdigest()


def account(account_id: str) -> Account:
    return Account(account_id, canonical_id_of(account_id))


@dataclass(frozen=True)
class KnownKey:
    access_key: str
    secret_key: str
    account: Account


class Keyring:
    """Every key the stack knows; resolves an access key to its secret and account."""

    def __init__(
        self,
        default_key: str,
        default_secret: str,
        extra: list[tuple[str, str, str]] = (),
        profiles: dict[str, dict[str, str]] | None = None,
    ):
        self.default = KnownKey(default_key, default_secret, account(DEFAULT_ACCOUNT_ID))
        self.keys: dict[str, KnownKey] = {default_key: self.default}
        for key, secret, account_id in extra:
            profile = (profiles or {}).get(account_id, {})
            if "id" in profile:
                CHOSEN_CANONICAL_IDS[account_id] = profile["id"]
            known = Account(
                account_id,
                profile.get("id") or canonical_id_of(account_id),
                profile.get("name", ""),
                profile.get("email", ""),
            )
            self.keys.setdefault(key, KnownKey(key, secret, known))
        self.accounts: dict[str, Account] = {k.account.account_id: k.account for k in self.keys.values()}

    def get(self, access_key: str | None) -> KnownKey | None:
        return self.keys.get(access_key) if access_key is not None else None

    def credentials_for(self, access_key: str | None) -> Credentials:
        """The pair to check a signature with: the named key's, or the default's (whose check then
        answers InvalidAccessKeyId for an unknown key, as S3 does)."""
        known = self.get(access_key) or self.default
        return Credentials(known.access_key, known.secret_key)

    def account_by_email(self, email: str) -> Account | None:
        wanted = email.strip().lower()
        return next((a for a in self.accounts.values() if a.email and a.email.lower() == wanted), None)

    def account_by_canonical_id(self, canonical_id: str) -> Account | None:
        return next((a for a in self.accounts.values() if a.canonical_id == canonical_id), None)


def named_access_key(view: RequestView, form_key: str | None = None) -> str | None:
    """The access key a request says it is signed with (query, Authorization header or POST form)."""
    if form_key is not None:
        return form_key
    params = view.params if ("X-Amz-" in view.raw_query or "AWSAccessKeyId" in view.raw_query) else {}
    if "X-Amz-Credential" in params:
        credential = sigv4.split_credential(params["X-Amz-Credential"])
        return credential.access_key if credential else None
    if "AWSAccessKeyId" in params:
        return params["AWSAccessKeyId"]
    authorization = view.headers.get("authorization", "").strip()
    if authorization.startswith("AWS4-HMAC-SHA256"):
        match = re.search(r"Credential=([^/,\s]*)", authorization)
        return match.group(1) if match else None
    if authorization.startswith("AWS "):
        key, sep, _ = authorization[4:].strip().rpartition(":")
        return key if sep else None
    return None


def form_access_key(fields: dict[str, str]) -> str | None:
    """The key a POST form's policy is signed with: x-amz-credential's first part, or AWSAccessKeyId."""
    credential = fields.get("x-amz-credential")
    if credential is not None:
        return credential.split("/", 1)[0]
    return fields.get("awsaccesskeyid")
