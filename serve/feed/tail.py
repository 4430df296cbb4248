"""Keep a ``Catalogue`` fresh from the log: catch up from stored positions, then poll for new records.

Catalog events are keyed by video, so they sit on every partition; the tail reads every partition
from where it stopped (``read``, never a consumer group: each replica is an independent reader) and
folds the catalogue events. ``snapshot``/``restore`` save the catalogue with its positions to a
directory, so the next replica (or restart) loads the graph and reads only what came after.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import structlog

from events.log import EventLog
from reelstack.heap import HeapFreezer

from .catalogue import Catalogue, VideoEncoder

__all__ = ["CatalogueTail"]

log = structlog.get_logger("serve.feed.tail")


class CatalogueTail:
    def __init__(self, log_: EventLog, catalogue: Catalogue, *, positions: dict[int, int] | None = None,
                 batch: int = 5_000, refreeze_after: int = 50_000) -> None:
        self.log = log_
        self.catalogue = catalogue
        self.positions: dict[int, int] = dict(positions or {})
        self.batch = batch
        self.last_poll = 0.0
        # once the catalogue has grown by this many records since the last freeze, freeze the heap again
        self.freezer = HeapFreezer(refreeze_after, "feed catalogue grew") if refreeze_after else None
        self._task: asyncio.Task[None] | None = None

    async def catch_up(self) -> int:
        """Fold everything appended since the last call; returns how many records were read."""
        read = 0
        observe = self.catalogue.observe
        for info in await self.log.partition_info():
            pos = max(self.positions.get(info.partition, 0), info.start)
            while pos < info.end:
                records = await self.log.read(info.partition, pos, self.batch)
                if not records:
                    break
                for r in records:
                    observe(r.event)
                read += len(records)
                pos = records[-1].offset + 1
            self.positions[info.partition] = pos
        self.last_poll = time.monotonic()
        return read

    def start(self, interval_s: float = 0.05) -> None:
        """Poll in the background every ``interval_s`` (until ``stop``)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(interval_s))

    async def _run(self, interval_s: float) -> None:
        while True:
            try:
                self._grown(await self.catch_up())
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep serving the catalogue we have; retry on the next tick
                log.warning("catalogue tail failed", error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(interval_s)

    def _grown(self, read: int) -> None:
        if self.freezer is not None and read:
            self.freezer.added(read)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def snapshot(self, directory: Path) -> None:
        self.catalogue.save(directory, {"positions": dict(self.positions), "log": self.log.url})

    @classmethod
    def restore(cls, log_: EventLog, directory: Path, *,
                encoder: VideoEncoder | None = None) -> CatalogueTail:
        """A tail over the catalogue snapshot in ``directory`` (it must have been taken of this log)."""
        catalogue, extra = Catalogue.load(directory, encoder=encoder)
        raw = extra.get("positions", {})
        positions = {int(p): int(o) for p, o in raw.items()} if isinstance(raw, dict) else {}
        return cls(log_, catalogue, positions=positions)
