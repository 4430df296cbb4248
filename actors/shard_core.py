"""The engine of one user shard, free of Ray: consume my partitions in order, fold, checkpoint, recover.

Shard ``i`` of ``n`` owns log partitions ``p`` with ``p % n == i`` (the log partitions interactions
by user id, so it owns exactly the users whose ids hash there and is their single writer). It
applies records in offset order with ``actors.fold.step`` — the code path a from-scratch fold uses
— and between batches (never inside one) serves reads and takes checkpoints, so a snapshot is
always "every user as of these offsets". On start it loads its checkpoint, seeks to the offsets
in it and replays the rest: the state after a crash is the state of a fold of the whole log.

Wall clock only decides *when* to poll and checkpoint, never what the state is.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from events.log import Consumer, EventLog, Record, open_log

from .checkpoint import CheckpointStore, open_checkpoint_store
from .embeddings import VideoEmbeddings
from .errors import CheckpointMismatchError
from .fold import release, step
from .snapshot import ShardSnapshot, decode_snapshot, encode_snapshot, from_record, to_record
from .user_state import USER_EVENTS, StateParams, UserState, new_state
from .view import UserView, view_of

__all__ = ["USER_EVENTS", "ShardConfig", "ShardCore", "owned_partitions"]


class ShardConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a shard needs; picklable, identical for every shard of a set."""

    log_url: str
    partitions: int
    shards: int
    checkpoint_url: str
    params: StateParams = StateParams()
    #: ``module:function(log, params) -> VideoEmbeddings``: swap for learned embeddings here
    embeddings: str = "actors.embeddings_log:content_embeddings"
    log_options: dict[str, Any] = {}  # extra options of open_log (e.g. the file log's read-only mode)
    checkpoint_every_events: int = 50_000
    checkpoint_every_s: float = 30.0
    poll_max_records: int = 5_000
    poll_timeout_s: float = 0.2
    refresh_min_interval_s: float = 0.05  # on a miss, refresh the embeddings at most this often
    refresh_interval_s: float = 1.0  # ... and retry held users this often while any are held,
    refresh_max_interval_s: float = 10.0  # backing off to this while refreshes learn nothing
    start_paused: bool = False  # wait for resume() after recovery (benchmarks time the catch-up)


def owned_partitions(shard: int, shards: int, partitions: int) -> list[int]:
    return [p for p in range(partitions) if p % shards == shard]


def _load_factory(target: str) -> Callable[[EventLog, StateParams], VideoEmbeddings]:
    module_name, _, func = target.partition(":")
    factory: Callable[[EventLog, StateParams], VideoEmbeddings] = getattr(
        importlib.import_module(module_name), func)
    return factory


class ShardCore:
    """One shard's state and loop (the Ray actor in ``actors.user_shard`` is a thin shell around it)."""

    def __init__(self, index: int, config: ShardConfig) -> None:
        if not 0 <= index < config.shards:
            raise ValueError(f"shard index {index} outside 0..{config.shards - 1}")
        self.index = index
        self.config = config
        self.params = config.params
        self.partitions = owned_partitions(index, config.shards, config.partitions)
        self.name = f"user-shard-{index}-of-{config.shards}"
        self.users: dict[str, UserState] = {}
        self.offsets: dict[int, int] = dict.fromkeys(self.partitions, 0)
        self.held_users: set[str] = set()
        self.events_applied = 0  # records folded by this incarnation (replay included)
        self.restored_offsets: dict[int, int] | None = None
        self.last_checkpoint: dict[str, Any] | None = None
        self.refreshes = 0
        self.ready = asyncio.Event()
        self.resumed = asyncio.Event()
        self._tick = asyncio.Event()
        self._log: EventLog | None = None
        self._consumer: Consumer | None = None
        self._store: CheckpointStore | None = None
        self._source: VideoEmbeddings | None = None
        self._since_checkpoint = 0
        self._last_checkpoint_t = time.monotonic()
        self._last_refresh_t = 0.0
        self._saving: asyncio.Task[None] | None = None
        self._fold_lock = asyncio.Lock()  # held while folding and while a snapshot copies the users
        # one save at a time, never an older snapshot over a newer one (``checkpoint()`` can run beside the
        # loop's periodic save); a snapshot's events_applied orders them (it only grows in an incarnation)
        self._save_lock = asyncio.Lock()
        self._saved_applied = -1
        self._closing = False
        self._run_task: asyncio.Task[Any] | None = None
        self._new_miss = False
        self._held_backoff_s = config.refresh_interval_s
        if not config.start_paused:
            self.resumed.set()

    # ------------------------------------------------------------------------------------ start

    async def open(self) -> None:
        """Open the log and the checkpoint store, restore the checkpoint, learn the catalog."""
        cfg = self.config
        self._log = await open_log(cfg.log_url, partitions=cfg.partitions, **cfg.log_options)
        self._store = open_checkpoint_store(cfg.checkpoint_url)
        self._source = _load_factory(cfg.embeddings)(self._log, self.params)
        raw = await self._store.load(self.name)
        if raw is not None:
            self._restore(decode_snapshot(raw))
        self._consumer = self._log.consumer(f"user-shards-{cfg.shards}", partitions=self.partitions)
        for p in self.partitions:
            self._consumer.seek(p, self.offsets[p])
        await self._retry_held(force=True)  # also learns the catalog published so far
        self.ready.set()

    def _restore(self, snap: ShardSnapshot) -> None:
        for field, found, expected in (("shards", snap.shards, self.config.shards),
                                       ("partitions", snap.partitions, self.config.partitions),
                                       ("shard", snap.shard, self.index),
                                       ("params", snap.params, self.params)):
            if found != expected:
                raise CheckpointMismatchError(name=self.name, field=field, found=found, expected=expected)
        self.users = {r.user_id: from_record(r, self.params) for r in snap.users}
        self.held_users = {u for u, s in self.users.items() if s.held}
        self.offsets.update({p: o for p, o in snap.offsets.items() if p in self.offsets})
        self.restored_offsets = dict(self.offsets)

    # ------------------------------------------------------------------------------------- loop

    async def run(self) -> None:
        """Consume until ``close``: poll, fold, retry held users, checkpoint."""
        self._run_task = asyncio.current_task()
        await self.resumed.wait()
        assert self._consumer is not None
        cfg = self.config
        while not self._closing:
            records = await self._consumer.poll(cfg.poll_max_records, cfg.poll_timeout_s)
            if records:
                async with self._fold_lock:
                    self.apply_records(records)
            if self.held_users:
                await self._retry_held()
            await self._maybe_checkpoint()

    def apply_records(self, records: Sequence[Record]) -> None:
        """Fold a batch (synchronously: no read or snapshot ever sees half a batch)."""
        users, params, offsets = self.users, self.params, self.offsets
        assert self._source is not None
        lookup = self._source.get
        for r in records:
            event = r.event
            if isinstance(event, USER_EVENTS):
                uid = event.user_id
                state = users.get(uid)
                if state is None:  # an unknown user is a cold-start user, not an error
                    state = users[uid] = new_state(uid, params)
                if step(state, event, lookup, params) and uid not in self.held_users:
                    self.held_users.add(uid)
                    self._new_miss = True
            offsets[r.partition] = r.offset + 1
        self.events_applied += len(records)
        self._since_checkpoint += len(records)
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()

    async def _refresh(self) -> int:
        assert self._source is not None
        self._last_refresh_t = time.monotonic()
        self.refreshes += 1
        return await self._source.refresh()

    async def _retry_held(self, *, force: bool = False) -> None:
        """Learn new videos and apply what users were holding back (rate limited unless forced)."""
        since = time.monotonic() - self._last_refresh_t
        cfg = self.config
        if not force and since < (cfg.refresh_min_interval_s if self._new_miss else self._held_backoff_s):
            return
        self._new_miss = False
        learned = await self._refresh()
        # a video that never arrives must not make every shard re-read the whole log every second
        self._held_backoff_s = (cfg.refresh_interval_s if learned
                                else min(2 * self._held_backoff_s, cfg.refresh_max_interval_s))
        assert self._source is not None
        lookup = self._source.get
        async with self._fold_lock:
            for uid in sorted(self.held_users):
                if not release(self.users[uid], lookup, self.params):
                    self.held_users.discard(uid)

    # ------------------------------------------------------------------------------- checkpoint

    async def _take_snapshot(self) -> ShardSnapshot:
        """Snapshot now and restart the checkpoint counters.

        Folding waits (the fold lock) while the users are copied, so the snapshot is exactly "as of
        these offsets"; the copy yields every few thousand users so reads are served meanwhile.
        """
        async with self._fold_lock:
            self._since_checkpoint = 0
            self._last_checkpoint_t = time.monotonic()
            offsets, applied = dict(self.offsets), self.events_applied
            records = []
            for i, state in enumerate(list(self.users.values()), 1):
                records.append(to_record(state))
                if i % 2_000 == 0:
                    await asyncio.sleep(0)
        return ShardSnapshot(
            shard=self.index, shards=self.config.shards, partitions=self.config.partitions,
            params=self.params, offsets=offsets, events_applied=applied,
            created_us=time.time_ns() // 1000, users=records,
        )

    async def _maybe_checkpoint(self) -> None:
        if self._since_checkpoint == 0 or (self._saving is not None and not self._saving.done()):
            return
        cfg = self.config
        if (self._since_checkpoint >= cfg.checkpoint_every_events
                or time.monotonic() - self._last_checkpoint_t >= cfg.checkpoint_every_s):
            self._saving = asyncio.create_task(self._save(await self._take_snapshot()))

    async def checkpoint(self) -> dict[str, Any]:
        """Snapshot now (after any save in flight) and return its summary."""
        if self._saving is not None:
            await asyncio.shield(self._saving)
        await self._save(await self._take_snapshot())
        assert self.last_checkpoint is not None
        return self.last_checkpoint

    async def _save(self, snap: ShardSnapshot) -> None:
        assert self._store is not None
        async with self._save_lock:
            if snap.events_applied < self._saved_applied:
                return  # a newer snapshot is stored already
            t0 = time.perf_counter()
            data = encode_snapshot(snap)
            await self._store.save(self.name, data)
            self._saved_applied = snap.events_applied
            if self._consumer is not None and not self._closing:
                # for operators (`reel log stat` lag per group); the checkpoint stays the source of truth
                await self._consumer.commit(dict(snap.offsets))
            self.last_checkpoint = {"offsets": snap.offsets, "users": len(snap.users), "bytes": len(data),
                                    "seconds": round(time.perf_counter() - t0, 4), "created_us": snap.created_us}

    # ------------------------------------------------------------------------------------ reads

    def get_state(self, user_id: str) -> UserView:
        state = self.users.get(user_id)
        if state is None:
            return view_of(new_state(user_id, self.params), self.params, known=False)
        return view_of(state, self.params)

    async def wait_for(self, partition: int, offset: int, timeout_s: float = 5.0) -> bool:
        """Wait until the record at ``offset`` of ``partition`` (one of mine) has been applied."""
        deadline = time.monotonic() + timeout_s
        while self.offsets.get(partition, 0) <= offset:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(self._tick.wait(), left)
            except TimeoutError:
                return False
        return True

    async def stats(self) -> dict[str, Any]:
        ends: dict[int, int] = {}
        if self._log is not None:
            infos = await self._log.partition_info()
            ends = {i.partition: i.end for i in infos if i.partition in self.offsets}
        return {
            "shard": self.index, "shards": self.config.shards, "partitions": self.partitions,
            "users": len(self.users), "events_applied": self.events_applied,
            "offsets": dict(self.offsets), "ends": ends,
            "lag": sum(max(0, ends.get(p, 0) - o) for p, o in self.offsets.items()),
            "held_users": len(self.held_users),
            "held_events": sum(len(self.users[u].held) for u in self.held_users),
            "videos_known": len(self._source) if self._source is not None else 0,
            "embedding_refreshes": self.refreshes, "restored_offsets": self.restored_offsets,
            "last_checkpoint": self.last_checkpoint, "ready": self.ready.is_set(),
            "running": self.resumed.is_set(),
        }

    async def close(self) -> None:
        """Stop consuming (after the batch in hand), finish a checkpoint in flight, close the log."""
        self._closing = True
        self.resumed.set()
        task = self._run_task
        if task is not None and not task.done() and task is not asyncio.current_task():
            await asyncio.wait({task}, timeout=self.config.poll_timeout_s + 5.0)
            task.cancel()
        if self._saving is not None:
            await asyncio.shield(self._saving)
        if self._consumer is not None:
            await self._consumer.close()
        if self._source is not None:
            await self._source.close()
        if self._log is not None:
            await self._log.close()
