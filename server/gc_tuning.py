"""Garbage-collector settings for a long-running node.

Measured (bench/beckon_node.py, BENCH_GC_LOG): with 1,000 live chats, full collections
scanned 100,000–330,000 objects and stopped the node for 90–320 ms every few seconds,
which is what the p99 of a chat message then showed. Two changes:

- everything alive once the node has started (modules, SQLAlchemy and pydantic
  machinery, ~100,000 objects) is moved out of the collector's sight (`gc.freeze`):
  it lives as long as the process, and scanning it again and again found nothing;
- young collections run every 5,000 allocations instead of 700, so short-lived
  request objects die young instead of being promoted; the middle generation is
  collected every 10 young collections (it holds at most ~50,000 objects, a pause of
  tens of ms), the whole heap every 50 of those. Cycles are still collected.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 5_000
MIDDLE_THRESHOLD = 10
OLD_THRESHOLD = 50


def tune_after_startup() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
