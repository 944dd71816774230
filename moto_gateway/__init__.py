"""The `moto` service: Moto's S3 API behind our own entry point, so that a gateway can wrap it."""
