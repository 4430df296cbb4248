"""The online trainer as a Ray actor: consume interactions from the log, train, publish every few seconds.

A thin shell around ``ml.online.OnlineTrainer`` (all logic is there and runs in-process in tests):
``step`` polls the log's ``trainer`` consumer group, turns likes / shares / completed views into
positives and "not interested" / skips into negatives (creators from the catalog events it sees),
takes one small step per batch, commits the offsets, and snapshots the parameters once
``publish_every_us`` of wall-clock time has passed. Serving reads them with ``published``.
"""

from __future__ import annotations

import time
from typing import Any

import ray

from events import Event, VideoDetailsSubmitted, VideoPublished, open_log
from ml.online import Labelled, OnlineConfig, OnlineTrainer, labelled_stream

__all__ = ["OnlineTrainerActor"]


@ray.remote(num_cpus=0)
class OnlineTrainerActor:
    def __init__(self, log_url: str, config: OnlineConfig | None = None, group: str = "trainer") -> None:
        self.log_url = log_url
        self.group = group
        self.trainer = OnlineTrainer(config or OnlineConfig())
        self.creators: dict[str, str] = {}
        self._log: Any = None
        self._consumer: Any = None

    async def _open(self) -> None:
        if self._log is None:
            self._log = await open_log(self.log_url)
            self._consumer = self._log.consumer(self.group)

    async def step(self, max_records: int = 1000, timeout_s: float = 0.5) -> dict[str, int]:
        """Consume what arrived, learn from it, maybe publish; returns counters."""
        await self._open()
        records = await self._consumer.poll(max_records=max_records, timeout_s=timeout_s)
        events: list[Event] = [r.event for r in records]
        for e in events:
            if isinstance(e, VideoDetailsSubmitted | VideoPublished):
                self.creators.setdefault(e.video_id, e.creator_id)
        batch = [
            Labelled(x.ts, x.user_id, x.video_id, self.creators.get(x.video_id, x.creator_id), x.label)
            for x in labelled_stream(events)
        ]
        for s in range(0, len(batch), self.trainer.cfg.batch):
            self.trainer.observe(batch[s : s + self.trainer.cfg.batch])
        if records:
            await self._consumer.commit()
        published = self.trainer.maybe_publish(time.time_ns() // 1000)
        return {
            "records": len(records),
            "labelled": len(batch),
            "version": self.trainer.version,
            "published": int(published),
            "rows": len(self.trainer.model.table),
        }

    def published(self) -> dict[str, Any]:
        """The last published parameters (dense state dict and the sparse table's rows)."""
        m = self.trainer.published
        return {
            "version": self.trainer.version,
            "dense": m.dense.state_dict(),
            "rows": {k: m.table.weights[m.table.row_of(k)].copy() for k in m.table.ids()},
        }

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.close()
        if self._log is not None:
            await self._log.close()
