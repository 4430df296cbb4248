"""Reading the log as a person would for `reel log tail`: filters, the last N events, follow, one-line format.

Only the ``EventLog`` port's ``read`` and ``partition_info`` are used, so tailing never joins or moves
a consumer group.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import msgspec

from .codec import to_builtins
from .log import EventLog, Record
from .partitioning import partition_for
from .schema import partition_key

__all__ = [
    "RecordFilter",
    "follow",
    "format_record",
    "last_records",
    "read_from",
    "record_json",
]

_BATCH = 1000
_HIDDEN = frozenset({"type", "event_id", "ts"})


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """Which records to show: by event type (tag), partition key and partition."""

    types: frozenset[str] | None = None
    key: str | None = None
    partition: int | None = None

    @classmethod
    def of(
        cls, types: Collection[str] = (), key: str | None = None, partition: int | None = None
    ) -> RecordFilter:
        return cls(types=frozenset(types) or None, key=key, partition=partition)

    def partitions(self, count: int) -> list[int]:
        """The partitions worth reading: a key lives in exactly one."""
        chosen = range(count) if self.partition is None else [self.partition]
        if self.key is not None:
            home = partition_for(self.key, count)
            return [p for p in chosen if p == home]
        return list(chosen)

    def __call__(self, record: Record) -> bool:
        event = record.event
        if self.types is not None and type(event).__name__ not in self.types:
            return False
        return self.key is None or partition_key(event) == self.key


def _ts(us: int) -> str:
    return dt.datetime.fromtimestamp(us / 1e6, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _compact(value: object) -> str:
    if isinstance(value, str) and value and " " not in value and "=" not in value:
        return value
    return msgspec.json.encode(value).decode()


def format_record(record: Record) -> str:
    """``P:OFFSET  TIME  Type  key  field=value …`` (defaults and the key field left out)."""
    event = record.event
    key_field = type(event).KEY
    defaults = _defaults(type(event))
    fields = " ".join(
        f"{name}={_compact(value)}"
        for name, value in to_builtins(event).items()
        if name not in _HIDDEN and name != key_field and (name not in defaults or value != defaults[name])
    )
    return (
        f"{record.partition}:{record.offset}  {_ts(event.ts)}  {type(event).__name__}  "
        f"{partition_key(event)}  {fields}".rstrip()
    )


@functools.cache
def _defaults(cls: type) -> dict[str, object]:
    """Each field's default as plain data (what ``to_builtins`` would show for it)."""
    out: dict[str, object] = {}
    for f in msgspec.structs.fields(cls):
        if f.default is not msgspec.NODEFAULT:
            out[f.name] = msgspec.to_builtins(f.default)
        elif f.default_factory is not msgspec.NODEFAULT:
            out[f.name] = msgspec.to_builtins(f.default_factory())
    return out


def record_json(record: Record) -> bytes:
    """``{"partition": P, "offset": O, "event": {...}}`` as one JSON line (no newline)."""
    return msgspec.json.encode(
        {"partition": record.partition, "offset": record.offset, "event": record.event}
    )


async def read_from(
    log: EventLog,
    positions: dict[int, int],
    ends: dict[int, int] | None = None,
    *,
    batch: int = _BATCH,
) -> list[Record]:
    """One round: up to ``batch`` records per partition from ``positions`` (advanced in place)."""
    out: list[Record] = []
    for p, off in sorted(positions.items()):
        stop = None if ends is None else ends[p]
        if stop is not None and off >= stop:
            continue
        limit = batch if stop is None else min(batch, stop - off)
        records = await log.read(p, off, max_records=limit)
        if stop is not None:
            records = [r for r in records if r.offset < stop]
        if records:
            positions[p] = records[-1].offset + 1
            out.extend(records)
    return out


async def last_records(log: EventLog, flt: RecordFilter, n: int, *, window: int = _BATCH) -> list[Record]:
    """The ``n`` latest records matching ``flt`` across partitions, oldest first (by event time).

    Reads backwards in windows from each partition's end until ``n`` matches are found or the
    partition's start is reached.
    """
    infos = {i.partition: i for i in await log.partition_info()}
    found: list[Record] = []
    for p in flt.partitions(log.partitions):
        info = infos.get(p)
        if info is None or n <= 0:
            continue
        hits: list[Record] = []
        hi = info.end
        step = max(window, n)
        while hi > info.start and len(hits) < n:
            lo = max(info.start, hi - step)
            chunk: list[Record] = []
            off = lo
            while off < hi:
                records = await log.read(p, off, max_records=hi - off)
                if not records:
                    break
                chunk.extend(r for r in records if r.offset < hi)
                off = records[-1].offset + 1
            hits = [r for r in chunk if flt(r)] + hits
            hi = lo
            step *= 2
        found.extend(hits[-n:])
    found.sort(key=lambda r: (r.event.ts, r.partition, r.offset))
    return found[-n:] if n > 0 else []


async def follow(
    log: EventLog,
    positions: dict[int, int],
    flt: RecordFilter,
    emit: Callable[[Sequence[Record]], None],
    *,
    interval_s: float = 0.25,
    stop: asyncio.Event | None = None,
) -> None:
    """Poll for new records after ``positions`` and ``emit`` the matching ones (time-ordered per round)
    until ``stop`` is set (or forever: Ctrl-C ends a follow)."""
    while stop is None or not stop.is_set():
        records = await read_from(log, positions)
        matched = sorted((r for r in records if flt(r)), key=lambda r: (r.event.ts, r.partition, r.offset))
        if matched:
            emit(matched)
        if not records:
            if stop is None:
                await asyncio.sleep(interval_s)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval_s)
