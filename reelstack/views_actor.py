"""The projection runners of a running platform as one Ray actor: every view folded live into the store.

``ViewsActor`` runs a ``ProjectionRunner`` per registered projection (catalog, counters, social, search,
trending, analytics, notifications, features, moderation) against the shared view store, polling the
log every ``idle_sleep_s`` (the floor of read-your-writes latency), plus the reports reactor that
removes videos reported past the threshold. It needs no CPU reservation: it waits on IO.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

import ray
import structlog

from actors.autostart import AutoStart
from events.log import EventLog
from projections.admin import open_log_for_views
from projections.registry import all_projections
from projections.runner import ProjectionRunner
from projections.store import ViewStore, open_store

__all__ = ["ViewsActor"]

log = structlog.get_logger("reelstack.views")


@ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=0)
class ViewsActor:
    def __init__(self, log_url: str, partitions: int, store_url: str, *, idle_sleep_s: float = 0.03,
                 appender: Any = None, reports_every_s: float = 1.0) -> None:
        self.log_url = log_url
        self.partitions = partitions
        self.store_url = store_url
        self.store: ViewStore | None = None  # opened by start: its errors then reach the caller as they are
        self.idle_sleep_s = idle_sleep_s
        self.appender = appender
        self.reports_every_s = reports_every_s
        self._stop = asyncio.Event()
        self._log: EventLog | None = None
        self._runners: list[ProjectionRunner] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.errors: dict[str, str] = {}
        # begun here, so that an actor Ray restarted after a crash folds again by itself (actors.autostart)
        self._autostart = AutoStart(self._start, what="the views")

    async def start(self) -> list[str]:
        """Wait until every view has caught up with the log and folds live; returns the view names. The
        actor starts by itself; this raises what stopped it, and a call after a failure tries again."""
        return await self._autostart.wait()

    async def _start(self) -> list[str]:
        if self.store is None:
            self.store = open_store(self.store_url)
        self._log = await open_log_for_views(self.log_url, self.partitions)
        self._runners = [ProjectionRunner(self._log, self.store, p, idle_sleep_s=self.idle_sleep_s)
                         for p in all_projections()]
        try:
            await asyncio.gather(*(r.run_until_caught_up() for r in self._runners))
        except BaseException:  # close what this attempt opened; the next start opens them again
            await self._close_log()
            raise
        self._tasks = [asyncio.create_task(self._run(r)) for r in self._runners]
        if self.appender is not None:
            self._tasks.append(asyncio.create_task(self._reports()))
        return [r.name for r in self._runners]

    async def _run(self, runner: ProjectionRunner) -> None:
        while not self._stop.is_set():
            try:
                await runner.run_forever(self._stop)
            except Exception as exc:  # keep the others going; retry this one after a pause
                self.errors[runner.name] = f"{type(exc).__name__}: {exc}"
                log.error("projection runner failed", view=runner.name, error=self.errors[runner.name])
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), 1.0)

    async def _reports(self) -> None:
        from moderation.reports import ReportsReactor

        assert self._log is not None
        reactor = ReportsReactor(self._log, self.appender)
        while not self._stop.is_set():
            try:
                await reactor.step()
            except Exception as exc:
                self.errors["reports"] = f"{type(exc).__name__}: {exc}"
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.reports_every_s)

    async def status(self) -> dict[str, Any]:
        errors = dict(self.errors)
        if self._autostart.error:
            errors["start"] = self._autostart.error
        return {"views": [r.name for r in self._runners], "errors": errors,
                "pid": os.getpid()}  # the actor's process (a new one after Ray restarted it)

    async def stop(self) -> None:
        self._stop.set()
        await self._autostart.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._close_log()

    async def _close_log(self) -> None:
        runners, self._runners = self._runners, []
        for r in runners:
            await r.close()
        if self._log is not None:
            log_, self._log = self._log, None
            await log_.close()
