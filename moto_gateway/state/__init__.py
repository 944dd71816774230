"""S3 state of the gateway: capture, locks, change log, snapshots, bulk, and its durable copy (durable/)."""
