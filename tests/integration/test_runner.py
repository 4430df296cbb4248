"""The projection runner on a real log: resume, dead letters, exactly-once under restarts (hypothesis)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import Event, EventLog, Liked, open_log, partition_for, partition_key
from projections.base import Projection, ViewReader, fold_all
from projections.errors import ProjectionOutdatedError
from projections.registry import get_projection
from projections.runner import ProjectionRunner
from projections.store import ViewStore, open_store, reader
from reelstack.world import WorldConfig, world_events
from tests.strategies import event_lists, unknown_ref_event

PARTITIONS = 3


_counter = itertools.count()


async def open_test_log(tmp_path: Any) -> EventLog:
    """A fresh, real file log (a new directory per call: hypothesis runs many examples per test)."""
    return await open_log(f"file://{tmp_path}/log{next(_counter)}", partitions=PARTITIONS,
                          group_commit_ms=0)


@pytest.fixture
async def event_log(tmp_path: Any) -> AsyncIterator[EventLog]:
    log = await open_test_log(tmp_path)
    yield log
    await log.close()


# ------------------------------------------------------------------------------------ helpers


def merged_order(events: Sequence[Event], partitions: int = PARTITIONS) -> list[Event]:
    """The order the runner folds a log appended in ``events`` order, when each partition is ts-sorted."""
    return sorted(events, key=lambda e: (e.ts, partition_for(partition_key(e), partitions)))


def stored_view(store: ViewStore, projection: Projection) -> dict[str, Any]:
    return dict(reader(store, projection).scan(""))


def world(n_viewers: int = 40) -> list[Event]:
    cfg = WorldConfig(creators=5, videos=15, viewers=n_viewers, sessions_per_viewer=2, videos_per_session=6)
    return list(world_events(cfg))  # type: ignore[arg-type]


COUNTERS = get_projection("counters")


class Flaky:
    """Counters, except that folding one chosen event always raises (and every call is counted)."""

    def __init__(self, bad_event_id: str) -> None:
        self.name = "flaky"
        self.version = 1
        self.value_type = COUNTERS.value_type
        self.bad = bad_event_id
        self.calls = 0

    def keys(self, event: Event) -> Sequence[str]:
        return COUNTERS.keys(event)

    def fold(self, view: ViewReader, event: Event) -> Any:
        if event.event_id == self.bad:
            self.calls += 1
            raise RuntimeError("cannot fold this one")
        return COUNTERS.fold(view, event)


# -------------------------------------------------------------------------------------- tests


async def test_rebuild_equals_folding_once(event_log: EventLog) -> None:
    events = world()
    await event_log.append(events)
    store = open_store("memory://")
    runner = ProjectionRunner(event_log, store, COUNTERS, batch_size=97)
    stats = await runner.rebuild()
    assert stats.events == len(events) and stats.dead_lettered == 0
    expected = fold_all(COUNTERS, merged_order(events)).data
    assert expected and stored_view(store, COUNTERS) == expected
    ckpt = store.checkpoint("counters")
    assert ckpt is not None and ckpt.events == len(events) and ckpt.version == COUNTERS.version
    assert ckpt.last_event_ts == max(e.ts for e in events)
    info = await event_log.partition_info()
    assert ckpt.offsets == {i.partition: i.end for i in info}
    assert await event_log.committed("proj.counters") == ckpt.offsets  # group offsets follow the store
    await runner.rebuild()  # folding the same log twice gives the same view
    assert stored_view(store, COUNTERS) == expected
    await runner.close()


async def test_resumes_from_the_stored_checkpoint(event_log: EventLog, tmp_path: Any) -> None:
    events = world()
    half = len(events) // 2
    await event_log.append(events[:half])
    store = open_store(f"sqlite://{tmp_path / 'views.db'}")
    first = ProjectionRunner(event_log, store, COUNTERS, batch_size=50)
    for _ in range(3):
        await first.step()
    ckpt = store.checkpoint("counters")
    assert ckpt is not None and ckpt.events == 150 and ckpt.seq == 3
    await first.close()
    await event_log.append(events[half:])
    second = ProjectionRunner(event_log, open_store(f"sqlite://{tmp_path / 'views.db'}"), COUNTERS,
                              batch_size=500)
    stats = await second.run_until_caught_up()
    assert stats.events == len(events) - 150
    assert stored_view(store, COUNTERS) == fold_all(COUNTERS, merged_order(events)).data
    await second.close()


async def test_a_newer_projection_version_asks_for_a_rebuild(event_log: EventLog) -> None:
    await event_log.append(world(5))
    store = open_store("memory://")
    await ProjectionRunner(event_log, store, COUNTERS).run_until_caught_up()
    class V2:
        name, version, value_type = "counters", COUNTERS.version + 1, COUNTERS.value_type
        keys, fold = COUNTERS.keys, COUNTERS.fold

    with pytest.raises(ProjectionOutdatedError, match="reel projections rebuild counters"):
        await ProjectionRunner(event_log, store, V2()).run_until_caught_up()  # type: ignore[arg-type]
    await ProjectionRunner(event_log, store, V2()).rebuild()  # type: ignore[arg-type]
    ckpt = store.checkpoint("counters")
    assert ckpt is not None and ckpt.version == COUNTERS.version + 1


async def test_a_failing_event_is_retried_then_dead_lettered_and_the_rest_commits(
    event_log: EventLog,
) -> None:
    events = world(10)
    bad = next(e for e in events if isinstance(e, Liked))
    await event_log.append(events)
    flaky = Flaky(bad.event_id)
    store = open_store("memory://")
    stats = await ProjectionRunner(event_log, store, flaky, batch_size=64).run_until_caught_up()
    assert flaky.calls == 3
    assert stats.dead_lettered == 1 and stats.events == len(events)
    letters = await event_log.dead_letters("proj.flaky")
    assert [(d.event, d.attempts) for d in letters] == [(bad, 3)]
    assert "cannot fold this one" in letters[0].error
    rest = [e for e in merged_order(events) if e.event_id != bad.event_id]
    assert stored_view(store, flaky) == fold_all(COUNTERS, rest).data
    ckpt = store.checkpoint("flaky")
    assert ckpt is not None and ckpt.dead_lettered == 1 and ckpt.events == len(events)


class Unstorable(Flaky):
    """Counters, except that one chosen event yields a value msgpack cannot encode."""

    def fold(self, view: ViewReader, event: Event) -> Any:
        if event.event_id == self.bad:
            self.calls += 1
            return {"bad": object()}
        return COUNTERS.fold(view, event)


@pytest.mark.parametrize("store_url", ["memory://", "sqlite"])
async def test_an_unstorable_value_dead_letters_only_its_event(event_log: EventLog, tmp_path: Any,
                                                                store_url: str) -> None:
    events = world(10)
    bad = next(e for e in events if isinstance(e, Liked))
    await event_log.append(events)
    projection = Unstorable(bad.event_id)
    store = open_store(store_url if store_url == "memory://" else f"sqlite://{tmp_path / 'v.db'}")
    stats = await ProjectionRunner(event_log, store, projection, batch_size=64).run_until_caught_up()
    assert stats.dead_lettered == 1
    letters = await event_log.dead_letters("proj.flaky")
    assert [d.event for d in letters] == [bad]  # once, though its batch was folded twice
    assert projection.calls == 1 + 3  # the batch pass, then three event-by-event attempts
    rest = [e for e in merged_order(events) if e.event_id != bad.event_id]
    assert stored_view(store, projection) == fold_all(COUNTERS, rest).data


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    events=event_lists(max_size=80),
    unknown=st.lists(unknown_ref_event(), max_size=5),
    batch=st.integers(1, 40),
    stop_after=st.integers(0, 6),
)
def test_restarting_from_the_checkpoint_equals_folding_once(
    tmp_path: Any, events: list[Event], unknown: list[Event], batch: int, stop_after: int
) -> None:
    log_events = sorted(events + unknown, key=lambda e: e.ts)

    async def scenario() -> None:
        log = await open_test_log(tmp_path)
        await log.append(log_events)
        expected = fold_all(COUNTERS, merged_order(log_events)).data
        store = open_store("memory://")
        first = ProjectionRunner(log, store, COUNTERS, batch_size=batch)
        for _ in range(stop_after):
            await first.step()
        await first.close()
        second = ProjectionRunner(log, store, COUNTERS, batch_size=batch + 3)  # restarted, new batches
        await second.run_until_caught_up()
        assert stored_view(store, COUNTERS) == expected
        clean = open_store("memory://")
        await ProjectionRunner(log, clean, COUNTERS, batch_size=1000).rebuild()
        assert stored_view(clean, COUNTERS) == expected
        assert not await log.dead_letters()
        await second.close()
        await log.close()

    asyncio.run(scenario())


_WORLD = world(15)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(unknown=st.lists(unknown_ref_event(), min_size=1, max_size=30))
def test_every_projection_folds_a_world_with_unknown_references(tmp_path: Any, unknown: list[Event]) -> None:
    from projections.registry import PROJECTION_MODULES

    events = sorted(_WORLD + unknown, key=lambda e: e.ts)

    async def scenario() -> list[str]:
        log = await open_test_log(tmp_path)
        await log.append(events)
        store = open_store("memory://")
        done = []
        for name in PROJECTION_MODULES:
            try:
                projection = get_projection(name)
            except ImportError:
                continue  # not written yet
            stats = await ProjectionRunner(log, store, projection, batch_size=200).rebuild()
            assert stats.dead_lettered == 0, name
            assert stored_view(store, projection) == fold_all(projection, merged_order(events)).data, name
            done.append(name)
        assert not await log.dead_letters()
        await log.close()
        return done

    assert "counters" in asyncio.run(scenario())


async def test_big_batches_while_far_behind_then_small_ones(event_log: EventLog) -> None:
    events = world(40)
    assert len(events) > 1000
    await event_log.append(events)
    store = open_store("memory://")
    runner = ProjectionRunner(event_log, store, COUNTERS, batch_size=10, catchup_batch_size=300)
    sizes = []
    while True:
        n, _ = await runner.step()
        if not n:
            break
        sizes.append(n)
    big = (len(events) - 1) // 300  # while more than 300 wait, batches of 300; then batches of 10
    assert sizes[:big] == [300] * big and max(sizes[big:]) == 10 and sum(sizes) == len(events)
    assert stored_view(store, COUNTERS) == fold_all(COUNTERS, merged_order(events)).data


async def test_group_commits_are_rate_limited_and_the_last_one_lands(event_log: EventLog) -> None:
    """The consumer group's offsets (``reel log stat``'s lag) are written at most once per
    ``group_commit_every_s`` while folding, yet equal the store's checkpoint once caught up or closed."""
    events = world(15)
    await event_log.append(events)
    store = open_store("memory://")
    runner = ProjectionRunner(event_log, store, COUNTERS, batch_size=10, group_commit_every_s=3600)
    writes: list[dict[int, int]] = []
    consumer_commit = None

    async def counted(offsets: dict[int, int] | None = None) -> None:
        writes.append(dict(offsets or {}))
        assert consumer_commit is not None
        await consumer_commit(offsets)

    await runner.start()
    assert runner._consumer is not None
    consumer_commit = runner._consumer.commit
    runner._consumer.commit = counted  # type: ignore[method-assign]
    for _ in range(5):
        assert (await runner.step())[0] == 10
    assert len(writes) == 1  # the first batch's; the next four waited
    stats = await runner.run_until_caught_up()
    assert stats.events == len(events) - 50
    ckpt = store.checkpoint("counters")
    assert ckpt is not None and len(writes) == 2 and writes[-1] == ckpt.offsets
    assert await event_log.committed("proj.counters") == ckpt.offsets
    await runner.close()
    assert len(writes) == 2  # nothing new to commit


@pytest.mark.kafka
async def test_the_runner_folds_a_kafka_log_too(kafka_bootstrap: str, tmp_path: Any) -> None:
    events = world(15)
    log = await open_log(f"kafka://{kafka_bootstrap}/proj{next(_counter)}x{id(tmp_path) % 10_000}",
                         partitions=PARTITIONS)
    try:
        await log.append(events)
        store = open_store(f"sqlite://{tmp_path / 'views.db'}")
        runner = ProjectionRunner(log, store, COUNTERS, batch_size=100)
        half = await runner.step()
        assert half[0] == 100
        await runner.close()
        resumed = ProjectionRunner(log, store, COUNTERS, batch_size=100)
        stats = await resumed.run_until_caught_up()
        await resumed.close()
        assert stats.events == len(events) - 100
        assert stored_view(store, COUNTERS) == fold_all(COUNTERS, merged_order(events)).data
        ckpt = store.checkpoint("counters")
        assert ckpt is not None and await log.committed("proj.counters") == ckpt.offsets
    finally:
        await log.close()


async def test_run_forever_follows_a_writer(tmp_path: Any) -> None:
    url = f"file://{tmp_path}/live"
    writer = await open_log(url, partitions=PARTITIONS, group_commit_ms=0)
    follower = await open_log(url, partitions=None, readonly=True)  # as `reel projections run` opens it
    store = open_store(f"sqlite://{tmp_path / 'views.db'}")
    runner = ProjectionRunner(follower, store, COUNTERS, batch_size=50, idle_sleep_s=0.02)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run_forever(stop))
    events = world(20)
    # appended in ts order, one partition per append: an append that spans partitions lands one partition
    # at a time, so a follower can see it half-written and fold its records out of ts order across
    # partitions (the CI run of 2026-11-22 did, under load); the merge is exact only for what is visible
    parts = [partition_for(partition_key(e), PARTITIONS) for e in merged_order(events)]
    runs = [list(g) for _, g in itertools.groupby(zip(parts, merged_order(events), strict=True),
                                                  key=lambda pe: pe[0])]
    try:
        for i, run in enumerate(runs):
            await writer.append([e for _, e in run])
            if i % 10 == 0:
                await asyncio.sleep(0.02)  # let the runner fold between some of the appends
        for _ in range(500):
            ckpt = store.checkpoint("counters")
            if ckpt is not None and ckpt.events == len(events):
                break
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await runner.close()
        await follower.close()
        await writer.close()
    ckpt = store.checkpoint("counters")
    assert ckpt is not None and ckpt.events == len(events)
    assert stored_view(store, COUNTERS) == fold_all(COUNTERS, merged_order(events)).data


async def test_rebuild_together_equals_one_rebuild_per_view(event_log: EventLog, tmp_path: Any) -> None:
    from projections.registry import all_projections
    from projections.runner import rebuild_together

    events = world(20)
    first, later = events[: len(events) // 2], events[len(events) // 2 :]
    await event_log.append(first)
    projections = all_projections()
    store = open_store(f"sqlite://{tmp_path / 'views.db'}")
    seen: list[int] = []
    stats = await rebuild_together(event_log, store, projections, batch_size=97, progress=seen.append)
    assert sum(seen) == len(first)
    ordered = merged_order(first)
    for p in projections:
        assert stats[p.name].events == len(first) and stats[p.name].dead_lettered == 0
        assert stored_view(store, p) == fold_all(p, ordered).data, p.name
    await event_log.append(later)  # each view then goes on alone from its own checkpoint
    for p in projections[:3]:
        await ProjectionRunner(event_log, store, p).run_until_caught_up()
        assert stored_view(store, p) == fold_all(p, merged_order(events)).data, p.name


async def test_remote_store_dry_run_finds_undeclared_keys(event_log: EventLog, redis_url: str) -> None:
    """Counters reads creator keys that ``keys()`` cannot name; on Redis a dry run loads them in bulk."""
    import redis as redis_py

    events = world(40)
    half = len(events) // 2
    await event_log.append(events[:half])
    base = redis_url.rsplit("/", 1)[0]
    loads = {}
    for db, remote in ((11, True), (12, False)):
        url = f"{base}/{db}"
        redis_py.Redis.from_url(url).flushdb()
        store = open_store(url)
        store.remote = remote  # type: ignore[misc]  # the same server, with and without the dry run
        await ProjectionRunner(event_log, store, COUNTERS, batch_size=10_000).rebuild()
        store.close()
    await event_log.append(events[half:])
    for db, remote in ((11, True), (12, False)):
        store = open_store(f"{base}/{db}")
        store.remote = remote  # type: ignore[misc]
        runner = ProjectionRunner(event_log, store, COUNTERS, batch_size=40)  # resumed: cache not complete
        await runner.run_until_caught_up()
        loads[remote] = runner._view.loads
        assert stored_view(store, COUNTERS) == fold_all(COUNTERS, merged_order(events)).data
        await runner.close()
        store.close()
    assert loads[True] < loads[False] / 3, loads
