"""First and next offsets of Kafka partitions, correct on Kafka and on the tansu test broker.

``ListOffsets(latest)`` is exact on Kafka, but tansu 0.6 answers it with "base offset of the newest
record batch + 1", short of the real end whenever that batch holds more than one record. The high
watermark in a ``Fetch`` response is exact on both, so ``bounds`` asks ``ListOffsets`` first (a lower
bound) and then sends one zero-byte ``Fetch`` from that offset per leader and keeps the
larger of the two. On Kafka the fetch starts at the end and returns no records; on tansu a
zero-byte fetch returns none either.
"""

from __future__ import annotations

from collections import defaultdict

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import for_code
from aiokafka.protocol.fetch import FetchRequest

__all__ = ["Watermarks"]

_READ_UNCOMMITTED = 0
_MAX_WAIT_MS = 100


class Watermarks:
    """Reads ``(start, end)`` per partition; ``start()`` before use, ``close()`` after."""

    def __init__(self, bootstrap: str, *, request_timeout_ms: int) -> None:
        common = {"bootstrap_servers": bootstrap, "request_timeout_ms": request_timeout_ms}
        self._lister = AIOKafkaConsumer(**common, client_id="reel-offsets", group_id=None)
        self._client = AIOKafkaClient(**common, client_id="reel-watermarks")

    async def start(self, topics: list[str]) -> None:
        await self._lister.start()
        await self._client.bootstrap()
        await self._client.set_topics(topics)

    async def close(self) -> None:
        try:
            await self._lister.stop()
        finally:
            await self._client.close()

    async def bounds(self, tps: list[TopicPartition]) -> dict[TopicPartition, tuple[int, int]]:
        starts = await self._lister.beginning_offsets(tps)
        listed = await self._lister.end_offsets(tps)
        ends = dict(listed)
        by_leader: dict[int, list[TopicPartition]] = defaultdict(list)
        for tp in tps:
            leader = self._client.cluster.leader_for_partition(tp)
            if leader is None or leader < 0:
                await self._client.force_metadata_update()
                leader = self._client.cluster.leader_for_partition(tp)
            if leader is not None and leader >= 0:
                by_leader[leader].append(tp)
        for leader, members in by_leader.items():
            per_topic: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
            for tp in members:
                per_topic[tp.topic].append((tp.partition, listed[tp], 0))
            # max_wait must be > 0: tansu answers a zero-wait fetch with no partitions at all.
            # min_bytes 0 makes both brokers answer at once anyway.
            request = FetchRequest(_MAX_WAIT_MS, 0, 0, _READ_UNCOMMITTED, list(per_topic.items()))
            response = await self._client.send(leader, request)
            for topic, partitions in response.topics:
                for partition, error_code, highwater, *_ in partitions:
                    tp = TopicPartition(topic, partition)
                    if error_code == 0 and tp in ends:
                        ends[tp] = max(ends[tp], highwater)
                    elif error_code:
                        raise for_code(error_code)(f"fetching the high watermark of {tp}")
        return {tp: (starts[tp], ends[tp]) for tp in tps}
