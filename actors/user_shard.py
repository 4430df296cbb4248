"""The user shard Ray actor: a thin async shell that runs a ``ShardCore`` and answers the feed.

Started by ``actors.shards.start_shards`` with ``max_restarts`` so that Ray restarts it after a
crash or a ``ray.kill(..., no_restart=False)``; a restarted actor runs ``__init__`` again, which
loads the checkpoint and replays the log from its offsets before it answers (calls wait for that).
"""

from __future__ import annotations

import asyncio
from typing import Any

import ray
import structlog

from .errors import ShardUnavailableError
from .shard_core import ShardConfig, ShardCore
from .view import UserView

__all__ = ["UserShard"]

log = structlog.get_logger("actors.user_shard")


@ray.remote
class UserShard:
    """Shard ``index`` of ``config.shards``: the single writer of its users' live state."""

    def __init__(self, index: int, config: ShardConfig) -> None:
        self._core = ShardCore(index, config)
        self._error: str | None = None
        self._task = asyncio.get_running_loop().create_task(self._main())

    async def _main(self) -> None:
        try:
            await self._core.open()
            await self._core.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # recorded and reported by every call: the shard stops consuming
            self._error = f"{type(exc).__name__}: {exc}"
            log.error("user shard stopped", shard=self._core.index, error=self._error)

    async def _ready(self, timeout_s: float = 120.0) -> ShardCore:
        if self._error is None and not self._core.ready.is_set():
            waiter = asyncio.ensure_future(self._core.ready.wait())
            await asyncio.wait({waiter, self._task}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
        if self._error is not None:
            raise ShardUnavailableError(shard=self._core.index, detail=self._error)
        if not self._core.ready.is_set():
            raise ShardUnavailableError(shard=self._core.index, detail="still recovering")
        return self._core

    async def ping(self) -> int:
        """Liveness (answers even while recovering): the shard's index."""
        return self._core.index

    async def get_state(self, user_id: str) -> UserView:
        return (await self._ready()).get_state(user_id)

    async def get_states(self, user_ids: list[str]) -> list[UserView]:
        core = await self._ready()
        return [core.get_state(u) for u in user_ids]

    async def wait_for(self, partition: int, offset: int, timeout_s: float = 5.0) -> bool:
        return await (await self._ready()).wait_for(partition, offset, timeout_s)

    async def stats(self) -> dict[str, Any]:
        out = await self._core.stats()
        out["error"] = self._error
        return out

    async def resume(self) -> None:
        (await self._ready()).resumed.set()

    async def checkpoint(self) -> dict[str, Any]:
        return await (await self._ready()).checkpoint()

    async def close(self) -> None:
        self._task.cancel()
        await self._core.close()
