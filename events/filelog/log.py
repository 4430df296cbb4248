"""``FileLog``: the embedded ``file://DIR`` backend of the ``EventLog`` port, with group commit.

Layout of DIR::

    meta.json               format version and the partition count (fixed at creation)
    LOCK                    flock of the single writer; holds "pid N on HOST"
    p000/ … pNNN/           one directory of segment files per partition (see partition.py)
    _groups/<group>.json    committed consumer-group offsets (see offsets.py)
    _deadletter/letters.log dead letters (see deadletters.py)

Group commit contract of ``append``:

- the batch is validated first, all or nothing (``EventValidationError`` names the field, nothing is
  staged); offsets are assigned at once, in call order, so concurrent appends never interleave
  within a partition out of call order;
- frames are staged in memory; one background flush (started at most ``group_commit_ms`` after the
  first staged append, at once when a lot is staged) writes every touched partition and fsyncs it,
  in executor threads, and only then resolves the futures of every append it covered;
- ``append`` returns only after its events are fsynced: an acknowledged event survives a crash of
  the process or the machine. Records become visible to ``read`` and consumers at the same moment;
- a cancelled ``append`` may still be written (its frames are already staged); a failed write or
  fsync fails every append of that flush with ``LogWriteError`` and the log refuses further
  appends until reopened (reopening recovers the tail).

One process may open a directory for writing (``LogLockedError`` otherwise); any number may open it
with ``readonly=True``: they see what the writer appends by re-scanning the files, and may commit
consumer offsets and park dead letters (both are separate, lock-protected files).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from ..codec import validate
from ..errors import (
    EventValidationError,
    LogClosedError,
    LogError,
    PartitionCountMismatchError,
    UnsupportedLogURLError,
)
from ..log import DEFAULT_PARTITIONS, Consumer, DeadLetter, PartitionInfo, Position, Record
from ..partitioning import partition_for
from ..schema import Event, EventBase, partition_key
from .consumer import FileConsumer
from .deadletters import DeadLetterStore
from .errors import LogNotFoundError, LogReadOnlyError, LogWriteError
from .fsutil import atomic_write
from .lock import WriterLock
from .offsets import OffsetStore
from .partition import Partition
from .reader import VerifyReport
from .segment import MAX_PAYLOAD

__all__ = ["FileLog", "open_file_log"]

FORMAT = 1
META = "meta.json"
#: Staged bytes above which a flush starts without waiting for ``group_commit_ms``.
FLUSH_NOW_BYTES = 4 * 1024 * 1024
#: How often a read-only follower re-scans the files while a consumer waits for records.
FOLLOW_INTERVAL_S = 0.02


def _dir_of(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if scheme != "file" or not sep or not rest:
        raise UnsupportedLogURLError(url=url)
    path = rest.split("?", 1)[0]
    if path.startswith("localhost/"):  # file://localhost/dir is file:///dir
        path = path[len("localhost") :]
    return os.path.abspath(os.path.expanduser(path))


def _read_meta(directory: str) -> dict[str, int] | None:
    try:
        with open(os.path.join(directory, META), "rb") as f:
            meta: dict[str, int] = json.loads(f.read())
    except FileNotFoundError:
        return None
    if meta.get("format") != FORMAT:
        raise LogError(f"{directory} holds file-log format {meta.get('format')}, this code reads {FORMAT}")
    return meta


class FileLog:
    """A partitioned, segmented, CRC-framed, group-committed event log in one directory."""

    def __init__(
        self, url: str, directory: str, parts: list[Partition], *, readonly: bool,
        lock: WriterLock | None, group_commit_ms: float,
    ) -> None:
        self.url = url
        self.directory = directory
        self.partitions = len(parts)
        self.readonly = readonly
        self._parts = parts
        self._lock = lock
        self._linger = max(0.0, group_commit_ms) / 1000
        self._offsets = OffsetStore(directory, create=not readonly)
        self._dead = DeadLetterStore(directory)
        self._pool = ThreadPoolExecutor(max_workers=min(len(parts), 8), thread_name_prefix="filelog-commit")
        self._closed = False
        self._closing = False
        self._broken: LogWriteError | None = None
        self._batch: asyncio.Future[None] | None = None
        self._staged: set[int] = set()
        self._staged_bytes = 0
        self._kick = asyncio.Event()
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None

    # ---------------------------------------------------------------------------------- append

    async def append(self, events: Sequence[Event]) -> list[Position]:
        """Validate, route by partition key, group-commit; returns once every event is fsynced."""
        self._check_writable()
        n = self.partitions
        route: list[int] = []  # partition of each event, in call order
        by_partition: dict[int, list[bytes]] = {}
        for event in events:
            if not isinstance(event, EventBase):
                raise EventValidationError(field="$", message=f"not an event: {type(event).__name__}")
            payload = validate(event)
            if len(payload) > MAX_PAYLOAD:
                raise EventValidationError(
                    field="$", event_type=type(event).__name__,
                    message=f"encoded event is {len(payload)} bytes, over the limit of {MAX_PAYLOAD}",
                )
            p = partition_for(partition_key(event), n)
            route.append(p)
            payloads = by_partition.get(p)
            if payloads is None:
                by_partition[p] = [payload]
            else:
                payloads.append(payload)
        if not route:
            return []
        # nothing awaits between here and the shield: staging is atomic w.r.t. other appends
        next_offset = {}
        for p, payloads in by_partition.items():
            next_offset[p] = self._parts[p].stage(payloads)
            self._staged.add(p)
            self._staged_bytes += sum(map(len, payloads))
        positions = []
        for p in route:
            offset = next_offset[p]
            next_offset[p] = offset + 1
            positions.append(Position(p, offset))
        batch = self._batch
        if batch is None:
            batch = self._batch = asyncio.get_running_loop().create_future()
        self._kick.set()
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_loop(), name=f"filelog-flush {self.directory}")
        await asyncio.shield(batch)
        return positions

    def _check_writable(self) -> None:
        if self._closed:
            raise LogClosedError(url=self.url)
        if self.readonly:
            raise LogReadOnlyError(url=self.url)
        if self._broken is not None:
            raise self._broken

    async def _flush_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if self._batch is None:
                if self._closing:
                    return
                self._kick.clear()
                await self._kick.wait()
                continue
            if self._linger and not self._closing and self._staged_bytes < FLUSH_NOW_BYTES:
                await asyncio.sleep(self._linger)
            batch, self._batch = self._batch, None
            work = [(self._parts[p], self._parts[p].take()) for p in sorted(self._staged)]
            self._staged.clear()
            self._staged_bytes = 0
            if self._broken is not None:
                batch.set_exception(self._broken)
                continue
            try:
                await asyncio.gather(*(loop.run_in_executor(self._pool, part.commit, staged)
                                       for part, staged in work))
            except Exception as exc:
                self._broken = LogWriteError(path=self.directory, detail=f"{type(exc).__name__}: {exc}")
                batch.set_exception(self._broken)
            else:
                batch.set_result(None)
            self._notify()

    def _notify(self) -> None:
        wake, self._wake = self._wake, asyncio.Event()
        wake.set()

    # ------------------------------------------------------------------------------------ reads

    def _partition(self, partition: int) -> Partition:
        if self._closed:
            raise LogClosedError(url=self.url)
        if not 0 <= partition < self.partitions:
            raise LogError(f"partition {partition} does not exist; {self.url} has partitions "
                           f"0..{self.partitions - 1}")
        return self._parts[partition]

    async def read(self, partition: int, offset: int, max_records: int = 1000) -> list[Record]:
        """Records of ``partition`` from ``offset`` on, in offset order (at most ``max_records``).

        Fast bulk path for replay: ask for many (e.g. 50,000) records per call. Stops before a
        damaged record and raises ``CorruptRecordError`` when asked to start at one.
        """
        part = self._partition(partition)
        if self.readonly:
            return await asyncio.to_thread(self._refresh_read, part, offset, max_records)
        return await asyncio.to_thread(part.read, offset, max_records)

    def _refresh_all(self) -> None:
        for part in self._parts:
            part.refresh()

    @staticmethod
    def _refresh_read(part: Partition, offset: int, max_records: int) -> list[Record]:
        part.refresh()
        return part.read(offset, max_records)

    async def partition_info(self) -> list[PartitionInfo]:
        if self._closed:
            raise LogClosedError(url=self.url)
        if self.readonly:
            await asyncio.to_thread(self._refresh_all)
        return [PartitionInfo(p.number, *p.bounds()) for p in self._parts]

    def consumer(self, group: str, *, partitions: Sequence[int] | None = None) -> Consumer:
        if self._closed:
            raise LogClosedError(url=self.url)
        return FileConsumer(self, group, partitions)

    async def committed(self, group: str) -> dict[int, int]:
        return await asyncio.to_thread(self._offsets.committed, group)

    async def commit_offsets(self, group: str, offsets: dict[int, int]) -> None:
        """Durably record ``offsets`` (partition → next offset to read) for ``group``."""
        if self._closed:
            raise LogClosedError(url=self.url)
        for p, off in offsets.items():
            if not 0 <= p < self.partitions or off < 0:
                raise LogError(f"cannot commit offset {off} for partition {p} of {self.url}")
        await asyncio.to_thread(self._offsets.commit, group, dict(offsets))

    async def groups(self) -> list[str]:
        return await asyncio.to_thread(self._offsets.groups)

    async def dead_letter(self, letter: DeadLetter) -> None:
        if self._closed:
            raise LogClosedError(url=self.url)
        await asyncio.to_thread(self._dead.append, letter)

    async def dead_letters(self, group: str | None = None) -> list[DeadLetter]:
        return await asyncio.to_thread(self._dead.read, group)

    async def verify(self, progress: Callable[[int], None] | None = None) -> list[VerifyReport]:
        """Re-read every segment file and check every record's framing and CRC, per partition.

        ``progress(nbytes)`` is called after each segment (for a progress bar over ``size_bytes``).
        """
        if self._closed:
            raise LogClosedError(url=self.url)
        return await asyncio.to_thread(lambda: [p.verify(progress) for p in self._parts])

    def size_bytes(self) -> int:
        """Bytes of retained records across all partitions."""
        return sum(p.size_bytes() for p in self._parts)

    @property
    def wake_event(self) -> asyncio.Event:
        """Set when the next flush publishes records: capture it *before* reading, then wait on it."""
        return self._wake

    async def wait_for_records(self, wake: asyncio.Event, timeout_s: float) -> None:
        """Wait up to ``timeout_s`` for new records: on ``wake`` when this process is the writer,
        one follow interval when it is read-only (the writer is another process; files are re-scanned)."""
        if timeout_s <= 0:
            return
        if self.readonly or self._closed:
            await asyncio.sleep(min(timeout_s, FOLLOW_INTERVAL_S))
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout_s)

    async def close(self) -> None:
        """Flush what is staged, stop the flusher, close the files and release the lock (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._closing = True
        if self._flusher is not None:
            self._kick.set()
            await self._flusher
        self._pool.shutdown(wait=True)
        await asyncio.to_thread(self._close_files)
        self._notify()

    def _close_files(self) -> None:
        for part in self._parts:
            part.close()
        if self._lock is not None:
            self._lock.release()


async def open_file_log(
    url: str,
    *,
    partitions: int | None = None,
    group_commit_ms: float = 2.0,
    segment_bytes: int = 64 * 1024 * 1024,
    retention_bytes: int = -1,
    readonly: bool = False,
) -> FileLog:
    """Open (creating if needed, unless ``readonly``) the file log at ``file:///dir``.

    ``partitions`` is fixed when the log is created (default 8); ``None`` then means "whatever it
    has", and a different count raises ``PartitionCountMismatchError``. ``retention_bytes >= 0``
    keeps at most that many bytes per partition, deleting whole old segments (never the active one).
    """
    directory = _dir_of(url)
    if partitions is not None and not 1 <= partitions <= 4096:
        raise LogError(f"partitions must be between 1 and 4096, got {partitions}")
    if segment_bytes < 1:
        raise LogError(f"segment_bytes must be positive, got {segment_bytes}")
    parts, lock = await asyncio.to_thread(
        _open_sync, url, directory, partitions, readonly=readonly, segment_bytes=segment_bytes,
        retention_bytes=retention_bytes,
    )
    return FileLog(url, directory, parts, readonly=readonly, lock=lock, group_commit_ms=group_commit_ms)


def _open_sync(
    url: str, directory: str, partitions: int | None, *, readonly: bool, segment_bytes: int,
    retention_bytes: int,
) -> tuple[list[Partition], WriterLock | None]:
    lock = None
    if not readonly:
        os.makedirs(directory, exist_ok=True)
        lock = WriterLock(directory)
        lock.acquire()
    parts: list[Partition] = []
    try:
        meta = _read_meta(directory)
        if meta is None and readonly:
            raise LogNotFoundError(path=directory)
        count = meta["partitions"] if meta is not None else (partitions or DEFAULT_PARTITIONS)
        if partitions is not None and partitions != count:
            raise PartitionCountMismatchError(url=url, existing=count, requested=partitions)
        for n in range(count):
            part = Partition(n, os.path.join(directory, f"p{n:03d}"), writable=not readonly,
                             segment_bytes=segment_bytes, retention_bytes=retention_bytes)
            parts.append(part)
            part.open()
        if meta is None:  # written last: a follower only opens a log whose partitions exist
            atomic_write(os.path.join(directory, META),
                         json.dumps({"format": FORMAT, "partitions": count}).encode())
    except BaseException:
        for part in parts:
            part.close()
        if lock is not None:
            lock.release()
        raise
    return parts, lock
