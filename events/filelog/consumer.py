"""``FileConsumer``: a consumer-group member over some partitions of a ``FileLog``.

Positions start at the group's committed offsets, or at the earliest retained offset for a new
group. A position that retention overtook moves to the earliest retained offset (Kafka's
``auto.offset.reset=earliest``). ``poll`` wakes on this process's appends, and re-scans the files
every few milliseconds when the log is read-only (the writer is another process).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..errors import CorruptRecordError, LogClosedError, LogError
from ..log import Record

if TYPE_CHECKING:
    from .log import FileLog

__all__ = ["FileConsumer"]


class FileConsumer:
    def __init__(self, log: FileLog, group: str, partitions: Sequence[int] | None) -> None:
        self.group = group
        self._log = log
        assigned = list(range(log.partitions)) if partitions is None else sorted(set(partitions))
        for p in assigned:
            if not 0 <= p < log.partitions:
                raise LogError(f"partition {p} does not exist; {log.url} has {log.partitions}")
        self._assigned = assigned
        committed = log._offsets.committed(group)
        parts = log._parts
        self._positions = {p: committed.get(p, parts[p].bounds()[0]) for p in assigned}
        self._next = 0  # round-robin start, so a busy partition cannot starve the others
        self._closed = False

    def _check(self) -> None:
        if self._closed or self._log._closed:
            raise LogClosedError(url=self._log.url)

    async def poll(self, max_records: int = 1000, timeout_s: float = 1.0) -> list[Record]:
        """Records after the current positions, waiting up to ``timeout_s`` for some to arrive.

        A damaged record raises ``CorruptRecordError`` when it is next in line (records before it
        are returned first); the position stays on it until the caller ``seek``s past it.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            self._check()
            wake = self._log.wake_event
            order = self._assigned[self._next :] + self._assigned[: self._next]
            positions = dict(self._positions)
            records, moved, resume = await asyncio.to_thread(self._gather, order, positions, max_records)
            self._positions.update(moved)
            self._next = resume
            if records:
                return records
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            await self._log.wait_for_records(wake, remaining)

    def _gather(
        self, order: list[int], positions: dict[int, int], max_records: int
    ) -> tuple[list[Record], dict[int, int], int]:
        out: list[Record] = []
        moved: dict[int, int] = {}
        resume = self._next
        readonly = self._log.readonly
        for p in order:
            if len(out) >= max_records:
                break
            part = self._log._parts[p]
            if readonly:
                part.refresh()
            start, end = part.bounds()
            offset = max(positions[p], start)
            if offset >= end:
                if offset != positions[p]:
                    moved[p] = offset
                continue
            try:
                got = part.read(offset, max_records - len(out))
            except CorruptRecordError:
                if out:
                    resume = self._assigned.index(p)
                    break
                raise
            if got:
                out.extend(got)
                moved[p] = got[-1].offset + 1
                resume = (self._assigned.index(p) + 1) % len(self._assigned)
            elif offset != positions[p]:
                moved[p] = offset
        return out, moved, resume

    def seek(self, partition: int, offset: int) -> None:
        self._check()
        if partition not in self._positions:
            raise LogError(f"partition {partition} is not assigned to this consumer of group {self.group!r}")
        if offset < 0:
            raise LogError(f"cannot seek partition {partition} to negative offset {offset}")
        self._positions[partition] = offset

    def seek_to_beginning(self) -> None:
        self._check()
        for p in self._assigned:
            part = self._log._parts[p]
            if self._log.readonly:
                part.refresh()
            self._positions[p] = part.bounds()[0]

    def positions(self) -> dict[int, int]:
        return dict(self._positions)

    async def commit(self, offsets: dict[int, int] | None = None) -> None:
        """Durably record ``offsets`` (default: the current positions) as the group's progress."""
        self._check()
        await self._log.commit_offsets(self.group, dict(self._positions) if offsets is None else offsets)

    async def close(self) -> None:
        self._closed = True
