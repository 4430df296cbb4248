"""The coordinator as a Ray actor: ``start_pipeline`` launches it; it ticks until ``stop``.

The actor needs no CPU of its own (``num_cpus=0``: it waits on the log, the store and its media tasks,
which each take one CPU). A restarted actor (``max_restarts``) resumes from the state store, or
replays the log when the store is ``memory://`` — either way nothing is transcoded twice.
"""

from __future__ import annotations

import asyncio
from typing import Any

import ray

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

    async def start(self) -> None:
        """Open the log and start ticking (idempotent)."""
        await self.coordinator.start()
        if self._task is None:
            self._task = asyncio.create_task(self.coordinator.run(self._stop))

    async def status(self) -> dict[str, Any]:
        return self.coordinator.status()

    async def video(self, video_id: str) -> Any:
        return self.coordinator.video(video_id)

    async def stop(self) -> None:
        self._stop.set()
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
