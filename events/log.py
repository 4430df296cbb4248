"""The ``EventLog`` port: a partitioned, durable, replayable log of events, with consumer groups.

Backends are chosen by URL through ``open_log``:

- ``file:///dir`` — the embedded default (``events.filelog``);
- ``kafka://host:port`` — aiokafka against a Kafka cluster or any Kafka-protocol broker (``events.kafka``).

Contract (tests/contract/test_log_contract.py runs it against every backend):

- ``append`` validates every event first (all-or-nothing: one invalid event rejects the batch with
  ``EventValidationError`` and nothing is written), routes each to ``partition_for(partition_key(e))``
  and returns only once the whole batch is durable (file: fsynced; Kafka: acknowledged by all
  in-sync replicas). Concurrent ``append`` calls are group-committed.
- Offsets are dense per partition, starting at 0, and never reused.
- ``read`` returns records in offset order from any offset still retained; a damaged record raises
  ``CorruptRecordError`` naming partition and offset: it is never skipped.
- A consumer group's committed offset is "the next offset to read"; it survives restarts.
- After ``max_attempts`` failures a consumer hands a record to the dead-letter store.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import msgspec

from .errors import UnsupportedLogURLError
from .schema import Event

__all__ = [
    "DEFAULT_PARTITIONS",
    "Consumer",
    "DeadLetter",
    "EventLog",
    "PartitionInfo",
    "Position",
    "Record",
    "open_log",
    "read_in_time_order",
    "register_backend",
]

DEFAULT_PARTITIONS = 8


@dataclass(frozen=True, slots=True)
class Position:
    partition: int
    offset: int


class Record(msgspec.Struct, frozen=True, gc=False):
    """One stored event with its place in the log.

    A msgspec Struct, not a dataclass: replay builds one per record, and a Struct is built several
    times faster and (``gc=False``, it can never be part of a cycle) costs the cycle collector nothing.
    """

    partition: int
    offset: int
    event: Event


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    partition: int
    start: int  # first retained offset
    end: int  # next offset to be written (high watermark)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An event a consumer group failed on ``attempts`` times, parked with the last error."""

    group: str
    partition: int
    offset: int
    event: Event
    error: str
    attempts: int
    ts: int  # epoch µs when it was dead-lettered


@runtime_checkable
class Consumer(Protocol):
    """A member of a consumer group reading some partitions of a log."""

    group: str

    async def poll(self, max_records: int = 1000, timeout_s: float = 1.0) -> list[Record]:
        """Next records after the current positions (possibly empty after ``timeout_s``)."""
        ...

    def seek(self, partition: int, offset: int) -> None: ...

    def seek_to_beginning(self) -> None: ...

    def positions(self) -> dict[int, int]:
        """Next offset this consumer will read, per assigned partition."""
        ...

    async def commit(self, offsets: dict[int, int] | None = None) -> None:
        """Durably record ``offsets`` (default: the current positions) as the group's progress."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class EventLog(Protocol):
    url: str
    partitions: int

    async def append(self, events: Sequence[Event]) -> list[Position]: ...

    async def read(self, partition: int, offset: int, max_records: int = 1000) -> list[Record]: ...

    async def partition_info(self) -> list[PartitionInfo]: ...

    def consumer(self, group: str, *, partitions: Sequence[int] | None = None) -> Consumer: ...

    async def committed(self, group: str) -> dict[int, int]:
        """The group's committed offsets (absent partitions have committed nothing)."""
        ...

    async def groups(self) -> list[str]: ...

    async def dead_letter(self, letter: DeadLetter) -> None: ...

    async def dead_letters(self, group: str | None = None) -> list[DeadLetter]: ...

    async def close(self) -> None: ...


Opener = Callable[..., Awaitable[EventLog]]
_BACKENDS: dict[str, str] = {
    "file": "events.filelog:open_file_log",
    "kafka": "events.kafka:open_kafka_log",
}


def register_backend(scheme: str, target: str) -> None:
    """Register ``module:function`` as the opener of ``scheme://`` URLs."""
    _BACKENDS[scheme] = target


async def open_log(url: str, **options: object) -> EventLog:
    """Open the log at ``url`` (``file:///dir`` or ``kafka://host:port``); options go to the backend."""
    scheme, sep, _ = url.partition("://")
    if not sep or scheme not in _BACKENDS:
        raise UnsupportedLogURLError(url=url)
    import importlib

    module_name, _, func = _BACKENDS[scheme].partition(":")
    opener: Opener = getattr(importlib.import_module(module_name), func)
    return await opener(url, **options)


async def read_in_time_order(url: str, **options: object) -> list[Event]:
    """Every retained event of the log at ``url``, all partitions merged and sorted by ``ts`` (for
    offline jobs: training, experiment reports); options go to the backend, as with ``open_log``."""
    log = await open_log(url, **options)
    out: list[Event] = []
    try:
        for info in await log.partition_info():
            offset = info.start
            while offset < info.end:
                records = await log.read(info.partition, offset, 5000)
                if not records:
                    break
                out.extend(r.event for r in records)
                offset = records[-1].offset + 1
    finally:
        await log.close()
    out.sort(key=lambda e: e.ts)
    return out
