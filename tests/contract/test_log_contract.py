"""The EventLog contract, run against every backend (file and Kafka) through ``log_factory``.

Written against the protocol only: no backend internals, so both backends must pass it as is.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

import pytest

from events import (
    DeadLetter,
    EventLog,
    EventValidationError,
    Liked,
    Record,
    ViewEnded,
    new_event_id,
    now_us,
    partition_for,
    partition_key,
)
from events.consume import handle_with_retries
from events.errors import LogClosedError

from .conftest import LogFactory

WAIT_S = 10.0  # generous upper bound for a poll to see data; tests return as soon as it arrives


def view(user: str, n: int = 0, *, duration_ms: int = 15_000) -> ViewEnded:
    return ViewEnded(event_id=new_event_id(), ts=now_us(), user_id=user, video_id=f"v{n}",
                     watch_ms=1000 + n, duration_ms=duration_ms, loops=n % 3)


def like(user: str, n: int = 0) -> Liked:
    return Liked(event_id=new_event_id(), ts=now_us(), user_id=user, video_id=f"v{n}")


async def read_all(log: EventLog, partition: int) -> list[Record]:
    info = {i.partition: i for i in await log.partition_info()}[partition]
    out: list[Record] = []
    offset = info.start
    while offset < info.end:
        got = await log.read(partition, offset, 1000)
        assert got, f"read({partition}, {offset}) returned nothing below the end {info.end}"
        out.extend(got)
        offset = got[-1].offset + 1
    return out


async def poll_until(consumer, count: int, timeout_s: float = WAIT_S) -> list[Record]:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    out: list[Record] = []
    while len(out) < count and loop.time() < deadline:
        out.extend(await consumer.poll(max_records=1000, timeout_s=max(0.05, deadline - loop.time())))
    return out


async def test_append_then_read_round_trips_every_event(log_factory: LogFactory) -> None:
    log = await log_factory(partitions=4)
    events = [view(f"u{i % 7}", i) for i in range(40)] + [like(f"u{i}", i) for i in range(10)]
    positions = await log.append(events)
    assert len(positions) == len(events)
    by_position = {}
    for p in range(log.partitions):
        for rec in await read_all(log, p):
            by_position[(rec.partition, rec.offset)] = rec.event
    for event, pos in zip(events, positions, strict=True):
        assert by_position[(pos.partition, pos.offset)] == event
    assert len(by_position) == len(events)


async def test_events_are_routed_by_partition_key(log_factory: LogFactory) -> None:
    log = await log_factory(partitions=4)
    events = [view(f"user-{i}", i) for i in range(30)]
    positions = await log.append(events)
    for event, pos in zip(events, positions, strict=True):
        assert pos.partition == partition_for(partition_key(event), log.partitions)
    for p in range(log.partitions):
        for rec in await read_all(log, p):
            assert partition_for(partition_key(rec.event), log.partitions) == p


async def test_offsets_are_dense_and_order_is_kept_per_partition(log_factory: LogFactory) -> None:
    log = await log_factory(partitions=3)
    sent: dict[int, list[str]] = defaultdict(list)
    for batch in range(5):
        events = [view(f"u{i % 5}", batch * 100 + i) for i in range(12)]
        for event, pos in zip(events, await log.append(events), strict=True):
            sent[pos.partition].append(event.event_id)
    for info in await log.partition_info():
        records = await read_all(log, info.partition)
        assert info.start == 0
        assert [r.offset for r in records] == list(range(info.end))
        assert [r.event.event_id for r in records] == sent[info.partition]


async def test_an_invalid_event_rejects_the_whole_batch_and_names_the_field(log_factory: LogFactory) -> None:
    log = await log_factory(partitions=2)
    batch = [view("u1", 1), view("u2", 2, duration_ms=0), view("u3", 3)]
    with pytest.raises(EventValidationError) as err:
        await log.append(batch)
    assert err.value.field == "$.duration_ms"
    assert all(info.end == info.start for info in await log.partition_info())
    await log.append([view("u1", 4)])  # the log is still usable
    assert sum(i.end - i.start for i in await log.partition_info()) == 1


async def test_read_from_any_offset_and_respect_max_records(log_factory: LogFactory) -> None:
    log = await log_factory(partitions=2)
    events = [view("same-user", i) for i in range(60)]
    positions = await log.append(events)
    p = positions[0].partition
    assert {pos.partition for pos in positions} == {p}
    for start in (0, 1, 17, 31, 59):
        got = await log.read(p, start, 1000)
        assert [r.offset for r in got] == list(range(start, 60))
        assert [r.event for r in got] == events[start:]
    assert [r.offset for r in await log.read(p, 10, 5)] == [10, 11, 12, 13, 14]
    assert await log.read(p, 60, 10) == []


async def test_a_new_group_starts_at_the_earliest_offset(log_factory: LogFactory) -> None:
    log = await log_factory(partitions=2)
    events = [view(f"u{i}", i) for i in range(10)]
    await log.append(events)
    consumer = log.consumer("fresh")
    got = await poll_until(consumer, len(events))
    assert sorted(r.event.event_id for r in got) == sorted(e.event_id for e in events)
    await consumer.close()


async def test_committed_offsets_survive_close_and_reopen(log_factory: LogFactory) -> None:
    log = await log_factory(partitions=3)
    first = [view(f"u{i}", i) for i in range(20)]
    await log.append(first)
    consumer = log.consumer("projector")
    got = await poll_until(consumer, len(first))
    assert len(got) == len(first)
    await consumer.commit()
    committed = await log.committed("projector")
    assert sum(committed.values()) == len(first)
    assert "projector" in await log.groups()
    await consumer.close()
    await log.close()

    log = await log_factory(partitions=3, reopen=True)
    assert await log.committed("projector") == committed
    later = [view(f"u{i}", 100 + i) for i in range(6)]
    await log.append(later)
    consumer = log.consumer("projector")
    got = await poll_until(consumer, len(later))
    assert sorted(r.event.event_id for r in got) == sorted(e.event_id for e in later)
    await consumer.close()


async def test_two_groups_progress_independently(log_factory: LogFactory) -> None:
    log = await log_factory(partitions=2)
    events = [view("u1", i) for i in range(8)]
    positions = await log.append(events)
    p = positions[0].partition
    a = log.consumer("group-a")
    b = log.consumer("group-b")
    assert len(await poll_until(a, 8)) == 8
    await a.commit()
    await a.commit({p: 3})
    assert (await log.committed("group-a"))[p] == 3
    assert await log.committed("group-b") == {}
    assert len(await poll_until(b, 8)) == 8
    await b.commit()
    assert (await log.committed("group-b"))[p] == 8
    assert (await log.committed("group-a"))[p] == 3
    await a.close()
    await b.close()


async def test_seek_and_seek_to_beginning(log_factory: LogFactory) -> None:
    log = await log_factory(partitions=2)
    events = [view("u9", i) for i in range(10)]
    positions = await log.append(events)
    p = positions[0].partition
    consumer = log.consumer("seeker", partitions=[p])
    assert len(await poll_until(consumer, 10)) == 10
    assert consumer.positions() == {p: 10}
    consumer.seek(p, 7)
    assert consumer.positions() == {p: 7}
    got = await poll_until(consumer, 3)
    assert [r.offset for r in got] == [7, 8, 9]
    consumer.seek_to_beginning()
    got = await poll_until(consumer, 10)
    assert [r.offset for r in got] == list(range(10))
    await consumer.close()


async def test_poll_waits_for_new_appends(log_factory: LogFactory) -> None:
    log = await log_factory(partitions=2)
    consumer = log.consumer("waiter")
    assert await consumer.poll(timeout_s=0.2) == []
    event = view("late-user", 1)

    async def append_later() -> None:
        await asyncio.sleep(0.3)
        await log.append([event])

    task = asyncio.create_task(append_later())
    got = await poll_until(consumer, 1)
    await task
    assert [r.event for r in got] == [event]
    await consumer.close()


async def test_dead_letters_round_trip(log_factory: LogFactory) -> None:
    log = await log_factory(partitions=2)
    assert await log.dead_letters() == []
    e1, e2 = view("u1", 1), like("u2", 2)
    l1 = DeadLetter(group="g1", partition=0, offset=5, event=e1, error="ValueError: boom", attempts=3,
                    ts=now_us())
    l2 = DeadLetter(group="g2", partition=1, offset=7, event=e2, error="KeyError: 'x'", attempts=3,
                    ts=now_us())
    await log.dead_letter(l1)
    await log.dead_letter(l2)
    assert await log.dead_letters() == [l1, l2]
    assert await log.dead_letters("g2") == [l2]
    assert await log.dead_letters("nobody") == []


async def test_handle_with_retries_dead_letters_after_three_failures_and_moves_on(
    log_factory: LogFactory,
) -> None:
    log = await log_factory(partitions=1)
    events = [view("u1", i) for i in range(3)]
    await log.append(events)
    consumer = log.consumer("fragile")
    records = await poll_until(consumer, 3)
    calls: dict[int, int] = defaultdict(int)
    handled = []

    async def handler(record: Record) -> None:
        calls[record.offset] += 1
        if record.offset == 1:
            raise RuntimeError("cannot fold this one")
        handled.append(record.offset)

    results = [await handle_with_retries(log, consumer, r, handler) for r in records]
    assert results == [True, False, True]
    assert calls == {0: 1, 1: 3, 2: 1}
    assert handled == [0, 2]
    letters = await log.dead_letters("fragile")
    assert len(letters) == 1
    assert (letters[0].offset, letters[0].attempts, letters[0].event) == (1, 3, events[1])
    assert "cannot fold this one" in letters[0].error
    await consumer.close()


async def test_concurrent_appends_land_exactly_once(log_factory: LogFactory) -> None:
    log = await log_factory(partitions=4)

    async def producer(t: int) -> list[tuple[str, int, int]]:
        acked = []
        for b in range(5):
            events = [view(f"u{(t * 7 + i) % 23}", t * 1000 + b * 10 + i) for i in range(4)]
            for e, pos in zip(events, await log.append(events), strict=True):
                acked.append((e.event_id, pos.partition, pos.offset))
        return acked

    results = await asyncio.gather(*(producer(t) for t in range(30)))
    acked = [a for r in results for a in r]
    assert len({(p, o) for _, p, o in acked}) == len(acked) == 30 * 5 * 4
    stored = {}
    for p in range(log.partitions):
        records = await read_all(log, p)
        assert [r.offset for r in records] == list(range(len(records)))
        for r in records:
            stored[r.event.event_id] = (r.partition, r.offset)
    assert len(stored) == len(acked)
    assert all(stored[eid] == (p, o) for eid, p, o in acked)


async def test_append_after_close_raises_and_close_is_idempotent(log_factory: LogFactory) -> None:
    log = await log_factory(partitions=1)
    await log.append([view("u1")])
    await log.close()
    await log.close()
    with pytest.raises(LogClosedError):
        await log.append([view("u1")])
