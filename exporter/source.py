"""The S3 side of a pass, read-only: which buckets there are, each bucket's keys a page at a time, and the
settings a restore needs besides objects (region, CORS rules). Nothing here touches the mirror or the store.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from common.s3 import call_with_retries, describe_error, error_code
from exporter.bulk import advertised_bulk
from exporter.bulk import list_pages as bulk_list_pages
from exporter.manifest import BucketRecord
from exporter.naming import is_valid_bucket_name

log = logging.getLogger("exporter")

Listed = tuple[str, str, int]
"""(key, ETag, size) of one object as a listing gives it."""


def creation_stamp(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


class S3Source:
    """Lists through the S3 API, or through the gateway's JSON-lines listing when `bulk` (the capability
    /_health advertised at the start of the pass) names one."""

    def __init__(self, client: Any, endpoint_url: str | None) -> None:
        self.client = client
        self.endpoint_url = endpoint_url
        self._bulk: dict | None = None
        self._regions: dict[str, tuple[str | None, str]] = {}
        """bucket -> (creation stamp, region): a bucket's region is asked once per creation."""

    @property
    def bulk(self) -> dict | None:
        """The gateway's bulk API as /_health advertised it at the start of the pass, else None."""
        return self._bulk

    def learn_bulk(self, health: dict | None) -> None:
        """What this pass's /_health answer advertises of the bulk API (None: no bulk transfers)."""
        self._bulk = advertised_bulk(health)

    def buckets(self) -> dict[str, str | None]:
        """Every bucket whose name is a safe folder name, with its creation stamp."""
        response = call_with_retries(self.client.list_buckets)
        buckets = {}
        for bucket in response.get("Buckets", []):
            name = bucket["Name"]
            if is_valid_bucket_name(name):
                buckets[name] = creation_stamp(bucket.get("CreationDate"))
            else:
                log.warning("skipping bucket %r: not a valid S3 bucket name, so not a safe folder name", name)
        return buckets

    def pages(self, bucket: str) -> Iterator[list[Listed]]:
        if self.bulk and isinstance(self.bulk.get("list"), str) and self.bulk["list"].startswith("/_"):
            yield from bulk_list_pages(self.endpoint_url, self.bulk, bucket)
            return
        kwargs: dict[str, Any] = {"Bucket": bucket, "MaxKeys": 1000}
        while True:
            page = call_with_retries(lambda: self.client.list_objects_v2(**kwargs))
            yield [(item["Key"], item.get("ETag", ""), int(item.get("Size", 0))) for item in page.get("Contents", [])]
            if not page.get("IsTruncated"):
                return
            kwargs["ContinuationToken"] = page["NextContinuationToken"]

    def keys(self, bucket: str) -> set[str]:
        return {key for page in self.pages(bucket) for key, _etag, _size in page}

    def settings(self, bucket: str, created: str | None, record: BucketRecord) -> tuple[str | None, Any]:
        """Region (once per bucket) and CORS rules (every pass); what `record` knew when S3 does not answer."""
        known = self._regions.get(bucket)
        region = known[1] if known and known[0] == created else None
        try:
            if region is None:
                location = call_with_retries(lambda: self.client.get_bucket_location(Bucket=bucket))
                region = location.get("LocationConstraint") or "us-east-1"
                self._regions[bucket] = (created, region)
            try:
                cors = call_with_retries(lambda: self.client.get_bucket_cors(Bucket=bucket))["CORSRules"]
            except ClientError as exc:
                if error_code(exc) != "NoSuchCORSConfiguration":
                    raise
                cors = None
        except Exception as exc:  # noqa: BLE001 (keep what we knew; the next pass asks again)
            log.warning("cannot read the settings of bucket %s: %s", bucket, describe_error(exc))
            return record.region, record.cors
        return region, cors
