"""`python -m sample_client seed|unseed [--bucket NAME]`: put or delete the sample objects, printing each."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from sample_client.samples import BUCKET, SampleObject, sample_keys, sample_objects


def make_client():
    """Exactly what an application does: no endpoint or credentials in code, the environment decides."""
    return boto3.client("s3")


def ensure_bucket(s3, bucket: str) -> bool:
    """Create the bucket unless it exists; True when it was created."""
    try:
        s3.head_bucket(Bucket=bucket)
        return False
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise
    region = s3.meta.region_name
    location = {"CreateBucketConfiguration": {"LocationConstraint": region}} if region != "us-east-1" else {}
    try:
        s3.create_bucket(Bucket=bucket, **location)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "BucketAlreadyOwnedByYou":
            return False
        raise
    return True


def seed(s3, bucket: str, objects: list[SampleObject]) -> None:
    if ensure_bucket(s3, bucket):
        print(f"created bucket s3://{bucket}")
    for obj in objects:
        s3.put_object(Bucket=bucket, Key=obj.key, Body=obj.body, ContentType=obj.content_type)
        print(f"put s3://{bucket}/{obj.key} ({obj.content_type}, {len(obj.body)} bytes)")
    print(f"seeded {len(objects)} objects into s3://{bucket}")


def exists(s3, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound", "NoSuchBucket"):
            return False
        raise


def unseed(s3, bucket: str, keys: list[str]) -> None:
    """Delete exactly the sample keys; a key that is already gone is reported, not an error."""
    deleted = 0
    for key in keys:
        if exists(s3, bucket, key):
            s3.delete_object(Bucket=bucket, Key=key)
            deleted += 1
            print(f"deleted s3://{bucket}/{key}")
        else:
            print(f"missing s3://{bucket}/{key} (nothing to delete)")
    print(f"unseeded {deleted} of {len(keys)} sample objects from s3://{bucket}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sample_client",
        description="Put (seed) or delete (unseed) the sample objects. The S3 endpoint and credentials come "
        "from AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_DEFAULT_REGION.",
    )
    parser.add_argument("command", choices=["seed", "unseed"])
    parser.add_argument("--bucket", default=BUCKET, help=f"bucket to use (default: {BUCKET})")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        s3 = make_client()
        if args.command == "seed":
            seed(s3, args.bucket, sample_objects(datetime.now(timezone.utc)))
        else:
            unseed(s3, args.bucket, sample_keys())
    except ClientError as exc:
        error = exc.response.get("Error", {})
        reason = f"{error.get('Code')}: {error.get('Message')}"
        print(f"sample_client: {args.command} failed: {reason}", file=sys.stderr)
        return 1
    except BotoCoreError as exc:
        print(f"sample_client: {args.command} failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
