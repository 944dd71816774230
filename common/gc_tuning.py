"""One garbage-collector setting for the long-lived processes (the exporter and the gateway)."""

import gc

YOUNG_THRESHOLD = 50_000
"""Allocations between two collections of the youngest generation (Python's default: 700)."""


def tune_garbage_collector() -> None:
    """Freeze what start-up loaded and collect less often.

    Both processes make many small objects per request or per key (rows, tuples, entries, headers, change
    events) that never form cycles, yet with Python's defaults every 700 of them started a collection, and
    each full collection walked every object loaded at start-up (boto3's or Moto's modules and models).
    `gc.freeze` moves those start-up objects out of every walk; cycles are still collected, so memory
    stays bounded.
    """
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, 20, 20)
