"""`reel bench feed --states shards`: the bench users' state in real user shard actors, as the platform keeps it.

By default the bench replica folds its users' state in process (``LocalUserStates``): no Ray call per
page. The platform's ingress instead reads each page's state from the user's shard actor
(``actors.shards.ShardRouter``), and an interaction reaches that state through the log. ``ShardStates``
sets that path up for the bench:

- a fresh file log under a temporary directory, holding the world's warm-up events;
- ``shards`` ``UserShard`` actors that fold the log, started by the replica and caught up before the
  load begins.

Then the feed reads state through the router. Impressions and interactions are appended to the log;
an interaction's POST returns once the user's shard has applied it, as the platform's routes do
(``ApiContext.applied``).
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from actors.shard_core import ShardConfig
from actors.shards import ShardRouter, start_shards
from actors.state_batch import BatchedStates
from actors.user_state import StateParams
from actors.view import UserView
from events.batching import BatchingAppender
from events.log import EventLog, Position, open_log
from events.schema import Event

__all__ = ["ShardStates"]

_BATCH = 2_000


class ShardStates:
    """``UserStates`` over user shard actors that fold a bench-owned file log (see the module docstring)."""

    def __init__(self, *, partitions: int = 8, shards: int = 2, params: StateParams | None = None) -> None:
        self.partitions = partitions
        self.shards = shards
        self.params = params or StateParams()
        self.root = Path(tempfile.mkdtemp(prefix="reel-bench-feed-shards-"))
        self.log_url = f"file://{self.root / 'log'}"
        self._log: EventLog | None = None
        self._appender: BatchingAppender | None = None  # as the platform's feed appends impressions
        self.handles: list[Any] = []
        self.router: ShardRouter | None = None
        self.states: BatchedStates | None = None  # what the feed reads through, as the platform's ingress

    async def start(self, events: Sequence[Event], *, timeout_s: float = 300.0) -> None:
        """Write ``events`` (the world so far) to the log, start the shards and wait until they applied it."""
        self._log = await open_log(self.log_url, partitions=self.partitions)
        self._appender = BatchingAppender(self._log)
        for i in range(0, len(events), _BATCH):
            await self._log.append(events[i: i + _BATCH])
        ends = {info.partition: info.end for info in await self._log.partition_info()}
        config = ShardConfig(log_url=self.log_url, partitions=self.partitions, shards=self.shards,
                             checkpoint_url=f"file://{self.root / 'checkpoints'}", params=self.params,
                             log_options={"readonly": True})
        self.handles = start_shards(config, name=f"bench-feed-shard-{uuid.uuid4().hex[:8]}")
        self.router = ShardRouter(self.handles, self.partitions, timeout_s=timeout_s)
        for partition, end in ends.items():
            if end and not await self.handles[partition % self.shards].wait_for.remote(partition, end - 1,
                                                                                        timeout_s):
                raise TimeoutError(f"shard of partition {partition} did not apply the world's {end} "
                                   f"records within {timeout_s:.0f} s")
        self.router.timeout_s = 1.0  # as the platform's router: a page's state stage has its own budget
        self.states = BatchedStates(self.router)

    async def get_state(self, user_id: str, *, timeout_s: float | None = None) -> UserView:
        assert self.states is not None, "call start() first"
        return await self.states.get_state(user_id, timeout_s=timeout_s)

    async def append(self, events: Sequence[Event]) -> list[Position]:
        """Append to the log the shards fold (impressions, interactions)."""
        assert self._appender is not None, "call start() first"
        return await self._appender.append(events)

    async def applied(self, user_id: str, positions: Sequence[Position], timeout_s: float = 5.0) -> bool:
        """Wait until ``user_id``'s shard has applied ``positions`` (a user's events share one partition)."""
        assert self.router is not None, "call start() first"
        if not positions:
            return True
        last = positions[-1]
        return bool(await self.router.handle(user_id).wait_for.remote(last.partition, last.offset, timeout_s))

    async def close(self) -> None:
        import ray

        for handle in self.handles:
            ray.kill(handle, no_restart=True)
        if self._appender is not None:
            await self._appender.drain()
        if self._log is not None:
            await self._log.close()
        shutil.rmtree(self.root, ignore_errors=True)
