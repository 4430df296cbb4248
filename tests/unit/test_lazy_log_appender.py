"""``LazyLogAppender``: appends that arrive together before the log is open share one open."""

from __future__ import annotations

import asyncio
from pathlib import Path

from events import UserRegistered, new_event_id, now_us
from pipeline.logwriter import LazyLogAppender
from tests.logged import logged_user_ids


async def test_appends_that_arrive_together_open_the_log_once(tmp_path: Path) -> None:
    url = f"file://{tmp_path / 'log'}"
    appender = LazyLogAppender(url, partitions=2)
    try:  # a second open in this process would find the file log's writer lock taken
        await asyncio.gather(*(appender.append([UserRegistered(event_id=new_event_id(), ts=now_us(),
                                                                user_id=f"u{i}")]) for i in range(8)))
    finally:
        await appender.close()
    assert sorted(await logged_user_ids(url)) == sorted(f"u{i}" for i in range(8))
