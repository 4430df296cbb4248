"""``BatchingAppender``: appends made in the same event-loop turn go to the log as one ``append``.

A feed replica appends each page's impressions in the background. Through the ``file://`` log's
writer actor, every append is a Ray call, and on a Kafka log every append is a produce request.
Under load several pages finish in the same turn of the event loop. ``BatchingAppender`` sends their
events in one call, in arrival order, and gives each caller its own events' positions, as its own
``append`` would have. One caller's events stay together and in order, so per-key order is kept. If
the batch's append fails, every caller in it gets that exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from .log import Position
from .schema import Event
from .turns import TurnFlush

__all__ = ["BatchingAppender"]


class BatchingAppender:
    """An ``Appender`` over ``inner`` (anything with ``async append(events) -> positions``)."""

    def __init__(self, inner: Any, *, window_s: float = 0.0, max_events: int = 5_000) -> None:
        self.inner = inner
        self.window_s = window_s
        self.max_events = max_events
        self._pending: list[tuple[list[Event], asyncio.Future[list[Position]]]] = []
        self._count = 0
        self._turn = TurnFlush(self._flush, window_s=window_s)
        self._tasks: set[asyncio.Task[None]] = set()
        self.calls = 0  # appends made to ``inner``

    async def append(self, events: Sequence[Event]) -> list[Position]:
        batch = list(events)
        if not batch:
            return []
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[list[Position]] = loop.create_future()
        self._pending.append((batch, fut))
        self._count += len(batch)
        if self._count >= self.max_events:
            self._flush()
        else:
            self._turn.request()
        return await fut

    def _flush(self) -> None:
        self._turn.cancel()
        pending, self._pending, self._count = self._pending, [], 0
        if pending:
            task = asyncio.get_running_loop().create_task(self._send(pending))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, pending: list[tuple[list[Event], asyncio.Future[list[Position]]]]) -> None:
        self.calls += 1
        try:
            positions = await self.inner.append([e for batch, _ in pending for e in batch])
        except Exception as exc:
            for _, fut in pending:
                if not fut.done():
                    fut.set_exception(exc)
            return
        start = 0
        for batch, fut in pending:
            if not fut.done():
                fut.set_result(list(positions[start: start + len(batch)]))
            start += len(batch)

    async def drain(self) -> None:
        """Send what is pending now and wait for every append in flight."""
        self._flush()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
