"""One writer for an embedded file log shared by many processes: a Ray actor that owns the append path.

A ``file://`` log has a single writer per directory. Processes that must append to it (the upload
service in the ingress, the pipeline coordinator) go through the ``LogWriter`` actor with a
``RemoteAppender``; a ``kafka://`` log needs none of this (every process appends directly).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from typing import Any

import ray

from events.log import EventLog, Position, open_log
from events.schema import Event

__all__ = ["LazyLogAppender", "LogWriter", "RemoteAppender", "start_log_writer"]


@ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=0)
class LogWriter:
    """Holds the log open for writing and appends batches for other processes."""

    def __init__(self, url: str, options: dict[str, Any] | None = None) -> None:
        self.url = url
        self._options = dict(options or {})
        self._log: EventLog | None = None
        # appends that arrive together (after Ray restarted this actor, every appender's retry) open the
        # log once: a second open in the same process would find the log's writer lock taken
        self._opening = asyncio.Lock()

    async def _opened(self) -> EventLog:
        async with self._opening:
            if self._log is None:
                self._log = await open_log(self.url, **self._options)
        return self._log

    async def status(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "open": self._log is not None}  # a new pid after Ray restarted it

    async def ready(self) -> int:
        """Open (creating) the log; returns its partition count."""
        return (await self._opened()).partitions

    async def append(self, events: list[Event]) -> list[tuple[int, int]]:
        log = await self._opened()
        return [(p.partition, p.offset) for p in await log.append(events)]

    async def close(self) -> None:
        if self._log is not None:
            log, self._log = self._log, None
            await log.close()


class RemoteAppender:
    """The ``Appender`` of a ``LogWriter`` actor, by handle or by name (picklable: pass it into other actors).

    Pass one made ``by_name`` into an actor Ray restarts (``max_restarts``): it pickles as the name and
    looks the writer up on first use in the process that appends. An argument that holds a handle is
    kept in Ray's object store, and a restarted actor may not find it there (Ray warns when the actor
    is created, ray-project/ray#53727)."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.name: tuple[str, str | None] | None = None

    @classmethod
    def by_name(cls, name: str, namespace: str | None = None, *, handle: Any = None) -> RemoteAppender:
        """``handle``: the writer's, where the caller has it; kept here (and so the actor, which Ray ends
        once no handle to it is left) but not pickled."""
        appender = cls(handle)
        appender.name = (name, namespace)
        return appender

    def __getstate__(self) -> dict[str, Any]:
        return {"handle": None if self.name is not None else self.handle, "name": self.name}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.handle, self.name = state["handle"], state["name"]

    async def append(self, events: Sequence[Event]) -> list[Position]:
        if self.handle is None:
            if self.name is None:
                raise RuntimeError("RemoteAppender needs the LogWriter's handle or name")
            self.handle = ray.get_actor(self.name[0], namespace=self.name[1])
        pairs = await self.handle.append.remote(list(events))
        return [Position(p, o) for p, o in pairs]


class LazyLogAppender:
    """An ``Appender`` that opens the log in this process on first use (Kafka: every process appends).
    Appends that arrive together before it is open wait for one open (a producer each would leak)."""

    def __init__(self, url: str, **options: Any) -> None:
        self.url = url
        self.options = options
        self._log: EventLog | None = None
        self._opening: asyncio.Lock | None = None  # made on first use, on the loop that appends

    async def append(self, events: Sequence[Event]) -> list[Position]:
        if self._log is None:
            if self._opening is None:
                self._opening = asyncio.Lock()
            async with self._opening:
                if self._log is None:
                    self._log = await open_log(self.url, **self.options)
        return await self._log.append(events)

    async def close(self) -> None:
        if self._log is not None:
            log, self._log = self._log, None
            await log.close()


def start_log_writer(
    url: str, *, name: str | None = None, namespace: str | None = None, **options: Any
) -> Any:
    """Start (or get, when ``name`` exists) the writer actor of ``url``; returns its handle."""
    actor = LogWriter.options(name=name, namespace=namespace, get_if_exists=name is not None)  # type: ignore[attr-defined]
    return actor.remote(url, options)
