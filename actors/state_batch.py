"""``BatchedStates``: concurrent ``get_state`` calls become one ``get_states`` Ray call per shard.

Each feed page reads its user's state from the user's shard. One Ray actor call costs about 2 ms of
CPU on a small machine (caller and actor together; ``reel bench shards``). That is more than most of
the page's own stages. ``BatchedStates`` collects the reads made in the same event-loop turn (or
within ``window_s``) and sends one ``ShardRouter.get_states`` per shard for all of them. Each caller
gets its own view, or the exception the batch raised (a shard that is down fails only its users' reads).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from events.turns import TurnFlush

from .view import UserView

__all__ = ["BatchedStates"]


class BatchedStates:
    """``UserStates`` over a ``ShardRouter`` (anything with ``shard_of`` and ``get_states``)."""

    def __init__(self, router: Any, *, window_s: float = 0.0) -> None:
        self.router = router
        self.window_s = window_s
        self._pending: dict[str, list[asyncio.Future[UserView]]] = {}
        self._timeout_s: float | None = None  # the batch's: the first caller's
        self._turn = TurnFlush(self._flush, window_s=window_s)
        self._tasks: set[asyncio.Task[None]] = set()
        self.calls = 0  # get_states calls made (per shard), for tests and figures
        self.reads = 0

    def handle(self, user_id: str) -> Any:
        return self.router.handle(user_id)

    async def get_state(self, user_id: str, *, timeout_s: float | None = None) -> UserView:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[UserView] = loop.create_future()
        self._pending.setdefault(user_id, []).append(fut)
        self.reads += 1
        if len(self._pending) == 1 and len(self._pending[user_id]) == 1:
            self._timeout_s = timeout_s
        self._turn.request()
        return await fut

    def _flush(self) -> None:
        pending, self._pending, timeout_s = self._pending, {}, self._timeout_s
        by_shard: dict[int, dict[str, list[asyncio.Future[UserView]]]] = defaultdict(dict)
        for user, futs in pending.items():
            by_shard[self.router.shard_of(user)][user] = futs
        for part in by_shard.values():
            task = asyncio.get_running_loop().create_task(self._fetch(part, timeout_s))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _fetch(self, part: dict[str, list[asyncio.Future[UserView]]], timeout_s: float | None) -> None:
        self.calls += 1
        try:
            views = await self.router.get_states(list(part), timeout_s=timeout_s)
        except Exception as exc:  # every read of this shard's batch fails the same way
            for futs in part.values():
                for f in futs:
                    if not f.done():
                        f.set_exception(exc)
            return
        for user, futs in part.items():
            view = views.get(user)
            for f in futs:
                if f.done():  # the caller gave up (its stage's time budget)
                    continue
                if view is None:
                    f.set_exception(KeyError(f"the shard answered no state for {user!r}"))
                else:
                    f.set_result(view)
