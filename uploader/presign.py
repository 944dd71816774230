"""SigV4 presigning for the browser, with botocore's own signers but without a client call per request.

`client.generate_presigned_post/url` resolve the endpoint through botocore's rule set on every call, which
is about half the cost of signing. The uploader always signs path-style URLs for one fixed endpoint, so it
builds the request itself and hands it to the same signer classes (S3SigV4PostAuth, S3SigV4QueryAuth) the
client would use for POST policies, with one change: the day's signing key is derived once, not for every
signature. Query-string URLs (GET, PUT) are signed here directly, the same way. Tests check every result
against boto3's, byte for byte, and against a validating S3.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
from urllib.parse import quote, urlsplit

from botocore.auth import ISO8601, SIGV4_TIMESTAMP, S3SigV4PostAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from uploader.rules import object_url


def host_of(endpoint_url: str) -> str:
    """The Host header a client sends to `endpoint_url`: the port only when it is not the scheme's default."""
    parts = urlsplit(endpoint_url)
    default_port = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return host if parts.port in (None, default_port) else f"{host}:{parts.port}"


class SigningKeys:
    """The SigV4 signing key of the day, derived once a day instead of for every signature (4 HMACs each)."""

    def __init__(self, secret_key: str, region: str, service: str = "s3"):
        self.secret_key, self.region, self.service = secret_key, region, service
        self._cached: tuple[str, bytes] = ("", b"")

    def for_day(self, day: str) -> bytes:
        cached_day, key = self._cached
        if cached_day != day:
            key = f"AWS4{self.secret_key}".encode()
            for part in (day, self.region, self.service, "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            self._cached = (day, key)
        return key


class CachedKeySignature:
    """Mixin for botocore's SigV4 signers: same signature, signing key from SigningKeys."""

    signing_keys: SigningKeys

    def signature(self, string_to_sign: str, request: AWSRequest) -> str:
        key = self.signing_keys.for_day(request.context["timestamp"][0:8])
        return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


class PostAuth(CachedKeySignature, S3SigV4PostAuth):
    pass


class Presigner:
    """Presigned POST policies and query-string URLs for objects of one bucket at one endpoint."""

    def __init__(self, endpoint_url: str, bucket: str, region: str, access_key: str, secret_key: str):
        self.endpoint_url = endpoint_url.rstrip("/")
        self.bucket_url = f"{self.endpoint_url}/{bucket}"
        self.bucket = bucket
        self.region = region
        self.credentials = Credentials(access_key, secret_key)
        self.signing_keys = SigningKeys(secret_key, region)
        self.host = host_of(self.endpoint_url)

    def object_url(self, key: str) -> str:
        return object_url(self.endpoint_url, self.bucket, key)

    def post(self, key: str, fields: dict[str, str], conditions: list, expires_in: int) -> dict:
        """What boto3's generate_presigned_post returns: {"url", "fields"} with a SigV4-signed policy."""
        fields = {**fields, "key": key}
        expiration = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=expires_in)
        policy = {
            "expiration": expiration.strftime(ISO8601),
            "conditions": [*conditions, {"bucket": self.bucket}, {"key": key}],
        }
        request = AWSRequest(method="POST", url=self.bucket_url)
        request.context["s3-presign-post-fields"] = fields
        request.context["s3-presign-post-policy"] = policy
        auth = PostAuth(self.credentials, "s3", self.region)
        auth.signing_keys = self.signing_keys
        auth.add_auth(request)
        return {"url": self.bucket_url, "fields": fields}

    def url(self, method: str, key: str, expires_in: int, headers: dict[str, str] | None = None) -> str:
        """A SigV4 query-string presigned URL, as botocore's S3SigV4QueryAuth makes it (UNSIGNED-PAYLOAD).

        `headers` are signed too, so the request must carry exactly those values. Written out here
        because botocore's version costs three times as much, and every /sign_s3/ answer needs one.
        """
        now = datetime.datetime.now(datetime.UTC)
        amz_date, day = now.strftime(SIGV4_TIMESTAMP), now.strftime("%Y%m%d")
        url = self.object_url(key)
        canonical_headers = {
            "host": self.host,
            **{name.lower(): " ".join(value.split()) for name, value in (headers or {}).items()},
        }
        signed_headers = ";".join(sorted(canonical_headers))
        query = {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Credential": f"{self.credentials.access_key}/{day}/{self.region}/s3/aws4_request",
            "X-Amz-Date": amz_date,
            "X-Amz-Expires": str(expires_in),
            "X-Amz-SignedHeaders": signed_headers,
        }
        canonical_query = "&".join(
            f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query.items())
        )
        canonical_request = "\n".join(
            [
                method,
                urlsplit(url).path,
                canonical_query,
                "".join(f"{name}:{canonical_headers[name]}\n" for name in sorted(canonical_headers)),
                signed_headers,
                "UNSIGNED-PAYLOAD",
            ]
        )
        string_to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256",
                amz_date,
                f"{day}/{self.region}/s3/aws4_request",
                hashlib.sha256(canonical_request.encode()).hexdigest(),
            ]
        )
        key_of_day = self.signing_keys.for_day(day)
        signature = hmac.new(key_of_day, string_to_sign.encode(), hashlib.sha256).hexdigest()
        return f"{url}?{canonical_query}&X-Amz-Signature={signature}"
