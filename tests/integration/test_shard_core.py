"""The shard engine without Ray, over a real file log: checkpoint + replay == full fold, layout checks,
and an injected embedding source (how learned embeddings replace the content ones)."""

from __future__ import annotations

import asyncio
import random
import uuid
from pathlib import Path

import numpy as np
import pytest

from actors.errors import CheckpointMismatchError
from actors.shard_core import ShardConfig, ShardCore
from actors.snapshot import to_record
from actors.user_state import StateParams, VideoInfo
from events import EventLog, Liked, VideoDetailsSubmitted, ViewEnded, open_log, partition_for
from events.log import PartitionInfo

T0 = 1_763_000_000_000_000
P = StateParams(dim=8)


def _events(n: int, seed: int = 1) -> list[ViewEnded | Liked]:
    rng = random.Random(seed)
    out: list[ViewEnded | Liked] = []
    for i in range(n):
        uid, vid = f"u{rng.randrange(50)}", f"v{rng.randrange(20)}"
        if rng.random() < 0.8:
            out.append(ViewEnded(event_id=f"e{i}", ts=T0 + i * 1_000_000, user_id=uid, video_id=vid,
                                 watch_ms=rng.choice((1_000, 9_000, 15_000)), duration_ms=15_000))
        else:
            out.append(Liked(event_id=f"e{i}", ts=T0 + i * 1_000_000, user_id=uid, video_id=vid))
    return out


def _catalog() -> list[VideoDetailsSubmitted]:
    return [VideoDetailsSubmitted(event_id=f"d{i}", ts=T0 - 1, video_id=f"v{i}", creator_id=f"c{i % 3}",
                                  caption=f"clip {i}", hashtags=(f"t{i % 4}",)) for i in range(20)]


def _config(tmp_path: Path, **kw: object) -> ShardConfig:
    base: dict[str, object] = dict(log_url=f"file://{tmp_path / 'log'}", partitions=4, shards=2, params=P,
                                   checkpoint_url=f"file://{tmp_path / 'ckpt'}",
                                   log_options={"readonly": True}, poll_timeout_s=0.05)
    base.update(kw)
    return ShardConfig(**base)  # type: ignore[arg-type]


@pytest.fixture(params=["file", pytest.param("kafka", marks=pytest.mark.kafka)])
def log_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The log the shard reads: the embedded file log or a topic on the session's Kafka broker."""
    if request.param == "file":
        return f"file://{tmp_path / 'log'}"
    return f"kafka://{request.getfixturevalue('kafka_bootstrap')}/shards{uuid.uuid4().hex[:10]}"


def _config_for(url: str, tmp_path: Path, **kw: object) -> ShardConfig:
    options = {"readonly": True} if url.startswith("file://") else {}
    return _config(tmp_path, log_url=url, log_options=options, **kw)


async def _catch_up(core: ShardCore, log: EventLog) -> None:
    infos: list[PartitionInfo] = await log.partition_info()
    for info in infos:
        if info.partition in core.partitions and info.end:
            assert await core.wait_for(info.partition, info.end - 1, timeout_s=20.0)


async def _run_until_caught_up(config: ShardConfig, log: EventLog, index: int = 0) -> ShardCore:
    core = ShardCore(index, config)
    await core.open()
    task = asyncio.create_task(core.run())
    await _catch_up(core, log)
    await core.close()
    await task
    return core


async def test_restore_then_replay_equals_one_pass(log_url: str, tmp_path: Path) -> None:
    log = await open_log(log_url, partitions=4)
    events = _events(3_000)
    await log.append(_catalog())
    await log.append(events[:1_700])
    first = await _run_until_caught_up(_config_for(log_url, tmp_path), log)
    summary = await first.checkpoint()
    assert summary["users"] == len(first.users) > 0
    await log.append(events[1_700:])
    resumed = await _run_until_caught_up(_config_for(log_url, tmp_path), log)
    assert resumed.restored_offsets == summary["offsets"]
    assert resumed.events_applied < first.events_applied  # replayed only what followed the checkpoint
    fresh = _config_for(log_url, tmp_path, checkpoint_url=f"file://{tmp_path / 'other'}")
    one_pass = await _run_until_caught_up(fresh, log)
    assert set(resumed.users) == set(one_pass.users)
    for uid, state in one_pass.users.items():
        a, b = to_record(resumed.users[uid]), to_record(state)
        np.testing.assert_allclose(np.frombuffer(a.long, "<f4"), np.frombuffer(b.long, "<f4"), atol=1e-6)
        assert (a.version, a.seen, a.counts) == (b.version, b.seen, b.counts)
    await log.close()


async def test_a_checkpoint_of_another_layout_is_refused(tmp_path: Path) -> None:
    log = await open_log(f"file://{tmp_path / 'log'}", partitions=4)
    await log.append(_events(50))
    core = await _run_until_caught_up(_config(tmp_path), log)
    await core.checkpoint()
    other = ShardCore(0, _config(tmp_path, params=StateParams(dim=8, short_lr=0.9)))
    with pytest.raises(CheckpointMismatchError, match="params"):
        await other.open()
    await other.close()
    await log.close()


class _Fixed:
    """A stand-in for learned embeddings: every video maps to axis 0 (a real, if trivial, source)."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.refreshed = 0

    def get(self, video_id: str) -> VideoInfo:
        e = np.zeros(self.dim, dtype=np.float32)
        e[0] = 1.0
        return VideoInfo(video_id=video_id, embedding=e, creator_id="c")

    async def refresh(self) -> int:
        self.refreshed += 1
        return 0

    def __len__(self) -> int:
        return 0

    async def close(self) -> None:
        return None


def fixed_embeddings(log: EventLog, params: StateParams) -> _Fixed:
    return _Fixed(params.dim)


async def test_the_embedding_source_is_injected_by_name(tmp_path: Path) -> None:
    log = await open_log(f"file://{tmp_path / 'log'}", partitions=4)
    await log.append([ViewEnded(event_id=f"e{i}", ts=T0 + i, user_id="u1", video_id="nowhere",
                                watch_ms=15_000, duration_ms=15_000) for i in range(3)])
    shard = partition_for("u1", 4) % 2
    core = await _run_until_caught_up(
        _config(tmp_path, embeddings="tests.integration.test_shard_core:fixed_embeddings"), log, shard)
    view = core.get_state("u1")
    assert view.version == 3 and view.held == 0 and view.long[0] > 0 and not any(view.long[1:])
    await log.close()


async def test_an_older_snapshot_never_lands_over_a_newer_one(tmp_path: Path) -> None:
    """``checkpoint()`` can run beside the loop's periodic save: saves take turns, and an older snapshot
    whose save comes second is dropped instead of replacing the newer one on disk."""
    from actors.snapshot import decode_snapshot

    log = await open_log(f"file://{tmp_path / 'log'}", partitions=4)
    await log.append(_events(40))
    core = ShardCore(0, _config(tmp_path))
    await core.open()
    run = asyncio.create_task(core.run())
    await _catch_up(core, log)
    older = await core._take_snapshot()
    await log.append(_events(40, seed=2))
    await _catch_up(core, log)
    newer = await core._take_snapshot()
    assert newer.events_applied > older.events_applied
    store, calls = core._store, [0]
    assert store is not None

    class SlowSecond:  # the second save to arrive is the slow one
        async def save(self, name: str, data: bytes) -> None:
            calls[0] += 1
            if calls[0] == 2:
                await asyncio.sleep(0.1)
            await store.save(name, data)

        async def load(self, name: str) -> bytes | None:
            return await store.load(name)

    core._store = SlowSecond()  # type: ignore[assignment]
    await asyncio.gather(core._save(newer), core._save(older))
    data = await store.load(core.name)
    assert data is not None and decode_snapshot(data).events_applied == newer.events_applied
    core._store = store
    await core.close()
    await asyncio.wait_for(run, 10)
    await log.close()
