"""Process-level tuning shared by the long-running commands (``serve``, ``worker``, ``demo``)."""

from __future__ import annotations

import gc

# CPython's default (700, 10, 10) runs a young collection every 700 net allocations. With many open SSE
# streams, the transient objects of each fan-out (frames, queue items, coroutine state) are often alive at
# that moment, get promoted, and soon trigger full collections that stop the event loop for 300-480 ms
# (bench/bench_sse_fanout.py, 1,000 clients). Collecting the young generation every 50,000 allocations lets
# them die by reference counting first: no full collection during that bench, p99 delivery 54 ms instead of
# 320-390 ms, same RSS. Cyclic garbage is still collected, only in larger batches.
SERVER_GC_THRESHOLDS = (50_000, 20, 10)


def tune_gc_for_server() -> None:
    gc.set_threshold(*SERVER_GC_THRESHOLDS)
