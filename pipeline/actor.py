"""The coordinator as a Ray actor: ``start_pipeline`` launches it; it ticks until ``stop``.

The actor needs no CPU of its own (``num_cpus=0``: it waits on the log, the store and its media tasks,
which each take one CPU). A restarted actor (``max_restarts``) starts ticking by itself
(``actors.autostart``) and resumes from the state store, or replays the log when the store is
``memory://`` — either way nothing is transcoded twice.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import ray

from actors.autostart import AutoStart

from .coordinator import Coordinator, CoordinatorConfig, ray_work
from .moderation import ModerationPort
from .uploads import Appender

__all__ = ["PipelineActor", "start_pipeline"]


@ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=0)
class PipelineActor:
    def __init__(
        self,
        config: CoordinatorConfig,
        moderation: ModerationPort | None = None,
        appender: Appender | None = None,
        work_cpus: float = 1.0,
    ) -> None:
        self.coordinator = Coordinator(
            config, moderation=moderation, appender=appender, work=ray_work(work_cpus)
        )
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # begun here, so that an actor Ray restarted after a crash ticks again by itself (actors.autostart)
        self._autostart = AutoStart(self._start, what="the pipeline")

    async def start(self) -> None:
        """Wait until the log is open and the coordinator ticks; raises what stopped it (a later call
        tries again)."""
        await self._autostart.wait()

    async def _start(self) -> None:
        await self.coordinator.start()
        if self._task is None:
            self._task = asyncio.create_task(self.coordinator.run(self._stop))

    async def status(self) -> dict[str, Any]:
        status = {**self.coordinator.status(), "pid": os.getpid()}  # a new process after Ray restarted it
        if self._autostart.error:
            status["start_error"] = self._autostart.error
        return status

    async def video(self, video_id: str) -> Any:
        return self.coordinator.video(video_id)

    async def stop(self) -> None:
        self._stop.set()
        await self._autostart.cancel()
        if self._task is not None:
            await self._task
            self._task = None
        await self.coordinator.close()


def start_pipeline(
    config: CoordinatorConfig,
    *,
    moderation: ModerationPort | None = None,
    appender: Appender | None = None,
    name: str | None = None,
    namespace: str | None = None,
    work_cpus: float = 1.0,
) -> Any:
    """Create the coordinator actor and start its loop; returns the handle (``ray.get(h.stop.remote())``)."""
    handle = PipelineActor.options(name=name, namespace=namespace).remote(  # type: ignore[attr-defined]
        config, moderation, appender, work_cpus
    )
    ray.get(handle.start.remote())
    return handle
