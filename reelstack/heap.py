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

``collect_less_often`` raises the collector's thresholds in a long-running process that allocates
many short-lived objects: a projection runner's fold loop (records, events, deltas: with CPython's
default, a young collection every 700 allocations, the collector ran thousands of times per million
events and its full passes walked every buffered record, ~15 % of a rebuild) and a serving replica
(under load a feed replica collected every eight pages or so, each walking the objects of every
request in flight then: about 0.4 ms a time, some 50 µs a page, with a full collection of ~18 ms every
few seconds, measured in the replica of ``reel bench feed``). Objects are still freed by reference
counting the moment they are dropped; only garbage in reference cycles waits longer to be collected.
"""

from __future__ import annotations

import gc
import time

import structlog

__all__ = ["BUSY_THRESHOLDS", "HeapFreezer", "collect_less_often", "freeze_long_lived"]

log = structlog.get_logger("reelstack.heap")


def freeze_long_lived(reason: str) -> int:
    """Collect, then freeze everything alive now; returns how many objects are frozen in all."""
    t0 = time.perf_counter()
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("heap frozen", reason=reason, frozen=frozen, ms=round((time.perf_counter() - t0) * 1000, 1))
    return frozen


#: the collector's thresholds (young, middle, old) in a busy long-running process (see the module docstring)
BUSY_THRESHOLDS = (50_000, 20, 100)


def collect_less_often() -> None:
    """Set ``BUSY_THRESHOLDS``: for projection runners and serving replicas, never on import."""
    gc.set_threshold(*BUSY_THRESHOLDS)


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
