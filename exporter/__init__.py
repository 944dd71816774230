"""The exporter: a diff-synced mirror of every S3 bucket as plain files under EXPORT_DIR/<bucket>/<key>."""
