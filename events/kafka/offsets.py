"""First and next offsets of Kafka partitions, correct on Kafka and on the tansu test broker.

``ListOffsets(latest)`` is exact on Kafka, but tansu 0.6 answers it with "base offset of the newest
record batch + 1", short of the real end whenever that batch holds more than one record. The high
watermark in a ``Fetch`` response is exact on both, so ``bounds`` asks ``ListOffsets`` first (a lower
bound) and then sends a zero-byte ``Fetch`` from that offset to each leader and keeps the
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
_MAX_WAITS_MS = (2, 20, 200)


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
            await self._fetch_highwaters(leader, members, listed, ends)
        return {tp: (starts[tp], ends[tp]) for tp in tps}

    async def _fetch_highwaters(
        self,
        leader: int,
        tps: list[TopicPartition],
        listed: dict[TopicPartition, int],
        ends: dict[TopicPartition, int],
    ) -> None:
        # tansu holds a fetch that finds no records for its whole max_wait, and answers a zero
        # max_wait with no partitions at all: ask with a short wait, longer for any left out.
        missing = list(tps)
        for wait_ms in _MAX_WAITS_MS:
            per_topic: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
            for tp in missing:
                per_topic[tp.topic].append((tp.partition, listed[tp], 0))
            request = FetchRequest(wait_ms, 0, 0, _READ_UNCOMMITTED, list(per_topic.items()))
            response = await self._client.send(leader, request)
            for topic, partitions in response.topics:
                for partition, error_code, highwater, *_ in partitions:
                    tp = TopicPartition(topic, partition)
                    if error_code:
                        raise for_code(error_code)(f"fetching the high watermark of {tp}")
                    if tp in ends:
                        ends[tp] = max(ends[tp], highwater)
                        if tp in missing:
                            missing.remove(tp)
            if not missing:
                return
