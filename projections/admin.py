"""Operations on stored views behind ``reel projections``: status (offsets, lag), rebuild, run many.

Kept apart from the click shell so tests and other tools (``reel log replay``, benchmarks) call them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from events import EventLog, open_log

from .base import Projection
from .runner import DEFAULT_BATCH, ProjectionRunner, RunStats
from .store import ViewStore

__all__ = ["ViewStatus", "open_log_for_views", "rebuild_view", "run_views", "view_status"]


async def open_log_for_views(url: str, partitions: int) -> EventLog:
    """Open the log as a reader: a file log ``readonly`` (beside the writer, with its own count)."""
    if url.startswith("file://"):
        return await open_log(url, partitions=None, readonly=True)
    return await open_log(url, partitions=partitions)


@dataclass(frozen=True, slots=True)
class ViewStatus:
    """Where one view stands against the log."""

    name: str
    code_version: int
    stored_version: int | None  # None: never built
    seq: int
    offsets: dict[int, int]
    ends: dict[int, int]
    lag: int
    events: int
    dead_lettered: int
    last_event_ts: int | None
    updated_at: int | None

    @property
    def state(self) -> str:
        if self.stored_version is None:
            return "not built"
        if self.stored_version != self.code_version:
            return "outdated: rebuild"
        return "up to date" if self.lag == 0 else "behind"

    def to_json(self) -> dict[str, object]:
        out = asdict(self)
        out["state"] = self.state
        return out


async def view_status(log: EventLog, store: ViewStore, projections: Sequence[Projection]) -> list[ViewStatus]:
    infos = await log.partition_info()
    ends = {i.partition: i.end for i in infos}
    starts = {i.partition: i.start for i in infos}
    out = []
    for projection in projections:
        ckpt = store.checkpoint(projection.name)
        offsets = dict(starts) if ckpt is None else {p: ckpt.offsets.get(p, 0) for p in ends}
        out.append(ViewStatus(
            name=projection.name,
            code_version=projection.version,
            stored_version=None if ckpt is None else ckpt.version,
            seq=0 if ckpt is None else ckpt.seq,
            offsets=offsets,
            ends=ends,
            lag=sum(max(0, end - offsets.get(p, 0)) for p, end in ends.items()),
            events=0 if ckpt is None else ckpt.events,
            dead_lettered=0 if ckpt is None else ckpt.dead_lettered,
            last_event_ts=None if ckpt is None else ckpt.last_event_ts,
            updated_at=None if ckpt is None else ckpt.updated_at,
        ))
    return out


async def rebuild_view(
    log: EventLog,
    store: ViewStore,
    projection: Projection,
    *,
    progress: Callable[[int], None] | None = None,
    batch_size: int | None = None,
) -> RunStats:
    """Drop ``projection``'s view and fold the whole retained log into it again (``batch_size``
    events per commit; default: the store's ``catchup_batch``)."""
    runner = ProjectionRunner(log, store, projection, batch_size=batch_size or store.catchup_batch)
    try:
        return await runner.rebuild(progress)
    finally:
        await runner.close()


async def run_views(
    log: EventLog,
    store: ViewStore,
    projections: Sequence[Projection],
    stop: asyncio.Event,
    *,
    batch_size: int = DEFAULT_BATCH,
    catchup_batch_size: int | None = None,
    until_caught_up: bool = False,
) -> dict[str, RunStats]:
    """Run one runner per projection (concurrently) until ``stop`` is set, or until caught up."""
    runners = [ProjectionRunner(log, store, p, batch_size=batch_size,
                                catchup_batch_size=catchup_batch_size or store.catchup_batch)
               for p in projections]
    stats: dict[str, RunStats] = {}

    async def one(runner: ProjectionRunner) -> None:
        if until_caught_up:
            stats[runner.name] = await runner.run_until_caught_up()
        else:
            await runner.run_forever(stop)

    try:
        await asyncio.gather(*(one(r) for r in runners))
    finally:
        for r in runners:
            await r.close()
    return stats
