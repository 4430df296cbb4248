"""``LogFollower``: callers that catch up at the same time fold every record once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from events import UserRegistered, new_event_id, now_us, open_log
from moderation.references import LogFollower


async def test_concurrent_catch_ups_fold_each_record_once(tmp_path: Path) -> None:
    log = await open_log(f"file://{tmp_path / 'log'}", partitions=2)
    try:
        await log.append([UserRegistered(event_id=new_event_id(), ts=now_us(), user_id=f"u{i}") for i in range(50)])
        follower = LogFollower(log)
        counts = await asyncio.gather(*(follower.catch_up(batch=7) for _ in range(4)))
        assert sum(counts) == 50
        assert follower.refs.events == 50
        await log.append([UserRegistered(event_id=new_event_id(), ts=now_us(), user_id="late")])
        assert await follower.catch_up() == 1 and follower.refs.events == 51
    finally:
        await log.close()
