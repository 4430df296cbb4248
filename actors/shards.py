"""Start a set of user shards on Ray, route users to them, and probe their freshness.

``start_shards`` spreads the actors over the cluster's nodes (``SPREAD``) with restarts enabled;
``ShardRouter`` maps a user to its shard with the log's own partitioning
(``partition_for(user_id, partitions) % shards``), so the shard that owns a user's partition is the
one asked for its state; ``probe_freshness`` times an append until the owning shard reflects it.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import ray
from ray.actor import ActorHandle as _ActorHandle
from ray.exceptions import GetTimeoutError, RayActorError

from events.ids import new_event_id, now_us
from events.log import EventLog
from events.partitioning import partition_for
from events.schema import UserProfileUpdated

from .errors import ShardUnavailableError
from .shard_core import ShardConfig
from .user_shard import UserShard
from .view import UserView

ActorHandle = _ActorHandle[Any]

__all__ = ["ShardRouter", "probe_freshness", "probe_user", "start_shards"]


def start_shards(config: ShardConfig, *, name: str = "user-shard", namespace: str | None = None,
                 num_cpus: float = 0.0, max_restarts: int = -1) -> list[ActorHandle]:
    """Create ``config.shards`` named actors (``<name>-<i>``), spread over nodes, restartable."""
    if not 1 <= config.shards <= config.partitions:
        raise ValueError(f"cannot run {config.shards} shards over {config.partitions} log partitions: "
                         f"a shard owns whole partitions, so use 1..{config.partitions} shards "
                         "(or a log with more partitions)")
    handles = []
    for i in range(config.shards):
        handles.append(UserShard.options(  # type: ignore[attr-defined]
            name=f"{name}-{i}", namespace=namespace, num_cpus=num_cpus, max_restarts=max_restarts,
            max_task_retries=-1, scheduling_strategy="SPREAD",
        ).remote(i, config))
    return handles


class ShardRouter:
    """user id -> the shard handle that owns it; batched reads fan out once per shard."""

    def __init__(self, handles: Sequence[ActorHandle], partitions: int, *, timeout_s: float = 1.0) -> None:
        if partitions < len(handles):
            raise ValueError(f"{len(handles)} shards need at least as many log partitions, got {partitions}")
        self.handles = list(handles)
        self.partitions = partitions
        self.timeout_s = timeout_s

    def shard_of(self, user_id: str) -> int:
        return partition_for(user_id, self.partitions) % len(self.handles)

    def handle(self, user_id: str) -> ActorHandle:
        return self.handles[self.shard_of(user_id)]

    async def _call(self, shard: int, ref: Any, timeout_s: float | None) -> Any:
        try:
            return await asyncio.wait_for(ref, timeout_s or self.timeout_s)
        except (TimeoutError, GetTimeoutError) as exc:
            raise ShardUnavailableError(shard=shard, detail="timed out") from exc
        except RayActorError as exc:
            raise ShardUnavailableError(shard=shard, detail=str(exc).splitlines()[0]) from exc

    async def get_state(self, user_id: str, *, timeout_s: float | None = None) -> UserView:
        shard = self.shard_of(user_id)
        view: UserView = await self._call(shard, self.handles[shard].get_state.remote(user_id), timeout_s)
        return view

    async def get_states(self, user_ids: Sequence[str], *,
                         timeout_s: float | None = None) -> dict[str, UserView]:
        by_shard: dict[int, list[str]] = defaultdict(list)
        for u in user_ids:
            by_shard[self.shard_of(u)].append(u)
        parts = await asyncio.gather(*(
            self._call(s, self.handles[s].get_states.remote(us), timeout_s) for s, us in by_shard.items()))
        return {v.user_id: v for views in parts for v in views}

    async def stats(self, *, timeout_s: float | None = None) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(
            self._call(i, h.stats.remote(), timeout_s) for i, h in enumerate(self.handles))))

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        """Block until every shard has restored its checkpoint and learned the catalog."""
        ray.get([h.get_state.remote("") for h in self.handles], timeout=timeout_s)


def probe_user(shard: int, shards: int, partitions: int) -> str:
    """A synthetic user id owned by ``shard`` (for freshness probes)."""
    for k in range(100_000):
        uid = f"__probe__.{shard}.{k}"
        if partition_for(uid, partitions) % shards == shard:
            return uid
    raise ValueError(f"no probe user for shard {shard} of {shards}")


async def probe_freshness(log: EventLog, router: ShardRouter, user_id: str, *,
                          timeout_s: float = 5.0) -> float:
    """Seconds from ``append`` returning to the owning shard having applied the event."""
    event = UserProfileUpdated(event_id=new_event_id(), ts=now_us(), user_id=user_id)
    [pos] = await log.append([event])
    t0 = time.perf_counter()
    ok = await router.handle(user_id).wait_for.remote(pos.partition, pos.offset, timeout_s)
    elapsed = time.perf_counter() - t0
    if not ok:
        raise ShardUnavailableError(shard=router.shard_of(user_id),
                                    detail=f"did not apply {pos.partition}:{pos.offset} within {timeout_s}s")
    return elapsed
