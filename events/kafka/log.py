"""``kafka://`` event log: aiokafka with an idempotent ``acks=all`` producer and a dead-letter topic.

Each event goes to partition ``partition_for(partition_key(event), partitions)`` — the same map as
the file log, so user shard ``i`` reads partition ``i`` on either backend — keyed by its partition
key, with the event's time as the record timestamp.

Batching contract of ``append``: every event is validated before anything is sent; then the
events are packed into one record batch per partition (more when a batch fills up), all batches
are sent at once, and the call returns when the broker has acknowledged every one of them (``acks=all``:
written to all in-sync replicas). Should the broker fail mid-call, or not acknowledge within
``request_timeout_s``, ``BrokerUnavailableError`` is raised; batches acknowledged before that stay
written (Kafka has no multi-partition atomicity without transactions) and the unacknowledged ones
may still land later. The idempotent producer guarantees its retries never write a record twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from ..codec import validate
from ..errors import (
    BrokerUnavailableError,
    LogClosedError,
    LogError,
    OffsetOutOfRangeError,
    PartitionCountMismatchError,
)
from ..log import DEFAULT_PARTITIONS, DeadLetter, PartitionInfo, Position, Record
from ..partitioning import partition_for
from ..schema import Event, partition_key
from . import compat
from .consumer import KafkaConsumer, stop_quietly
from .offsets import Watermarks
from .wire import KafkaURL, decode_dead_letter, decode_record, encode_dead_letter, parse_kafka_url, translate

__all__ = ["KafkaLog", "open_kafka_log"]

compat.install()

_MAX_BATCH_BYTES = 1 << 20  # Kafka's default message.max.bytes is ~1 MiB
_READ_WAIT_S = 10.0  # how long a read waits for records the broker says exist


async def open_kafka_log(
    url: str,
    *,
    partitions: int | None = DEFAULT_PARTITIONS,
    replication_factor: int = 1,
    request_timeout_s: float = 30.0,
    **ignored: object,
) -> KafkaLog:
    """Connect to ``kafka://HOST:PORT[,HOST:PORT...][/TOPIC]``, creating the topics when missing.

    ``partitions`` must match an existing topic (``PartitionCountMismatchError`` otherwise);
    ``None`` adopts the existing topic's count (creating a missing one with the default count).
    ``replication_factor`` applies only when the topics are created (use 3 on a real cluster).
    Options meant for other backends (group commit, segment size...) are ignored.
    """
    if partitions is not None and partitions < 1:
        raise ValueError(f"partitions must be at least 1, not {partitions}")
    where = parse_kafka_url(url)
    log = KafkaLog(url, where, partitions or DEFAULT_PARTITIONS, request_timeout_s=request_timeout_s)
    try:
        await log._open(replication_factor, adopt=partitions is None)
    except BaseException:
        await log.close()
        raise
    return log


class KafkaLog:
    """``events.log.EventLog`` over one Kafka topic (``<topic>.dlq`` holds the dead letters)."""

    def __init__(self, url: str, where: KafkaURL, partitions: int, *, request_timeout_s: float) -> None:
        self.url = url
        self.partitions = partitions
        self.bootstrap = where.bootstrap
        self.topic = where.topic
        self.dlq_topic = where.dlq_topic
        self._timeout_ms = int(request_timeout_s * 1000)
        self.timeout_s = request_timeout_s
        self._admin: AIOKafkaAdminClient | None = None
        self._producer: AIOKafkaProducer | None = None
        self._reader: AIOKafkaConsumer | None = None
        self._watermarks: Watermarks | None = None
        self._read_lock = asyncio.Lock()
        self._send_lock = asyncio.Lock()
        self._read_next: dict[TopicPartition, int] = {}  # the reader's position, where known
        self._bounds: dict[TopicPartition, tuple[int, int]] = {}  # last seen (start, end)
        self._consumers: list[KafkaConsumer] = []
        self._all_tps = [TopicPartition(self.topic, p) for p in range(partitions)]
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def _open(self, replication_factor: int, *, adopt: bool) -> None:
        common = {"bootstrap_servers": self.bootstrap, "request_timeout_ms": self._timeout_ms}
        try:
            self._admin = AIOKafkaAdminClient(**common, client_id="reel-admin")
            await self._admin.start()
            existing = await self._ensure_topic(self.topic, self.partitions, replication_factor, adopt=adopt)
            self.partitions = existing
            self._all_tps = [TopicPartition(self.topic, p) for p in range(existing)]
            await self._ensure_topic(self.dlq_topic, 1, replication_factor, adopt=False)
            self._producer = AIOKafkaProducer(
                **common,
                client_id="reel-producer",
                enable_idempotence=True,
                acks="all",
                linger_ms=0,
                max_batch_size=_MAX_BATCH_BYTES,
            )
            await self._producer.start()
            self._reader = AIOKafkaConsumer(
                **common, client_id="reel-reader", group_id=None, enable_auto_commit=False,
                auto_offset_reset="earliest", fetch_max_wait_ms=100, max_partition_fetch_bytes=8 << 20,
            )
            await self._reader.start()
            self._reader.assign([*self._all_tps, TopicPartition(self.dlq_topic, 0)])
            self._reader.pause(*self._reader.assignment())
            self._watermarks = Watermarks(self.bootstrap, request_timeout_ms=self._timeout_ms)
            await self._watermarks.start([self.topic, self.dlq_topic])
        except Exception as exc:
            raise translate(exc, bootstrap=self.bootstrap, doing=f"opening {self.url}") from exc

    async def _ensure_topic(self, topic: str, partitions: int, replication: int, *, adopt: bool) -> int:
        # Create first, describe after: some brokers (tansu) auto-create a topic with a default
        # partition count as soon as its metadata is asked for.
        assert self._admin is not None
        response = await self._admin.create_topics(
            [NewTopic(topic, num_partitions=partitions, replication_factor=replication)]
        )
        for _name, code, *rest in response.topic_errors:
            err = for_code(code)
            if code and err is not TopicAlreadyExistsError:
                message = rest[0] if rest else ""
                raise LogError(
                    f"cannot create Kafka topic {topic!r} on {self.bootstrap}: {err.__name__} {message}"
                )
        described = await self._admin.describe_topics([topic])
        existing = len(described[0]["partitions"])
        if existing != partitions and not adopt:
            url = self.url if topic == self.topic else f"{self.url} (dead-letter topic {topic})"
            raise PartitionCountMismatchError(url=url, existing=existing, requested=partitions)
        return existing

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for consumer in list(self._consumers):
            await consumer.close()
        if self._producer is not None:
            await self._stop_producer(self._producer)
        if self._reader is not None:
            await stop_quietly(self._reader.stop(), self.timeout_s)
        for client in (self._watermarks, self._admin):
            if client is not None:
                await stop_quietly(client.close(), self.timeout_s)

    async def _stop_producer(self, producer: AIOKafkaProducer) -> None:
        # aiokafka's stop() first waits for every queued batch to be delivered, with no time limit:
        # with the broker gone it never returns. Batches still queued then belong to appends that
        # already failed (timed out), so after the timeout they are abandoned and the client closed.
        stopping = asyncio.ensure_future(producer.stop())
        await stop_quietly(asyncio.shield(stopping), self.timeout_s)
        if not stopping.done():
            stopping.cancel()
            sender = getattr(producer, "_sender", None)
            if sender is not None:
                await stop_quietly(sender.close(), self.timeout_s)
            await stop_quietly(producer.client.close(), self.timeout_s)

    def _check_open(self) -> None:
        if self._closed:
            raise LogClosedError(url=self.url)

    # -- writing -----------------------------------------------------------------------------

    async def append(self, events: Sequence[Event]) -> list[Position]:
        self._check_open()
        payloads = [validate(e) for e in events]  # all-or-nothing: raises before anything is sent
        if not payloads:
            return []
        producer = self._producer
        assert producer is not None
        by_partition: dict[int, list[int]] = {}
        keys: list[bytes] = []
        stamps = [e.ts // 1000 for e in events]  # Kafka timestamps are in ms
        for i, event in enumerate(events):
            key = partition_key(event)
            keys.append(key.encode())
            by_partition.setdefault(partition_for(key, self.partitions), []).append(i)
        # Build every record batch first (nothing is sent if one event cannot fit in a batch)...
        built: list[tuple[int, object, list[int]]] = []
        for p, indices in by_partition.items():
            batch, members = producer.create_batch(), list[int]()
            for i in indices:
                if batch.append(key=keys[i], value=payloads[i], timestamp=stamps[i]) is None:
                    built.append((p, batch, members))
                    batch, members = producer.create_batch(), []
                    if batch.append(key=keys[i], value=payloads[i], timestamp=stamps[i]) is None:
                        too_big = f"event {events[i].event_id} does not fit in a Kafka batch"
                        raise LogError(f"{too_big} of {_MAX_BATCH_BYTES} bytes")
                members.append(i)
            built.append((p, batch, members))
        # ...then queue them, one append at a time: aiokafka lets one batch per partition wait to be
        # sent, and many appends competing for that slot time out spuriously (its wait loop
        # subtracts the total elapsed time on every turn). Acknowledgements are awaited unlocked.
        try:
            async with self._send_lock:
                futures = [await producer.send_batch(b, self.topic, partition=p) for p, b, _ in built]
            # aiokafka retries a batch for as long as the broker is unreachable: bound the wait.
            acks = await asyncio.wait_for(asyncio.gather(*futures), self.timeout_s)
        except TimeoutError as exc:
            raise BrokerUnavailableError(
                bootstrap=self.bootstrap,
                detail=f"appending: no acknowledgement within {self.timeout_s:g} s (the batch may still be "
                "written, once, when the broker is back)",
            ) from exc
        except Exception as exc:
            raise translate(exc, bootstrap=self.bootstrap, doing="appending") from exc
        sent = [(p, members) for p, _, members in built]
        positions: list[Position | None] = [None] * len(payloads)
        for (p, members), meta in zip(sent, acks, strict=True):
            base = meta.offset
            for n, i in enumerate(members):
                positions[i] = Position(partition=p, offset=base + n)
        return positions  # type: ignore[return-value]

    # -- reading -----------------------------------------------------------------------------

    def cached_start(self, partition: int) -> int:
        """First retained offset of ``partition`` as last seen (0 before anything was asked)."""
        return self._bounds.get(TopicPartition(self.topic, partition), (0, 0))[0]

    async def _refresh_bounds(self, tps: list[TopicPartition]) -> None:
        assert self._watermarks is not None
        try:
            self._bounds.update(await self._watermarks.bounds(tps))
        except Exception as exc:
            raise translate(exc, bootstrap=self.bootstrap, doing="reading offsets") from exc

    async def partition_info(self) -> list[PartitionInfo]:
        self._check_open()
        tps = self._all_tps
        await self._refresh_bounds(tps)
        return [PartitionInfo(tp.partition, *self._bounds[tp]) for tp in tps]

    async def read(self, partition: int, offset: int, max_records: int = 1000) -> list[Record]:
        self._check_open()
        if not 0 <= partition < self.partitions:
            raise ValueError(f"partition {partition} does not exist; the log has {self.partitions}")
        tp = TopicPartition(self.topic, partition)
        async with self._read_lock:
            raw = await self._read_raw(tp, offset, max_records)
        return [Record(partition=partition, offset=o, event=decode_record(partition, o, v)) for o, v in raw]

    async def _read_raw(self, tp: TopicPartition, offset: int, limit: int) -> list[tuple[int, bytes | None]]:
        """Up to ``limit`` (offset, value) pairs from ``offset``; the caller holds the read lock."""
        reader = self._reader
        assert reader is not None
        start, end = self._bounds.get(tp, (0, 0))
        if tp not in self._bounds or not start <= offset < end:
            await self._refresh_bounds([tp])
            start, end = self._bounds[tp]
        if offset < start or offset > end:
            raise OffsetOutOfRangeError(partition=tp.partition, offset=offset, start=start, end=end)
        want = min(limit, end - offset)
        if want <= 0:
            return []
        if self._read_next.get(tp) != offset:
            reader.seek(tp, offset)
        out: list[tuple[int, bytes | None]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _READ_WAIT_S
        # Every partition stays assigned to the reader, paused unless it is being read: no
        # background fetching, and what one read prefetched serves the next read in sequence.
        reader.resume(tp)
        try:
            while len(out) < want and loop.time() < deadline:
                got = await reader.getmany(tp, timeout_ms=200, max_records=want - len(out))
                for msg in got.get(tp, []):
                    out.append((msg.offset, msg.value))
        except Exception as exc:
            self._read_next.pop(tp, None)
            raise translate(exc, bootstrap=self.bootstrap, doing=f"reading partition {tp.partition}") from exc
        finally:
            reader.pause(tp)
        if len(out) < want:
            self._read_next.pop(tp, None)
            raise LogError(
                f"partition {tp.partition} of {self.url} reports records up to offset {end} but only "
                f"{offset + len(out)} could be fetched within {_READ_WAIT_S:.0f} s; check the broker"
            )
        self._read_next[tp] = offset + len(out)
        return out

    # -- consumer groups ---------------------------------------------------------------------

    def consumer(self, group: str, *, partitions: Sequence[int] | None = None) -> KafkaConsumer:
        self._check_open()
        consumer = KafkaConsumer(self, group, partitions)
        self._consumers.append(consumer)
        return consumer

    def forget(self, consumer: KafkaConsumer) -> None:
        """Called by a consumer that closed itself: ``close()`` need not close it again."""
        if consumer in self._consumers:
            self._consumers.remove(consumer)

    async def committed(self, group: str) -> dict[int, int]:
        self._check_open()
        assert self._admin is not None
        tps = self._all_tps
        try:
            offsets = await self._admin.list_consumer_group_offsets(group, partitions=tps)
        except Exception as exc:
            doing = f"fetching offsets of group {group!r}"
            raise translate(exc, bootstrap=self.bootstrap, doing=doing) from exc
        return {
            tp.partition: meta.offset
            for tp, meta in offsets.items()
            if tp.topic == self.topic and meta.offset >= 0
        }

    async def groups(self) -> list[str]:
        """Consumer groups that have committed offsets on this log's topic."""
        self._check_open()
        assert self._admin is not None
        try:
            listed = await self._admin.list_consumer_groups()
        except Exception as exc:
            raise translate(exc, bootstrap=self.bootstrap, doing="listing consumer groups") from exc
        names = sorted({entry[0] for entry in listed})
        return [name for name in names if await self.committed(name)]

    # -- dead letters ------------------------------------------------------------------------

    async def dead_letter(self, letter: DeadLetter) -> None:
        self._check_open()
        assert self._producer is not None
        try:
            fut = await self._producer.send(
                self.dlq_topic, value=encode_dead_letter(letter), key=letter.group.encode(), partition=0
            )
            await fut
        except Exception as exc:
            raise translate(exc, bootstrap=self.bootstrap, doing="writing a dead letter") from exc

    async def dead_letters(self, group: str | None = None) -> list[DeadLetter]:
        self._check_open()
        tp = TopicPartition(self.dlq_topic, 0)
        out: list[DeadLetter] = []
        async with self._read_lock:
            await self._refresh_bounds([tp])
            offset, end = self._bounds[tp]
            while offset < end:
                chunk = await self._read_raw(tp, offset, 1000)
                for o, value in chunk:
                    letter = decode_dead_letter(o, value, topic=self.dlq_topic)
                    if group is None or letter.group == group:
                        out.append(letter)
                offset += len(chunk)
        return out
