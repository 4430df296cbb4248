"""File log against a model: random batches, segment sizes, reopens and reads agree with a plain list."""

from __future__ import annotations

import asyncio
import os
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import Commented, ViewEnded, new_event_id, now_us
from events.errors import OffsetOutOfRangeError
from events.filelog import LogWriteError, open_file_log
from events.schema import Event


def make(user: int, n: int, long: bool) -> Event:
    if long:  # payloads from ~100 bytes to ~2 KB, so frames straddle chunk and segment edges
        return Commented(event_id=new_event_id(), ts=now_us(), user_id=f"u{user}", video_id="v",
                         comment_id=f"c{n}", text="x" * (50 + n % 1900))
    return ViewEnded(event_id=new_event_id(), ts=now_us(), user_id=f"u{user}", video_id=f"v{n}",
                     watch_ms=n, duration_ms=1 + n)


batches = st.lists(st.lists(st.tuples(st.integers(0, 5), st.booleans()), min_size=1, max_size=40),
                   min_size=1, max_size=8)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=batches, segment_bytes=st.integers(300, 6000), reopen_every=st.integers(1, 4),
       reads=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 400), st.integers(1, 300)), max_size=12))
def test_reads_agree_with_a_model(
    batches: list[list[tuple[int, bool]]], segment_bytes: int, reopen_every: int,
    reads: list[tuple[int, int, int]],
) -> None:
    async def run(directory: str) -> None:
        url = f"file://{directory}"
        model: dict[int, list[Event]] = {p: [] for p in range(3)}
        log = await open_file_log(url, partitions=3, segment_bytes=segment_bytes, group_commit_ms=0)
        n = 0
        for i, batch in enumerate(batches):
            events = []
            for user, long in batch:
                events.append(make(user, n, long))
                n += 1
            for event, pos in zip(events, await log.append(events), strict=True):
                assert pos.offset == len(model[pos.partition])
                model[pos.partition].append(event)
            if (i + 1) % reopen_every == 0:
                await log.close()
                log = await open_file_log(url, segment_bytes=segment_bytes, group_commit_ms=0)
        for p, offset, limit in reads:
            if offset > len(model[p]):
                with pytest.raises(OffsetOutOfRangeError):
                    await log.read(p, offset, limit)
                continue
            got = await log.read(p, offset, limit)
            assert [r.event for r in got] == model[p][offset : offset + limit]
            assert [r.offset for r in got] == list(range(offset, offset + len(got)))
        for info in await log.partition_info():
            assert (info.start, info.end) == (0, len(model[info.partition]))
        assert all(r.first_bad is None for r in await log.verify())
        await log.close()

    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(run(directory))


async def test_a_failed_fsync_fails_the_appends_and_reopening_recovers(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"file://{tmp_path}"
    log = await open_file_log(url, partitions=1)
    await log.append([make(1, 1, False)])

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fdatasync", full_disk)
    with pytest.raises(LogWriteError) as err:
        await log.append([make(1, 2, False)])
    assert "No space left" in err.value.detail
    monkeypatch.undo()
    with pytest.raises(LogWriteError):  # refuses further appends until reopened
        await log.append([make(1, 3, False)])
    assert (await log.partition_info())[0].end == 1, "the unacknowledged record is not visible"
    await log.close()
    log = await open_file_log(url)
    pos = await log.append([make(1, 4, False)])
    got = await log.read(0, 0, 10)
    assert [r.offset for r in got] == list(range(pos[0].offset + 1))
    await log.close()
