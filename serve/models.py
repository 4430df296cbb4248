"""Serving loads ranker versions by event: watch the log for ``ModelVersionPublished`` and swap models.

``RankerWatch`` is the one watcher: the ranking deployment (``serve.ranking``) and the in-process
ranking path of the ingress (``WatchedRanker``, built by ``serve.feed.wiring``) both hold one. Every
``interval_s`` it reads the log from where it stopped; the newest version of ``model`` found is loaded
(``serve.feed.scoring.load_ranker``, off the event loop) and replaces the serving ranker. A version
whose artifact cannot serve the feed's rows (another feature layout, a missing file) is skipped and
remembered with the reason, and the ranker in place keeps serving. Until a version loads, the ranker
is the ``PriorRanker`` — what a platform that has never trained serves.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import numpy.typing as npt
import structlog

from events.log import EventLog, open_log
from events.schema import ModelVersionPublished
from serve.feed.ports import Scores
from serve.feed.scoring import PriorRanker, TorchRanker, load_ranker

__all__ = ["RankerWatch", "WatchedRanker", "watched_ranker"]

log = structlog.get_logger("serve.models")


class RankerWatch:
    """The ranker to serve: the newest loadable published version of ``model``, else ``PriorRanker``."""

    def __init__(self, log_url: str | None, log_options: dict[str, Any] | None = None, *, model: str = "ranker",
                 interval_s: float = 5.0, ranker: PriorRanker | TorchRanker | None = None) -> None:
        self.log_url = log_url
        self.log_options = log_options or {}
        self.model = model
        self.interval_s = interval_s
        self.ranker: PriorRanker | TorchRanker = ranker or PriorRanker()
        self.pinned = False  # an operator pinned a model: published versions are ignored
        self.skipped: dict[str, str] = {}  # versions not loaded, and why
        self._log: EventLog | None = None
        self._positions: dict[int, int] = {}
        self._task: asyncio.Task[None] | None = None

    def pin(self, ranker: PriorRanker | TorchRanker) -> None:
        self.ranker = ranker
        self.pinned = True

    def start(self) -> None:
        """Start watching on the running event loop (idempotent; no-op without a log or when pinned)."""
        if self._task is None and self.log_url and not self.pinned:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                await self.scan()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep the model we have; retry on the next tick
                log.warning("model watch failed", error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(self.interval_s)

    async def newest(self) -> ModelVersionPublished | None:
        """The newest ``ModelVersionPublished`` of ``model`` among the records read since the last call."""
        if self._log is None:
            assert self.log_url is not None
            self._log = await open_log(self.log_url, **self.log_options)
        newest: ModelVersionPublished | None = None
        for info in await self._log.partition_info():
            pos = max(self._positions.get(info.partition, 0), info.start)
            while pos < info.end:
                records = await self._log.read(info.partition, pos, 5000)
                if not records:
                    break
                for r in records:
                    e = r.event
                    if isinstance(e, ModelVersionPublished) and e.model == self.model and (
                            newest is None or e.ts >= newest.ts):
                        newest = e
                pos = records[-1].offset + 1
            self._positions[info.partition] = pos
        return newest

    async def scan(self) -> bool:
        """Read the new records once; True when a newly published version now serves."""
        newest = await self.newest()
        if newest is None or self.pinned:
            return False
        try:
            ranker = await asyncio.to_thread(load_ranker, newest.uri, version=newest.version)
        except (ValueError, OSError, KeyError, RuntimeError) as exc:
            self.skipped[newest.version] = str(exc)
            log.warning("ranker version not loaded", version=newest.version, error=str(exc))
            return False
        if self.pinned:  # an operator pinned a model while this one loaded: the pin wins
            return False
        self.ranker = ranker
        log.info("ranker loaded", model=self.model, version=newest.version)
        return True

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._log is not None:
            await self._log.close()
            self._log = None

    def info(self) -> dict[str, Any]:
        return {"ranker": self.ranker.name, "version": self.ranker.version, "skipped": dict(self.skipped)}


class WatchedRanker:
    """The feed's ``Ranker`` port in-process: whatever ranker the watch holds at each call."""

    def __init__(self, watch: RankerWatch) -> None:
        self.watch = watch

    @property
    def ranker(self) -> PriorRanker | TorchRanker:
        return self.watch.ranker

    async def score(self, rows: npt.NDArray[np.float32]) -> Scores:
        self.watch.start()
        return await self.watch.ranker.score(rows)


def watched_ranker(log_url: str | None, log_options: dict[str, Any] | None = None) -> WatchedRanker:
    """The in-process ranker of a feed replica: ``PriorRanker`` until a ranker version is published."""
    return WatchedRanker(RankerWatch(log_url, log_options))
