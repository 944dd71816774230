"""Code every Python service of the stack shares: settings helpers and the one place that builds S3 clients."""
