"""``TurnFlush``: run a batch's flush once per event-loop turn, however many callers asked for it.

The micro-batchers of the hot path (the feed's ANN searches, the shard state reads, the impression
appends) queue what the callers of one event-loop turn want, then act once: after the loop has run
everything that was ready (``call_soon``), or ``window_s`` later when set.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["TurnFlush"]


class TurnFlush:
    def __init__(self, flush: Callable[[], None], *, window_s: float = 0.0) -> None:
        self._flush = flush
        self.window_s = window_s
        self._handle: asyncio.Handle | None = None

    def request(self) -> None:
        """Schedule the flush (on the running loop) unless it already is."""
        if self._handle is None:
            loop = asyncio.get_running_loop()
            self._handle = (loop.call_later(self.window_s, self._fire) if self.window_s > 0
                            else loop.call_soon(self._fire))

    def cancel(self) -> None:
        """Forget a scheduled flush (the caller flushes now itself)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        self._flush()
