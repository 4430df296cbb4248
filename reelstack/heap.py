"""Keep the garbage collector off the long-lived heap of a serving process (``gc.freeze``).

A feed replica holds its catalogue in memory: at a million videos, lists and dicts with millions of
entries. CPython's full (generation 2) collection walks every tracked container, so each one paused
the replica for about 80 ms while it held requests (the p99 of ``reel bench feed`` at 100 requests/s
was that pause). ``freeze_long_lived`` collects once, then moves every object alive now into the
permanent generation, which later collections skip: a full collection then costs about 2 ms.
``HeapFreezer`` re-freezes after the heap has grown by enough new long-lived objects (a catalogue
that keeps growing from the log), so what the tail adds stops being walked too.

Frozen objects are still freed by reference counting; only cycles among them are never collected,
which is why the freeze follows a collection and only covers state meant to live as long as the
process.

``serving_collector`` raises the young generation's threshold in a serving process (an ingress or
feed replica): at CPython's default, a young collection every 700 allocations, a feed replica under
load collected every eight pages or so, and each walked the objects of every request in flight then
(about 0.4 ms a time, some 50 µs a page, with a full collection of ~18 ms every few seconds; measured in
the replica of ``reel bench feed``). Objects are still freed by reference counting the moment they
are dropped; only garbage in reference cycles waits longer to be collected.
"""

from __future__ import annotations

import gc
import time

import structlog

__all__ = ["SERVING_THRESHOLDS", "HeapFreezer", "freeze_long_lived", "serving_collector"]

log = structlog.get_logger("reelstack.heap")


def freeze_long_lived(reason: str) -> int:
    """Collect, then freeze everything alive now; returns how many objects are frozen in all."""
    t0 = time.perf_counter()
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("heap frozen", reason=reason, frozen=frozen, ms=round((time.perf_counter() - t0) * 1000, 1))
    return frozen


#: the collector's thresholds in a serving process (``gc.set_threshold``): young, middle, old
SERVING_THRESHOLDS = (20_000, 20, 10)


def serving_collector() -> None:
    """Set the collector's thresholds for a serving process (``SERVING_THRESHOLDS``; see the module docstring)."""
    gc.set_threshold(*SERVING_THRESHOLDS)


class HeapFreezer:
    """Re-freeze once ``every`` more long-lived items (e.g. catalogue videos) have been added."""

    __slots__ = ("every", "reason", "since")

    def __init__(self, every: int, reason: str) -> None:
        self.every = every
        self.reason = reason
        self.since = 0

    def added(self, n: int) -> bool:
        """Count ``n`` new items; freeze when enough have come since the last freeze (returns whether it did)."""
        self.since += n
        if self.since < self.every:
            return False
        self.since = 0
        freeze_long_lived(self.reason)
        return True
