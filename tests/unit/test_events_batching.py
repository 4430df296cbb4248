"""``BatchingAppender`` over a real file log: one append per loop turn, each caller its own positions."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from events.batching import BatchingAppender
from events.errors import LogClosedError
from events.log import open_log
from events.schema import Impression


def _page(user: str, n: int, page: int) -> list[Impression]:
    return [Impression(event_id=f"{user}-{page}-{i}", ts=1_000 + i, user_id=user, video_id=f"v{i}",
                       request_id=f"{user}-{page}", position=page * n + i) for i in range(n)]


async def test_concurrent_appends_share_calls_and_keep_their_own_positions(tmp_path: Path) -> None:
    log = await open_log(f"file://{tmp_path / 'log'}", partitions=4)
    try:
        batched = BatchingAppender(log)
        pages = [_page(f"u{k % 5}", 10, k) for k in range(20)]
        positions = await asyncio.gather(*(batched.append(p) for p in pages))
        assert batched.calls < len(pages)  # pages finishing in one loop turn went out together
        by_pos = {}
        for info in await log.partition_info():
            for rec in await log.read(info.partition, 0, 10_000):
                by_pos[(rec.partition, rec.offset)] = rec.event.event_id
        for page, pos in zip(pages, positions, strict=True):
            assert [by_pos[(p.partition, p.offset)] for p in pos] == [e.event_id for e in page]
        assert len(by_pos) == 200
        assert await batched.append([]) == []
    finally:
        await log.close()


async def test_a_failed_append_fails_every_caller_in_the_batch(tmp_path: Path) -> None:
    log = await open_log(f"file://{tmp_path / 'log'}", partitions=2)
    await log.close()  # appending to a closed log is refused
    batched = BatchingAppender(log)
    got = await asyncio.gather(*(batched.append(_page("u", 2, k)) for k in range(3)), return_exceptions=True)
    assert batched.calls == 1 and all(isinstance(g, LogClosedError) for g in got)
    with pytest.raises(LogClosedError, match="closed"):
        await batched.append(_page("u", 1, 9))
