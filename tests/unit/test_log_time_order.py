"""``events.log.read_in_time_order``: every partition's events merged by ``ts`` (offline jobs read logs this way)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from events.ids import new_event_id
from events.log import open_log, read_in_time_order
from events.schema import ViewEnded


def test_reads_every_partition_merged_in_time_order(tmp_path: Path) -> None:
    url = f"file://{tmp_path / 'log'}"
    rng = random.Random(3)
    stamps = rng.sample(range(1_000_000, 2_000_000), 200)  # shuffled times across users / partitions
    events = [ViewEnded(event_id=new_event_id(), ts=ts, user_id=f"u{i % 13}", video_id=f"v{i}", watch_ms=10,
                        duration_ms=1000) for i, ts in enumerate(stamps)]

    async def main() -> list[object]:
        log = await open_log(url, partitions=4)
        await log.append(events)
        await log.close()
        return list(await read_in_time_order(url, readonly=True))

    got = asyncio.run(main())
    assert got == sorted(events, key=lambda e: e.ts)
