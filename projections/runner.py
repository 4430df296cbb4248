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
path and the batch goes on without it (a crash before the batch commits may park it twice). Store
errors are not fold errors: they stop the runner.

Speed (``reel bench projections``): each partition's next chunk is read ahead while the current one
folds; a view that started empty (a rebuild) is wholly in the cache, so nothing is read back and the
folds read a plain dict; values are encoded once per batch; while far behind, batches grow to the
store's ``catchup_batch`` (each SQLite page / Redis structure is then written once for many entries);
a remote store's commit runs in a thread while the next batch folds.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import math
import operator
import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import structlog

from events import DeadLetter, EventLog, PartitionInfo, Record, now_us
from events.log import Consumer

from .base import Delta, Projection
from .errors import LogRetentionError, ProjectionOutdatedError, StoreError
from .store import Checkpoint, ViewStore, value_decoder

__all__ = ["CATCHUP_BATCH", "DEFAULT_BATCH", "ProjectionRunner", "RunStats", "rebuild_together"]

DEFAULT_BATCH = 5000
#: Batch size while far behind (rebuilds, catch-up): bigger commits touch each SQLite page / Redis
#: structure once for many entries, so a rebuild writes several times less (one batch may be redone).
CATCHUP_BATCH = 50_000
_READ_CHUNK = 5000
_CACHE_LIMIT = 1_000_000  # cached view entries (~200 bytes each) before the cache is dropped
_MISS = object()
_event_ts = operator.attrgetter("event.ts")
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
    """The view as a fold sees it during a batch: the runner's cache, loading misses from the store.

    ``complete`` means the cache holds every entry of the stored view (the view started empty and
    nothing was evicted since), so a miss is an absent key and needs no store read — a rebuild
    never reads the store back.
    """

    __slots__ = ("_cache", "_decode", "_store", "_view", "complete", "loads")

    def __init__(self, cache: dict[str, Any], store: ViewStore, view: str, decode: Callable[[bytes], Any]):
        self._cache = cache
        self._store = store
        self._view = view
        self._decode = decode
        self.complete = False
        self.loads = 0  # one-key store reads so far (keys a fold read but ``keys()`` did not name)

    def get(self, key: str) -> Any | None:
        value = self._cache.get(key, _MISS)
        if value is _MISS:
            if self.complete:
                return None
            self.loads += 1
            raw = self._store.get_many(self._view, (key,)).get(key)
            value = self._cache[key] = None if raw is None else self._decode(raw)
        return value


class _Discovery:
    """A dry run's view: reads the cache and the dry run's own changes, records keys it lacks.

    Folds read keys that ``keys()`` cannot name (a video's creator totals, once the video entry
    says who the creator is); loading those one by one costs a store round trip each. A dry run of
    the batch finds most of them, so one ``get_many`` loads them all before the real pass.
    """

    __slots__ = ("cache", "missing", "overlay")

    def __init__(self, cache: dict[str, Any]) -> None:
        self.cache = cache
        self.overlay: dict[str, Any] = {}
        self.missing: set[str] = set()

    def get(self, key: str) -> Any | None:
        value = self.overlay.get(key, _MISS)
        if value is _MISS:
            value = self.cache.get(key, _MISS)
            if value is _MISS:
                self.missing.add(key)
                return None
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
        cache_limit: int = _CACHE_LIMIT,
        catchup_batch_size: int | None = None,
        group_commit_every_s: float = 1.0,
    ) -> None:
        """``batch_size`` events per commit; ``catchup_batch_size`` (default: the same) while more
        than that many events are waiting, e.g. ``CATCHUP_BATCH`` for rebuilds and restarts;
        ``group_commit_every_s``: at most one consumer-group commit per this while folding."""
        if batch_size < 1 or max_attempts < 1 or (catchup_batch_size or 1) < 1:
            raise ValueError("batch_size, catchup_batch_size and max_attempts must be at least 1")
        self.log = log
        self.store = store
        self.projection = projection
        self.name = projection.name
        self.group = f"proj.{projection.name}"
        self.batch_size = batch_size
        self.catchup_batch_size = max(batch_size, catchup_batch_size or batch_size)
        self.max_attempts = max_attempts
        self.idle_sleep_s = idle_sleep_s
        self.group_commit_every_s = group_commit_every_s
        self.cache_limit = cache_limit
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
        self._keys: dict[int, list[tuple[int, int]]] = {}  # (ts, partition) of each buffered record
        self._idx: dict[int, int] = {}
        self._heap: list[tuple[int, int]] = []  # (ts of the partition's head, partition)
        self._pending: dict[int, asyncio.Future[list[Record]]] = {}  # read-ahead per partition
        self._inflight: asyncio.Future[None] | None = None  # the commit being written, if any
        self._dry_run = False  # look for undeclared keys before the next batch (see _Discovery)
        self._group_pending: dict[int, int] | None = None  # offsets not yet committed to the consumer group
        self._group_t = -math.inf  # monotonic time of the last group commit

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
        self._view.complete = ckpt is None  # no checkpoint: the view is empty (commits carry one)
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
        self._cancel_reads()
        self._fetch = dict(self._pos)
        self._end = {i.partition: i.end for i in infos}
        self._bufs = {p: [] for p in self._pos}
        self._keys = {p: [] for p in self._pos}
        self._idx = {p: 0 for p in self._pos}
        self._heap = []

    async def _refresh_ends(self) -> None:
        for info in await self.log.partition_info():
            self._end[info.partition] = max(info.end, self._end.get(info.partition, 0))

    def lag(self) -> int:
        """Records between the folded positions and the last known partition ends."""
        return sum(max(0, end - self._pos.get(p, 0)) for p, end in self._end.items())

    # -- reading: a deterministic k-way merge over partitions ---------------------------------

    def _read_ahead(self, p: int) -> None:
        """Start reading partition ``p``'s next chunk in the background (it overlaps folding and commits)."""
        if p not in self._pending and self._fetch[p] < self._end.get(p, 0):
            self._pending[p] = asyncio.ensure_future(self.log.read(p, self._fetch[p], _READ_CHUNK))

    def _cancel_reads(self) -> None:
        for task in self._pending.values():
            task.cancel()
        self._pending.clear()

    async def _fill(self) -> None:
        """Install the next chunk of every partition whose buffer ran dry and that has more records."""
        bufs, idx, pending = self._bufs, self._idx, self._pending
        need = [p for p, buf in bufs.items()
                if idx[p] >= len(buf) and (p in pending or self._fetch[p] < self._end.get(p, 0))]
        if not need:
            return
        for p in need:
            self._read_ahead(p)
        chunks = await asyncio.gather(*(pending.pop(p) for p in need))
        for p, chunk in zip(need, chunks, strict=True):
            if not chunk:  # the log says there is more but hands out nothing: stop at what we have
                log.warning("partition returned no records before its end", view=self.name,
                            partition=p, offset=self._fetch[p], end=self._end.get(p))
                self._end[p] = self._fetch[p]
                continue
            bufs[p] = chunk
            keys = self._keys[p] = [(r.event.ts, p) for r in chunk]  # merge keys, built once per chunk
            idx[p] = 0
            self._fetch[p] = chunk[-1].offset + 1
            heapq.heappush(self._heap, keys[0])
            self._read_ahead(p)

    async def _take(self, n: int) -> list[Record]:
        out: list[Record] = []
        heap, bufs, keys, idx, fetch, end, pending = (
            self._heap, self._bufs, self._keys, self._idx, self._fetch, self._end, self._pending)
        append, replace = out.append, heapq.heapreplace
        count = 0
        while count < n:
            await self._fill()
            if not heap:
                break
            while heap and count < n:
                p = heap[0][1]
                i = idx[p]
                append(bufs[p][i])
                count += 1
                i += 1
                idx[p] = i
                k = keys[p]
                if i < len(k):
                    replace(heap, k[i])
                else:
                    heapq.heappop(heap)
                    if p in pending or fetch[p] < end.get(p, 0):
                        break  # p must be refilled before anything else can be ordered against it
        return out

    # -- folding ---------------------------------------------------------------------------------

    def _retry(self, record: Record, first: Exception, strict: bool) -> tuple[Delta | None, str]:
        """The slow path after a fold raised: try again (``max_attempts`` in all).

        Returns ``(delta, "")`` on success, ``(None, error text)`` when every attempt failed.
        """
        error = f"{type(first).__name__}: {first}"
        log.warning("fold failed", view=self.name, partition=record.partition, offset=record.offset,
                    attempt=1, error=error)
        view = self._cache if self._view.complete else self._view
        for attempt in range(2, self.max_attempts + 1):
            try:
                delta = self.projection.fold(view, record.event)
                if strict:
                    self._check_encodable(delta)
            except StoreError:
                raise
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                log.warning("fold failed", view=self.name, partition=record.partition,
                            offset=record.offset, attempt=attempt, error=error)
            else:
                return delta, ""
        return None, error

    def _load(self, keys: Sequence[str]) -> None:
        """Read ``keys`` (not in the cache) from the store into the cache in one ``get_many``."""
        if not keys:
            return
        found = self.store.get_many(self.name, keys)
        decode, cache = self._decode, self._cache
        for k in keys:
            raw = found.get(k)
            cache[k] = None if raw is None else decode(raw)

    def _discover(self, records: list[Record]) -> list[str]:
        """Keys the batch will read that the cache lacks, found by folding it into a throwaway overlay."""
        dry = _Discovery(self._cache)
        fold = self.projection.fold
        for record in records:
            try:
                delta = fold(dry, record.event)
            except Exception:  # the real pass deals with it
                continue
            if delta:
                dry.overlay.update(delta)
        return [k for k in dry.missing if k not in self._cache]

    def _check_encodable(self, delta: Delta) -> None:
        encode = self._encode
        for value in delta.values():
            if value is not None:
                encode(value)

    async def _process(self, records: list[Record], *, pipelined: bool = False) -> int:
        """Fold ``records`` and commit them with the new offsets; return how many were dead-lettered.

        ``pipelined``: return once the commit is started; with a remote store it runs in a thread
        while the next batch folds (at most one commit is in flight; ``flush`` waits for it). A
        crash still leaves the store at a batch boundary, and a failed commit resets the runner to
        the store's checkpoint.
        """
        try:
            return await self._process_unsafe(records, pipelined)
        except BaseException:
            with contextlib.suppress(BaseException):
                await self.flush()
            self._reset()
            raise

    def _reset(self) -> None:
        """Forget everything not known to be committed: the next step starts over from the store."""
        self._cache.clear()
        self._view.complete = False
        self._started = False

    async def flush(self) -> None:
        """Wait for the commit in flight, if any (its failure is raised here)."""
        inflight, self._inflight = self._inflight, None
        if inflight is not None:
            await inflight

    async def _commit(self, puts: dict[str, bytes], deletes: list[str], ckpt: Checkpoint) -> None:
        if self.store.remote:
            # a thread waits on the server while the loop folds the next batch and reads ahead
            await asyncio.to_thread(self.store.commit, self.name, puts, deletes, ckpt)
        else:
            # in-process CPU work (SQLite): a thread would only hand the GIL back and forth per row
            self.store.commit(self.name, puts, deletes, ckpt)
        await self._commit_group(ckpt.offsets)

    async def _process_unsafe(
        self, records: list[Record], pipelined: bool, strict: bool = False,
        already_dead: frozenset[tuple[int, int]] = frozenset(),
    ) -> int:
        projection, cache, pos = self.projection, self._cache, self._pos
        if len(cache) > self.cache_limit:
            await self.flush()  # nothing uncommitted may be forgotten
            cache.clear()
            self._view.complete = False
        complete = self._view.complete
        undeclared = 0
        if not complete:
            wanted = {k for r in records for k in projection.keys(r.event)}
            missing = [k for k in wanted if k not in cache]
            if missing:
                self._load(missing)
            if self._dry_run:  # recent batches read many undeclared keys one by one: find them first
                found_keys = self._discover(records)
                self._load(found_keys)
                undeclared += len(found_keys)
        loads_before = self._view.loads
        start_pos = dict(pos)
        # a complete cache is the view itself: folds read it with dict.get (absent -> None), at C speed
        view: Any = cache if complete else self._view
        fold = projection.fold
        dirty: dict[str, Any] = {}
        dead: list[tuple[int, int]] = []
        for record in records:
            try:
                delta = fold(view, record.event)
                if strict:
                    self._check_encodable(delta)
            except StoreError:
                raise
            except Exception as exc:  # a fold's failure is data here (dead-lettered), not a crash
                retried, error = self._retry(record, exc, strict)
                if retried is None:
                    dead.append((record.partition, record.offset))
                    if (record.partition, record.offset) not in already_dead:
                        await self.log.dead_letter(DeadLetter(
                            group=self.group, partition=record.partition, offset=record.offset,
                            event=record.event, error=error, attempts=self.max_attempts, ts=now_us(),
                        ))
                    continue
                delta = retried
            if delta:
                cache.update(delta)
                dirty.update(delta)
        for record in records:
            pos[record.partition] = record.offset + 1
        # remote stores only: there a one-key read is a round trip; in SQLite it costs less than the dry run
        undeclared += self._view.loads - loads_before
        self._dry_run = self.store.remote and undeclared * 50 > len(records)
        encode = self._encode
        try:
            puts = {k: encode(v) for k, v in dirty.items() if v is not None}
        except Exception as exc:
            if strict:
                raise
            # some fold returned a value that cannot be stored: refold this batch event by event
            # (from the store's state) so that only the culprit is dead-lettered
            log.warning("unencodable value in batch; refolding it event by event", view=self.name,
                        error=f"{type(exc).__name__}: {exc}")
            await self.flush()
            self._cache.clear()
            self._view.complete = False
            pos.clear()
            pos.update(start_pos)
            return await self._process_unsafe(records, pipelined, True, frozenset(dead))
        deletes = [k for k, v in dirty.items() if v is None]
        prev = self._ckpt
        newest = max(map(_event_ts, records))
        last_ts = prev.last_event_ts if prev is not None else None
        ckpt = Checkpoint(
            offsets=dict(pos),
            version=self.projection.version,
            seq=1 if prev is None else prev.seq + 1,
            events=(0 if prev is None else prev.events) + len(records),
            dead_lettered=(0 if prev is None else prev.dead_lettered) + len(dead),
            last_event_ts=newest if last_ts is None or newest > last_ts else last_ts,
            updated_at=now_us(),
        )
        await self.flush()  # the previous batch lands first
        self._ckpt = ckpt
        self._inflight = asyncio.ensure_future(self._commit(puts, deletes, ckpt))
        if not pipelined:
            await self.flush()
        return len(dead)

    async def _commit_group(self, offsets: dict[int, int]) -> None:
        if self._consumer is None:
            return
        self._group_pending = dict(offsets)
        await self._flush_group(force=False)

    async def _flush_group(self, *, force: bool) -> None:
        """Commit the newest folded offsets to the consumer group: at most once per
        ``group_commit_every_s`` while folding, and always when forced (caught up for a caller that
        waits, stopping, closing). The group's offsets are informational (``reel log stat``'s lag per
        group; a restart reads the store's checkpoint), and each is a durable write: per batch, the
        views actor's runners spent more time in these writes than in folding."""
        pending = self._group_pending
        if pending is None or self._consumer is None:
            return
        now = time.monotonic()
        if not force and now - self._group_t < self.group_commit_every_s:
            return
        self._group_pending, self._group_t = None, now
        try:
            await self._consumer.commit(pending)
        except Exception as exc:  # informational only: the store's checkpoint is authoritative
            log.warning("consumer group commit failed", view=self.name, group=self.group, error=str(exc))

    async def step(self, *, pipelined: bool = False) -> tuple[int, int]:
        """Fold and commit at most one batch; returns (records, dead-lettered); (0, 0) when caught up.

        With ``pipelined`` the batch's commit may still be in flight on return (see ``flush``).
        """
        if not self._started:
            await self.flush()
            await self.start()
        size = self.batch_size
        if self.catchup_batch_size > size and self.lag() > self.catchup_batch_size:
            size = self.catchup_batch_size
        records = await self._take(size)
        if not records:
            await self.flush()
            return 0, 0
        dead = await self._process(records, pipelined=pipelined)
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
            n, dead = await self.step(pipelined=True)
            if not n:
                break
            stats.events += n
            stats.batches += 1
            stats.dead_lettered += dead
            if progress is not None:
                progress(n)
        await self._flush_group(force=True)
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
                n, _ = await self.step(pipelined=True)
                if not n:
                    break
                if progress is not None:
                    progress(n)
            await self._flush_group(force=False)  # caught up: commit what is due
            if not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.idle_sleep_s)
        await self.flush()
        await self._flush_group(force=True)

    async def rebuild(self, progress: Progress | None = None) -> RunStats:
        """Drop the stored view and fold the whole retained log into it again."""
        log.info("rebuilding", view=self.name, version=self.projection.version)
        await self.flush()
        self.store.drop(self.name)
        self._started = False
        await self.start()
        return await self.run_until_caught_up(progress)

    async def close(self) -> None:
        self._cancel_reads()
        await self.flush()
        await self._flush_group(force=True)
        if self._consumer is not None:
            await self._consumer.close()
            self._consumer = None


async def rebuild_together(
    log_: EventLog,
    store: ViewStore,
    projections: Sequence[Projection],
    *,
    batch_size: int | None = None,
    progress: Progress | None = None,
) -> dict[str, RunStats]:
    """Drop several views and rebuild them in ONE pass over the log: records are read, decoded and
    merged once, then each batch is folded into every view and committed per view (each view keeps
    its own checkpoint, so afterwards each runs, resumes and crashes on its own)."""
    size = batch_size or store.catchup_batch
    runners = [ProjectionRunner(log_, store, p, batch_size=size) for p in projections]
    stats = {r.name: RunStats() for r in runners}
    if not runners:
        return stats
    t0 = time.perf_counter()
    try:
        for runner in runners:
            log.info("rebuilding", view=runner.name, version=runner.projection.version)
            store.drop(runner.name)
            await runner.start()
        leader = runners[0]  # the only one that reads; the others fold what it took
        while True:
            records = await leader._take(size)
            if not records:
                break
            for runner in runners:
                dead = await runner._process(records, pipelined=True)
                s = stats[runner.name]
                s.events += len(records)
                s.batches += 1
                s.dead_lettered += dead
            if progress is not None:
                progress(len(records))
        for runner in runners:
            await runner.flush()
    finally:
        for runner in runners:
            await runner.close()
    seconds = time.perf_counter() - t0
    for s in stats.values():
        s.seconds = seconds
    log.info("rebuilt together", views=list(stats), events=stats[runners[0].name].events,
             seconds=round(seconds, 3))
    return stats
