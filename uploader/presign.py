"""SigV4 presigning for the browser, with botocore's own signers but without a client call per request.

`client.generate_presigned_post/url` resolve the endpoint through botocore's rule set on every call, which
is about half the cost of signing. The uploader always signs path-style URLs for one fixed endpoint, so it
builds the request itself and hands it to the same signer classes (S3SigV4PostAuth, S3SigV4QueryAuth) the
client would use; tests check the result against boto3's and against a validating S3.
"""

from __future__ import annotations

import datetime

from botocore.auth import ISO8601, S3SigV4PostAuth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from uploader.rules import object_url


class Presigner:
    """Presigned POST policies and query-string URLs for objects of one bucket at one endpoint."""

    def __init__(self, endpoint_url: str, bucket: str, region: str, access_key: str, secret_key: str):
        self.endpoint_url = endpoint_url.rstrip("/")
        self.bucket_url = f"{self.endpoint_url}/{bucket}"
        self.bucket = bucket
        self.region = region
        self.credentials = Credentials(access_key, secret_key)

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
        S3SigV4PostAuth(self.credentials, "s3", self.region).add_auth(request)
        return {"url": self.bucket_url, "fields": fields}

    def url(self, method: str, key: str, expires_in: int, headers: dict[str, str] | None = None) -> str:
        """A presigned URL; `headers` are signed too, so the request must carry exactly those values."""
        request = AWSRequest(method=method, url=self.object_url(key), headers=headers or {})
        S3SigV4QueryAuth(self.credentials, "s3", self.region, expires=expires_in).add_auth(request)
        return request.url
