"""``AutoStart``: an async actor that starts its own work, so that a restart by Ray needs no caller.

Ray restarts an actor with ``max_restarts`` by running ``__init__`` again in a new process. Work that
only a ``start()`` call begins then never begins: nobody calls start on the new actor. Ray runs an async
actor's ``__init__`` on the actor's event loop, so ``__init__`` can schedule the start itself:

    self._autostart = AutoStart(self._start, what="the views")   # in __init__

    async def start(self):                                       # a remote method
        return await self._autostart.wait()

``wait`` waits for that one attempt (concurrent callers share it rather than start twice) and raises
what stopped it; after a failure, the next ``wait`` tries again. ``error`` says why the last attempt
failed, for the actor's status.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import structlog

__all__ = ["AutoStart"]

T = TypeVar("T")
log = structlog.get_logger("actors.autostart")


class AutoStart(Generic[T]):
    def __init__(self, start: Callable[[], Awaitable[T]], *, what: str) -> None:
        self._start = start
        self.what = what
        self.error: str | None = None
        self._task = self._begin()

    def _begin(self) -> asyncio.Task[T]:
        async def run() -> T:
            return await self._start()

        task = asyncio.get_running_loop().create_task(run())
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[T]) -> None:
        exc = None if task.cancelled() else task.exception()
        self.error = None if exc is None else f"{type(exc).__name__}: {exc}"
        if exc is not None:
            log.error(f"{self.what} did not start", error=self.error)

    async def wait(self) -> T:
        """The start's result, once it is done; raises why it failed, and tries again after a failure."""
        task = self._task
        if task.done() and (task.cancelled() or task.exception() is not None):
            self._task = task = self._begin()
        return await asyncio.shield(task)

    async def cancel(self) -> None:
        """Stop a start still under way (an actor stopping) and wait for it to end."""
        if not self._task.done():
            self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
