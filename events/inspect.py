"""Whole-log inspection behind `reel log stat` and `reel log verify`: offsets, lag, type counts, damage.

Generic over backends: only the ``EventLog`` port is used (``partition_info``, ``read``, ``groups``,
``committed``), so the same scan checks a file log and a Kafka topic. Scans stop at the snapshot of
each partition's end taken when they start; records appended meanwhile are not counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .errors import CorruptRecordError, EventsError
from .log import EventLog, PartitionInfo, Record

__all__ = [
    "GroupLag",
    "LogStat",
    "PartitionScan",
    "Progress",
    "lag_for",
    "log_stat",
    "scan_partition",
    "verify_log",
]

#: Called with the number of records just processed (drives progress bars).
Progress = Callable[[int], None]

_BATCH = 2000
_EMPTY_READS = 3  # a backend returning nothing this many times before ``end`` means we cannot go on


@dataclass(frozen=True, slots=True)
class GroupLag:
    """A consumer group's committed offsets and how far each partition is behind the end."""

    group: str
    committed: dict[int, int]  # absent partition: nothing committed yet
    lag: dict[int, int]

    @property
    def total_lag(self) -> int:
        return sum(self.lag.values())


@dataclass(slots=True)
class PartitionScan:
    """What one pass over ``[start, end)`` of a partition found."""

    partition: int
    start: int
    end: int
    good: int = 0
    first_bad: int | None = None  # first offset whose record is damaged
    bad: int = 0  # damaged records seen (the scan resumes past damage when the backend allows)
    detail: str | None = None  # the first error's detail
    unreadable_from: int | None = None  # offset from which nothing more could be read
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return self.first_bad is None and self.unreadable_from is None

    def to_json(self) -> dict[str, object]:
        return {
            "partition": self.partition,
            "start": self.start,
            "end": self.end,
            "good": self.good,
            "ok": self.ok,
            "first_bad_offset": self.first_bad,
            "bad_records": self.bad,
            "detail": self.detail,
            "unreadable_from": self.unreadable_from,
        }


@dataclass(frozen=True, slots=True)
class LogStat:
    url: str
    partitions: list[PartitionInfo]
    groups: list[GroupLag]
    scans: list[PartitionScan] | None  # None when the scan for type counts was skipped

    @property
    def total_records(self) -> int:
        return sum(p.end - p.start for p in self.partitions)

    @property
    def type_counts(self) -> dict[str, int] | None:
        if self.scans is None:
            return None
        total: Counter[str] = Counter()
        for s in self.scans:
            total.update(s.counts)
        return dict(total.most_common())

    def to_json(self) -> dict[str, object]:
        return {
            "url": self.url,
            "partitions": [
                {"partition": p.partition, "start": p.start, "end": p.end, "records": p.end - p.start}
                for p in self.partitions
            ],
            "total_records": self.total_records,
            "groups": [
                {
                    "group": g.group,
                    "partitions": [
                        {
                            "partition": p.partition,
                            "committed": g.committed.get(p.partition),
                            "end": p.end,
                            "lag": g.lag[p.partition],
                        }
                        for p in self.partitions
                    ],
                    "total_lag": g.total_lag,
                }
                for g in self.groups
            ],
            "types": self.type_counts,
            "damage": [s.to_json() for s in self.scans or [] if not s.ok],
        }


def lag_for(infos: Sequence[PartitionInfo], committed: dict[int, int]) -> dict[int, int]:
    """Records each partition still has to deliver to a group that committed ``committed``.

    A partition with no commit, or a commit older than the first retained offset, is read from
    the start, so its lag is everything retained.
    """
    lag: dict[int, int] = {}
    for info in infos:
        pos = committed.get(info.partition, info.start)
        lag[info.partition] = max(0, info.end - max(pos, info.start))
    return lag


async def scan_partition(
    log: EventLog,
    info: PartitionInfo,
    *,
    progress: Progress | None = None,
    batch: int = _BATCH,
) -> PartitionScan:
    """Read every record of ``info.partition`` from ``info.start`` to ``info.end``, counting types.

    A ``CorruptRecordError`` is recorded (its offset is the first bad one), the good records before it
    are counted, and the scan tries to resume just past it; when the backend cannot read past the
    damage, the rest of the partition is reported as unreadable. Nothing is ever silently skipped.
    """
    scan = PartitionScan(partition=info.partition, start=info.start, end=info.end)
    off = info.start
    empty = 0
    while off < info.end:
        try:
            records = await log.read(info.partition, off, max_records=min(batch, info.end - off))
        except CorruptRecordError as exc:
            bad = exc.offset
            if bad > off:  # the good records in front of the damage were not returned: read them
                before = await _read_upto(log, info.partition, off, bad, scan, progress, batch)
                if before < bad:  # damage reported differently the second time: stop here
                    _note_bad(scan, before, exc.detail)
                    scan.unreadable_from = before
                    return scan
            if bad < off:  # cannot make progress past this damage
                scan.unreadable_from = off
                scan.detail = scan.detail or exc.detail
                return scan
            _note_bad(scan, bad, exc.detail)
            if progress:
                progress(1)
            off = bad + 1
            continue
        except EventsError as exc:  # e.g. a record that fails to decode, or the rest is unreachable
            scan.unreadable_from = off
            scan.detail = scan.detail or str(exc)
            return scan
        if not records:
            empty += 1
            if empty >= _EMPTY_READS:
                scan.unreadable_from = off
                scan.detail = scan.detail or f"the backend returned no record at offset {off} before the end"
                return scan
            continue
        empty = 0
        off = _count(scan, records, info.end, progress)
    return scan


def _note_bad(scan: PartitionScan, offset: int, detail: str) -> None:
    scan.bad += 1
    if scan.first_bad is None or offset < scan.first_bad:
        scan.first_bad = offset
        scan.detail = detail


def _count(scan: PartitionScan, records: Sequence[Record], end: int, progress: Progress | None) -> int:
    n = 0
    last = -1
    for rec in records:
        if rec.offset >= end:
            break
        scan.counts[type(rec.event).__name__] += 1
        last = rec.offset
        n += 1
    scan.good += n
    if progress and n:
        progress(n)
    return last + 1 if n else end


async def _read_upto(
    log: EventLog,
    partition: int,
    off: int,
    stop: int,
    scan: PartitionScan,
    progress: Progress | None,
    batch: int,
) -> int:
    """Count the records in ``[off, stop)``; returns the offset reached (``stop`` unless damaged)."""
    while off < stop:
        try:
            records = await log.read(partition, off, max_records=min(batch, stop - off))
        except CorruptRecordError as exc:
            return min(exc.offset, stop)
        if not records:
            return off
        off = _count(scan, records, stop, progress)
    return off


async def _infos(log: EventLog, partitions: Sequence[int] | None) -> list[PartitionInfo]:
    infos = sorted(await log.partition_info(), key=lambda i: i.partition)
    if partitions is not None:
        wanted = set(partitions)
        infos = [i for i in infos if i.partition in wanted]
    return infos


async def log_stat(
    log: EventLog,
    *,
    scan: bool = True,
    progress: Progress | None = None,
    on_total: Callable[[int], None] | None = None,
) -> LogStat:
    """Offsets, consumer-group lag and (when ``scan``) counts by event type of the whole log."""
    infos = await _infos(log, None)
    groups = []
    for name in sorted(await log.groups()):
        committed = await log.committed(name)
        groups.append(GroupLag(group=name, committed=dict(committed), lag=lag_for(infos, committed)))
    scans = None
    if scan:
        if on_total:
            on_total(sum(i.end - i.start for i in infos))
        scans = [await scan_partition(log, info, progress=progress) for info in infos]
    return LogStat(url=log.url, partitions=infos, groups=groups, scans=scans)


async def verify_log(
    log: EventLog,
    *,
    partitions: Sequence[int] | None = None,
    progress: Progress | None = None,
    on_total: Callable[[int], None] | None = None,
) -> list[PartitionScan]:
    """Check every retained record of every partition (CRC and decoding happen inside ``read``)."""
    infos = await _infos(log, partitions)
    if on_total:
        on_total(sum(i.end - i.start for i in infos))
    return [await scan_partition(log, info, progress=progress) for info in infos]
