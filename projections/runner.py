"""The runner: folds the log into one stored view, exactly once, in batches, resumable after any crash.

Each batch: read the next records, prefetch the keys the fold will read (one ``get_many``), fold every
event against an in-memory cache of the view (misses load lazily), then write the changed entries
AND the new log offsets in one ``ViewStore.commit``. The store's checkpoint is authoritative: a run
resumes from it, so a crash before a commit refolds that batch from the same view state, and a
crash after it moves on — an event is never counted twice or lost. The consumer group
``proj.<name>`` gets the same offsets after each store commit, only so ``reel log stat`` shows lag.

Order: records are merged across partitions by ``(event.ts, partition)`` with a k-way merge that
reads every partition through ``EventLog.read``. The merge's only state is the per-partition
positions, so a run resumed from a checkpoint folds the rest of the log in exactly the order a clean
rebuild would — which the folds need, since an event on a user partition may refer to a video whose
lifecycle lives on another partition. (A consumer's ``poll`` interleaves partitions as data happens
to arrive; that would make the view depend on timing.)

A fold that raises is retried (``max_attempts`` in all); then the event goes to the log's dead-letter
path and the batch goes on without it. Store errors are not fold errors: they stop the runner.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import structlog

from events import DeadLetter, EventLog, PartitionInfo, Record, now_us
from events.log import Consumer

from .base import Projection
from .errors import LogRetentionError, ProjectionOutdatedError, StoreError
from .store import Checkpoint, ViewStore, value_decoder

__all__ = ["DEFAULT_BATCH", "ProjectionRunner", "RunStats"]

DEFAULT_BATCH = 5000
_READ_CHUNK = 5000
_CACHE_LIMIT = 400_000
_MISS = object()
log = structlog.get_logger("projections.runner")

#: Called with the number of records a batch just committed (drives progress bars).
Progress = Callable[[int], None]


class RunStats(msgspec.Struct, kw_only=True):
    """What one ``run_until_caught_up``/``rebuild`` did."""

    events: int = 0
    batches: int = 0
    dead_lettered: int = 0
    seconds: float = 0.0


class _CacheView:
    """The view as a fold sees it during a batch: the runner's cache, loading misses from the store."""

    __slots__ = ("_cache", "_decode", "_store", "_view")

    def __init__(self, cache: dict[str, Any], store: ViewStore, view: str, decode: Callable[[bytes], Any]):
        self._cache = cache
        self._store = store
        self._view = view
        self._decode = decode

    def get(self, key: str) -> Any | None:
        value = self._cache.get(key, _MISS)
        if value is _MISS:
            raw = self._store.get_many(self._view, (key,)).get(key)
            value = self._cache[key] = None if raw is None else self._decode(raw)
        return value


class ProjectionRunner:
    """Applies ``log`` to ``projection``'s view in ``store`` (see the module docstring)."""

    def __init__(
        self,
        log: EventLog,
        store: ViewStore,
        projection: Projection,
        *,
        batch_size: int = DEFAULT_BATCH,
        max_attempts: int = 3,
        idle_sleep_s: float = 0.2,
    ) -> None:
        if batch_size < 1 or max_attempts < 1:
            raise ValueError("batch_size and max_attempts must be at least 1")
        self.log = log
        self.store = store
        self.projection = projection
        self.name = projection.name
        self.group = f"proj.{projection.name}"
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.idle_sleep_s = idle_sleep_s
        self._decode = value_decoder(projection)
        self._encode = msgspec.msgpack.Encoder().encode
        self._cache: dict[str, Any] = {}
        self._view = _CacheView(self._cache, store, self.name, self._decode)
        self._consumer: Consumer | None = None
        self._started = False
        self._ckpt: Checkpoint | None = None
        self._pos: dict[int, int] = {}  # next offset to fold, per partition (what the checkpoint says)
        self._fetch: dict[int, int] = {}  # next offset to read, per partition
        self._end: dict[int, int] = {}  # known end of each partition
        self._bufs: dict[int, list[Record]] = {}
        self._idx: dict[int, int] = {}
        self._heap: list[tuple[int, int]] = []  # (ts of the partition's head, partition)

    # -- positions -----------------------------------------------------------------------------

    async def start(self) -> Checkpoint | None:
        """Load the stored checkpoint and position the reader there (called by the run methods)."""
        ckpt = self.store.checkpoint(self.name)
        if ckpt is not None and ckpt.version != self.projection.version:
            raise ProjectionOutdatedError(
                view=self.name, stored_version=ckpt.version, code_version=self.projection.version
            )
        infos = await self.log.partition_info()
        self._ckpt = ckpt
        self._cache.clear()
        self._pos = {}
        for info in infos:
            if ckpt is None:
                pos = info.start
            else:
                pos = ckpt.offsets.get(info.partition, 0)
                if pos < info.start:
                    raise LogRetentionError(view=self.name, partition=info.partition, offset=pos,
                                            start=info.start)
            self._pos[info.partition] = pos
        self._reset_reader(infos)
        if self._consumer is None:
            self._consumer = self.log.consumer(self.group)
        for p, off in self._pos.items():
            self._consumer.seek(p, off)
        self._started = True
        log.info("runner positioned", view=self.name, seq=0 if ckpt is None else ckpt.seq,
                 offsets=self._pos, version=self.projection.version)
        return ckpt

    def _reset_reader(self, infos: Sequence[PartitionInfo]) -> None:
        self._fetch = dict(self._pos)
        self._end = {i.partition: i.end for i in infos}
        self._bufs = {p: [] for p in self._pos}
        self._idx = {p: 0 for p in self._pos}
        self._heap = []

    async def _refresh_ends(self) -> None:
        for info in await self.log.partition_info():
            self._end[info.partition] = max(info.end, self._end.get(info.partition, 0))

    def lag(self) -> int:
        """Records between the folded positions and the last known partition ends."""
        return sum(max(0, end - self._pos.get(p, 0)) for p, end in self._end.items())

    # -- reading: a deterministic k-way merge over partitions ---------------------------------

    async def _fill(self) -> None:
        """Read the next chunk of every partition whose buffer ran dry and that has more records."""
        need = [p for p, buf in self._bufs.items()
                if self._idx[p] >= len(buf) and self._fetch[p] < self._end.get(p, 0)]
        if not need:
            return
        chunks = await asyncio.gather(*(self.log.read(p, self._fetch[p], _READ_CHUNK) for p in need))
        for p, chunk in zip(need, chunks, strict=True):
            if not chunk:  # the log says there is more but hands out nothing: stop at what we have
                log.warning("partition returned no records before its end", view=self.name,
                            partition=p, offset=self._fetch[p], end=self._end.get(p))
                self._end[p] = self._fetch[p]
                continue
            self._bufs[p] = chunk
            self._idx[p] = 0
            self._fetch[p] = chunk[-1].offset + 1
            heapq.heappush(self._heap, (chunk[0].event.ts, p))

    async def _take(self, n: int) -> list[Record]:
        out: list[Record] = []
        heap, bufs, idx, fetch, end = self._heap, self._bufs, self._idx, self._fetch, self._end
        while len(out) < n:
            await self._fill()
            if not heap:
                break
            while heap and len(out) < n:
                p = heap[0][1]
                buf = bufs[p]
                i = idx[p]
                out.append(buf[i])
                i += 1
                idx[p] = i
                if i < len(buf):
                    heapq.heapreplace(heap, (buf[i].event.ts, p))
                else:
                    heapq.heappop(heap)
                    if fetch[p] < end.get(p, 0):
                        break  # p must be refilled before anything else can be ordered against it
        return out

    # -- folding ---------------------------------------------------------------------------------

    def _fold_one(self, record: Record, dirty: dict[str, bytes | None]) -> str | None:
        """Fold one record into the cache; return the error text when it must be dead-lettered."""
        error = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                delta = self.projection.fold(self._view, record.event)
                encoded = {k: None if v is None else self._encode(v) for k, v in delta.items()}
            except StoreError:
                raise
            except Exception as exc:  # a fold's failure is data here (dead-lettered), not a crash
                error = f"{type(exc).__name__}: {exc}"
                log.warning("fold failed", view=self.name, partition=record.partition,
                            offset=record.offset, attempt=attempt, error=error)
                continue
            cache = self._cache
            for k, v in delta.items():
                cache[k] = v
            dirty.update(encoded)
            return None
        return error

    async def _process(self, records: list[Record]) -> int:
        """Fold ``records`` and commit them with the new offsets; return how many were dead-lettered."""
        projection, cache = self.projection, self._cache
        wanted = {k for r in records for k in projection.keys(r.event)}
        missing = [k for k in wanted if k not in cache]
        if missing:
            found = self.store.get_many(self.name, missing)
            decode = self._decode
            for k in missing:
                raw = found.get(k)
                cache[k] = None if raw is None else decode(raw)
        dirty: dict[str, bytes | None] = {}
        pos = self._pos
        dead = 0
        last_ts = None if self._ckpt is None else self._ckpt.last_event_ts
        for record in records:
            error = self._fold_one(record, dirty)
            if error is not None:
                dead += 1
                await self.log.dead_letter(DeadLetter(
                    group=self.group, partition=record.partition, offset=record.offset,
                    event=record.event, error=error, attempts=self.max_attempts, ts=now_us(),
                ))
            pos[record.partition] = record.offset + 1
            ts = record.event.ts
            if last_ts is None or ts > last_ts:
                last_ts = ts
        prev = self._ckpt
        ckpt = Checkpoint(
            offsets=dict(pos),
            version=self.projection.version,
            seq=1 if prev is None else prev.seq + 1,
            events=(0 if prev is None else prev.events) + len(records),
            dead_lettered=(0 if prev is None else prev.dead_lettered) + dead,
            last_event_ts=last_ts,
            updated_at=now_us(),
        )
        puts = {k: v for k, v in dirty.items() if v is not None}
        deletes = [k for k, v in dirty.items() if v is None]
        try:
            self.store.commit(self.name, puts, deletes, ckpt)
        except BaseException:
            # the cache and positions hold uncommitted state: the store is the truth, start over from it
            self._cache.clear()
            self._started = False
            raise
        self._ckpt = ckpt
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        await self._commit_group()
        return dead

    async def _commit_group(self) -> None:
        if self._consumer is None:
            return
        try:
            await self._consumer.commit(dict(self._pos))
        except Exception as exc:  # informational only: the store's checkpoint is authoritative
            log.warning("consumer group commit failed", view=self.name, group=self.group, error=str(exc))

    async def step(self) -> tuple[int, int]:
        """Fold and commit at most one batch; returns (records, dead-lettered); (0, 0) when caught up."""
        if not self._started:
            await self.start()
        records = await self._take(self.batch_size)
        if not records:
            return 0, 0
        dead = await self._process(records)
        return len(records), dead

    # -- running -----------------------------------------------------------------------------

    async def run_until_caught_up(self, progress: Progress | None = None) -> RunStats:
        """Fold everything up to the log's end as it was when this call started."""
        if not self._started:
            await self.start()
        else:
            await self._refresh_ends()
        stats = RunStats()
        t0 = time.perf_counter()
        while True:
            n, dead = await self.step()
            if not n:
                break
            stats.events += n
            stats.batches += 1
            stats.dead_lettered += dead
            if progress is not None:
                progress(n)
        stats.seconds = time.perf_counter() - t0
        log.info("caught up", view=self.name, events=stats.events, batches=stats.batches,
                 dead_lettered=stats.dead_lettered, seconds=round(stats.seconds, 3))
        return stats

    async def run_forever(self, stop: asyncio.Event, progress: Progress | None = None) -> None:
        """Fold new records as they arrive until ``stop`` is set."""
        if not self._started:
            await self.start()
        while not stop.is_set():
            await self._refresh_ends()
            n = 0
            while not stop.is_set():
                n, _ = await self.step()
                if not n:
                    break
                if progress is not None:
                    progress(n)
            if not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.idle_sleep_s)

    async def rebuild(self, progress: Progress | None = None) -> RunStats:
        """Drop the stored view and fold the whole retained log into it again."""
        log.info("rebuilding", view=self.name, version=self.projection.version)
        self.store.drop(self.name)
        self._started = False
        await self.start()
        return await self.run_until_caught_up(progress)

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.close()
            self._consumer = None
