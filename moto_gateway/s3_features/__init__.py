"""S3 behaviours Moto's model lacks (issue 28), one module each: object_lock, sse_c, lifecycle and
notifications (docs/s3-behaviour.md)."""
