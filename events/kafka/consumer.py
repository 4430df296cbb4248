"""A consumer-group member of the Kafka log: manual partition assignment, manual offset commits.

Partitions are assigned explicitly (user shard ``i`` reads partition ``i``), so there is no group
rebalancing; the group id is where progress is committed (Kafka's ``OffsetCommit``/``OffsetFetch``).
A group that has committed nothing starts at each partition's earliest retained offset.

The consumer connects on its first ``poll``/``commit``; until then ``positions()`` holds only the
offsets given to ``seek`` (it cannot ask the broker from a synchronous call). While the broker is
unreachable ``poll`` returns no records after its timeout (aiokafka keeps reconnecting) and
``commit`` raises ``BrokerUnavailableError``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from ..errors import CorruptRecordError, LogClosedError
from ..log import Record
from .wire import decode_record, translate

if TYPE_CHECKING:
    from .log import KafkaLog

__all__ = ["KafkaConsumer", "stop_quietly"]


async def stop_quietly(closing: Awaitable[object], timeout_s: float) -> None:
    """Await a client's stop/close for at most ``timeout_s``, swallowing its failures.

    With the broker gone, aiokafka's stop() can hang or leak a ``CancelledError`` from its own
    cancelled fetch tasks; neither may escape a ``close()``. A cancellation of the caller itself
    still propagates.
    """
    try:
        await asyncio.wait_for(closing, timeout_s)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
    except Exception:
        pass


class KafkaConsumer:
    """``events.log.Consumer`` over aiokafka; started lazily by the first async call."""

    def __init__(self, log: KafkaLog, group: str, partitions: Sequence[int] | None) -> None:
        if not group:
            raise ValueError("a consumer group name must not be empty")
        parts = sorted(set(range(log.partitions) if partitions is None else partitions))
        bad = [p for p in parts if not 0 <= p < log.partitions]
        if bad:
            raise ValueError(
                f"partitions {bad} do not exist; the log has {log.partitions} (0..{log.partitions - 1})"
            )
        self.group = group
        self._log = log
        self._tps = {p: TopicPartition(log.topic, p) for p in parts}
        self._client: AIOKafkaConsumer | None = None
        self._pos: dict[int, int] = {}  # next offset to hand out, per partition
        self._explicit: dict[int, int] = {}  # seeks made before the first poll
        self._to_beginning = False
        self._closed = False
        self._starting: asyncio.Lock | None = None  # made on first use, on the loop that consumes

    # -- lifecycle ---------------------------------------------------------------------------

    async def _client_ready(self) -> AIOKafkaConsumer:
        if self._closed:
            raise LogClosedError(url=self._log.url)
        if self._client is not None:
            return self._client
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:  # a poll and a commit at once start one client (and apply the seeks once)
            if self._client is None:
                client = await self._start_client()
                if self._closed:  # closed while it started
                    await stop_quietly(client.stop(), self._log.timeout_s)
                    raise LogClosedError(url=self._log.url)
                self._client = client
        return self._client

    async def _start_client(self) -> AIOKafkaConsumer:
        client = AIOKafkaConsumer(
            bootstrap_servers=self._log.bootstrap,
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=100,
            client_id=f"reel-consumer-{self.group}",
        )
        try:
            await client.start()
            client.assign(list(self._tps.values()))
            committed = await self._log.committed(self.group)
            starts = await client.beginning_offsets(list(self._tps.values()))
        except Exception as exc:
            await client.stop()
            raise translate(exc, bootstrap=self._log.bootstrap, doing="starting a consumer") from exc
        for p, tp in self._tps.items():
            if p in self._explicit:
                pos = self._explicit[p]
            elif self._to_beginning or p not in committed:
                pos = starts[tp]
            else:
                pos = committed[p]
            self._pos[p] = pos
            client.seek(tp, pos)
        self._to_beginning = False
        self._explicit.clear()
        return client

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._log.forget(self)
        client, self._client = self._client, None
        if client is not None:
            await stop_quietly(client.stop(), self._log.timeout_s)

    # -- the Consumer protocol ---------------------------------------------------------------

    async def poll(self, max_records: int = 1000, timeout_s: float = 1.0) -> list[Record]:
        client = await self._client_ready()
        if self._to_beginning:
            await self._resolve_beginning(client)
        try:
            batches = await client.getmany(
                *self._tps.values(), timeout_ms=int(timeout_s * 1000), max_records=max_records
            )
        except Exception as exc:
            raise translate(exc, bootstrap=self._log.bootstrap, doing="polling") from exc
        out: list[Record] = []
        advanced: dict[int, int] = {}
        for tp in sorted(batches, key=lambda t: t.partition):
            for msg in batches[tp]:
                try:
                    event = decode_record(tp.partition, msg.offset, msg.value)
                except CorruptRecordError:
                    # Hand out nothing from this poll and stay in front of the damage everywhere.
                    for p, t in self._tps.items():
                        client.seek(t, self._pos[p])
                    raise
                out.append(Record(partition=tp.partition, offset=msg.offset, event=event))
                advanced[tp.partition] = msg.offset + 1
        self._pos.update(advanced)
        return out

    def seek(self, partition: int, offset: int) -> None:
        if partition not in self._tps:
            raise ValueError(f"partition {partition} is not assigned to this consumer ({sorted(self._tps)})")
        if offset < 0:
            raise ValueError(f"offset must be >= 0, not {offset}")
        self._pos[partition] = offset
        if self._client is None:
            self._explicit[partition] = offset
        else:
            self._client.seek(self._tps[partition], offset)

    def seek_to_beginning(self) -> None:
        # aiokafka resolves "beginning" with a broker round trip: done at the next poll. Until then
        # the positions show the earliest offsets last seen (exact unless retention moved them).
        self._to_beginning = True
        self._explicit.clear()
        for p in self._tps:
            self._pos[p] = self._log.cached_start(p)

    async def _resolve_beginning(self, client: AIOKafkaConsumer) -> None:
        try:
            starts = await client.beginning_offsets(list(self._tps.values()))
        except Exception as exc:
            raise translate(exc, bootstrap=self._log.bootstrap, doing="seeking to the beginning") from exc
        for p, tp in self._tps.items():
            self._pos[p] = starts[tp]
            client.seek(tp, starts[tp])
        self._to_beginning = False

    def positions(self) -> dict[int, int]:
        return dict(self._pos)

    async def commit(self, offsets: dict[int, int] | None = None) -> None:
        client = await self._client_ready()
        chosen = dict(self._pos) if offsets is None else dict(offsets)
        unknown = [p for p in chosen if p not in self._tps]
        if unknown:
            raise ValueError(f"cannot commit partitions {unknown}: not assigned to this consumer")
        if not chosen:
            return
        try:
            # aiokafka keeps retrying a commit while the coordinator is unreachable: bound it.
            await asyncio.wait_for(
                client.commit({self._tps[p]: OffsetAndMetadata(o, "") for p, o in chosen.items()}),
                self._log.timeout_s,
            )
        except Exception as exc:
            doing = f"committing group {self.group!r}"
            raise translate(exc, bootstrap=self._log.bootstrap, doing=doing) from exc
