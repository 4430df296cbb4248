"""The reports reactor: a video reported past the removal threshold is taken off feeds with ``VideoRemoved``.

The ``moderation`` view already counts reports per (user, video) and queues a video for review when its
live reports pass ``remove_after`` (50); this reactor folds that view in memory from the log and, once
caught up, appends ``VideoRemoved(by="reports")`` for every video queued for reports that is not removed
yet. Its own removals are folded on the next step, so nothing is appended twice — also after a restart,
which replays the log. Demotion (> 10 reports) needs no event: the feed filter reads the view's flag.
Under Ray each step also sets the gauges ``reel_moderation_review_queue`` and
``reel_moderation_review_oldest_age_s`` (the review SLA metric).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import msgspec
import structlog

from events.ids import new_event_id, now_us
from events.log import EventLog
from events.schema import VideoRemoved
from pipeline.uploads import Appender
from projections import moderation as mod
from projections.runner import ProjectionRunner
from projections.store import open_store, reader

__all__ = ["ReportsReactor"]

log = structlog.get_logger("moderation.reports")


class ReportsReactor:
    def __init__(
        self,
        log_: EventLog,
        appender: Appender,
        *,
        demote_after: int = mod.DEMOTE_AFTER,
        remove_after: int = mod.REMOVE_AFTER,
    ) -> None:
        self.projection = mod.ModerationProjection(demote_after=demote_after, remove_after=remove_after)
        self.store = open_store("memory://")
        self.runner = ProjectionRunner(log_, self.store, self.projection)
        self.view = reader(self.store, self.projection)
        self.appender = appender
        self._pending: set[str] = set()
        self._gauges: tuple[Any, Any] | None = None

    async def step(self) -> list[str]:
        """Catch up, then remove what crossed the threshold; returns the videos removed now."""
        await self.runner.run_until_caught_up()
        due: list[str] = []
        after: str | None = None
        while True:
            page = self.view.scan("q:", 500, start_after=after)
            for _key, entry in page:
                assert isinstance(entry, mod.QueueEntry)
                v = mod.get_moderation(self.view, entry.video_id)
                if entry.reason == "reports" and v is not None and v.removed_by_reports and not v.removed:
                    if entry.video_id not in self._pending:
                        due.append(entry.video_id)
                elif entry.video_id in self._pending and v is not None and v.removed:
                    self._pending.discard(entry.video_id)
            if len(page) < 500:
                break
            after = page[-1][0]
        self._export_metrics()
        if due:
            ts = now_us()
            await self.appender.append(
                [
                    VideoRemoved(
                        event_id=new_event_id(),
                        ts=ts,
                        video_id=vid,
                        by="reports",
                        reason=f"reported by more than {self.projection.remove_after} people; to review",
                    )
                    for vid in due
                ]
            )
            self._pending.update(due)
            log.info("removed by reports", videos=due)
        return due

    def _export_metrics(self) -> None:
        """The review queue's size and oldest age (SLA 2 h) as Ray metrics, when running under Ray."""
        try:
            import ray

            if not ray.is_initialized():
                return
            if self._gauges is None:
                from ray.util.metrics import Gauge

                self._gauges = (
                    Gauge("reel_moderation_review_queue", description="Videos waiting for a human decision"),
                    Gauge(
                        "reel_moderation_review_oldest_age_s", description="Age of the oldest queued video"
                    ),
                )
            stats = mod.queue_stats(self.view, now_us())
            self._gauges[0].set(stats.size)
            self._gauges[1].set(stats.oldest_age_us / 1e6)
        except Exception as exc:  # metrics must never stop removals
            log.warning("moderation metrics not exported", error=repr(exc))

    async def run(self, stop: asyncio.Event, poll_s: float = 1.0) -> None:
        """Step every ``poll_s`` until ``stop`` is set (a log or store hiccup is logged and retried)."""
        while not stop.is_set():
            try:
                await self.step()
            except Exception as exc:
                log.error("reports reactor step failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll_s)

    def flags(self, video_id: str) -> mod.VideoFlags:
        return mod.video_flags(self.view, video_id)

    def stats(self) -> dict[str, object]:
        return msgspec.to_builtins(mod.queue_stats(self.view, now_us()))  # type: ignore[no-any-return]
