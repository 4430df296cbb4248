"""File log segments: rolling, reads across segments, retention, the partition count, group commit."""

from __future__ import annotations

import asyncio
import os
import random
from pathlib import Path

import pytest

from events import ViewEnded, new_event_id, now_us
from events.errors import OffsetOutOfRangeError, PartitionCountMismatchError
from events.filelog import LogNotFoundError, LogReadOnlyError, open_file_log


def view(user: str, n: int) -> ViewEnded:
    return ViewEnded(event_id=new_event_id(), ts=now_us(), user_id=user, video_id=f"video-{n}",
                     watch_ms=n, duration_ms=15_000)


def segment_files(directory: Path, partition: int = 0) -> list[Path]:
    return sorted((directory / f"p{partition:03d}").glob("*.log"))


async def test_segments_roll_at_segment_bytes_and_are_named_by_base_offset(tmp_path: Path) -> None:
    log = await open_file_log(f"file://{tmp_path}", partitions=1, segment_bytes=2000)
    events = [view("u", i) for i in range(100)]
    for i in range(0, 100, 9):
        await log.append(events[i : i + 9])
    files = segment_files(tmp_path)
    assert len(files) > 3
    bases = [int(f.stem) for f in files]
    assert bases[0] == 0 and bases == sorted(bases)
    assert all(f.stat().st_size <= 2000 for f in files)
    for start in [0, *bases, bases[1] - 1, bases[-1] + 1, 99]:
        got = await log.read(0, start, 1000)
        assert [r.event for r in got] == events[start:]
    await log.close()

    log = await open_file_log(f"file://{tmp_path}", segment_bytes=2000)  # the index is rebuilt
    for start in (0, 37, 99):
        assert [r.event for r in await log.read(0, start, 1000)] == events[start:]
    assert (await log.append([view("u", 100)]))[0].offset == 100
    await log.close()


async def test_retention_deletes_whole_old_segments_but_never_the_active_one(tmp_path: Path) -> None:
    log = await open_file_log(f"file://{tmp_path}", partitions=1, segment_bytes=1500, retention_bytes=4000)
    events = [view("u", i) for i in range(200)]
    for i in range(0, 200, 10):
        await log.append(events[i : i + 10])
    info = (await log.partition_info())[0]
    files = segment_files(tmp_path)
    assert info.start == int(files[0].stem) > 0
    assert info.end == 200
    assert sum(f.stat().st_size for f in files) <= 4000
    with pytest.raises(OffsetOutOfRangeError) as err:
        await log.read(0, info.start - 1, 10)
    assert (err.value.start, err.value.end) == (info.start, 200)
    assert [r.event for r in await log.read(0, info.start, 1000)] == events[info.start :]
    consumer = log.consumer("late-group")
    assert consumer.positions() == {0: info.start}
    await log.close()

    tiny = tmp_path / "tiny"
    log = await open_file_log(f"file://{tiny}", partitions=1, segment_bytes=500, retention_bytes=0)
    for i in range(30):
        await log.append([view("u", i)])
    files = segment_files(tiny)
    assert len(files) == 1, "only the active segment survives a zero retention"
    info = (await log.partition_info())[0]
    assert info.start == int(files[0].stem) and info.end == 30
    await log.close()


async def test_a_consumer_overtaken_by_retention_moves_to_the_earliest_offset(tmp_path: Path) -> None:
    log = await open_file_log(f"file://{tmp_path}", partitions=1, segment_bytes=1000, retention_bytes=2500)
    consumer = log.consumer("slow")
    assert consumer.positions() == {0: 0}
    for i in range(0, 120, 6):
        await log.append([view("u", i + k) for k in range(6)])
    start = (await log.partition_info())[0].start
    assert start > 0
    got = await consumer.poll(max_records=1000, timeout_s=0.1)
    assert got[0].offset == start and got[-1].offset == 119
    await log.close()


async def test_reopening_with_another_partition_count_is_an_error(tmp_path: Path) -> None:
    url = f"file://{tmp_path}"
    log = await open_file_log(url, partitions=4)
    await log.close()
    with pytest.raises(PartitionCountMismatchError) as err:
        await open_file_log(url, partitions=8)
    assert (err.value.existing, err.value.requested) == (4, 8)
    log = await open_file_log(url)  # no count: whatever the log has
    assert log.partitions == 4
    await log.close()
    log = await open_file_log(url, partitions=4)
    await log.close()


async def test_readonly_open_needs_an_existing_log_and_refuses_appends(tmp_path: Path) -> None:
    with pytest.raises(LogNotFoundError):
        await open_file_log(f"file://{tmp_path / 'nothing'}", readonly=True)
    assert not (tmp_path / "nothing").exists()
    writer = await open_file_log(f"file://{tmp_path}", partitions=2)
    reader = await open_file_log(f"file://{tmp_path}", readonly=True)
    with pytest.raises(LogReadOnlyError):
        await reader.append([view("u", 1)])
    await reader.close()
    await writer.close()


async def test_concurrent_appends_share_fsyncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = await open_file_log(f"file://{tmp_path}", partitions=2)
    syncs = 0
    real = os.fdatasync

    def counting(fd: int) -> None:
        nonlocal syncs
        syncs += 1
        real(fd)

    monkeypatch.setattr(os, "fdatasync", counting)
    await asyncio.gather(*(log.append([view(f"u{i}", i)]) for i in range(200)))
    assert 0 < syncs <= 20, f"200 concurrent appends took {syncs} fsyncs"
    assert sum(i.end for i in await log.partition_info()) == 200
    await log.close()


async def test_an_empty_segment_left_by_a_killed_roll_becomes_the_active_one(tmp_path: Path) -> None:
    log = await open_file_log(f"file://{tmp_path}", partitions=1, segment_bytes=1500)
    events = [view("u", i) for i in range(40)]
    await log.append(events)
    await log.close()
    (tmp_path / "p000" / f"{40:020d}.log").touch()  # created by a roll, killed before its write
    log = await open_file_log(f"file://{tmp_path}", segment_bytes=1500)
    assert (await log.partition_info())[0].end == 40
    more = [view("u", 40 + i) for i in range(3)]
    assert [p.offset for p in await log.append(more)] == [40, 41, 42]
    assert [r.event for r in await log.read(0, 0, 100)] == events + more
    assert (tmp_path / "p000" / f"{40:020d}.log").stat().st_size > 0
    assert all(r.first_bad is None for r in await log.verify())
    await log.close()


async def test_segments_get_index_files_and_damaged_ones_are_ignored(tmp_path: Path) -> None:
    log = await open_file_log(f"file://{tmp_path}", partitions=1, segment_bytes=1500)
    events = [view("u", i) for i in range(80)]
    for i in range(0, 80, 8):
        await log.append(events[i : i + 8])
    await log.close()
    part = tmp_path / "p000"
    sealed = segment_files(tmp_path)[:-1]
    # every sealed segment, and the active one since the log was closed cleanly
    assert sorted(p.stem for p in part.glob("*.index")) == [p.stem for p in segment_files(tmp_path)]
    (part / f"{sealed[0].stem}.index").write_bytes(b"garbage")  # damaged: ignored, rescanned
    (part / f"{sealed[1].stem}.index").unlink()  # missing: rescanned and rewritten by the writer
    log = await open_file_log(f"file://{tmp_path}", segment_bytes=1500)
    for start in (0, 1, 31, 79):
        assert [r.event for r in await log.read(0, start, 1000)] == events[start:]
    assert (part / f"{sealed[1].stem}.index").exists()
    await log.close()
    reader = await open_file_log(f"file://{tmp_path}", readonly=True)  # a follower uses them too
    assert [r.event for r in await reader.read(0, 0, 1000)] == events
    await reader.close()


async def test_reads_and_polls_during_appends_see_consistent_records(tmp_path: Path) -> None:
    log = await open_file_log(f"file://{tmp_path}", partitions=2, segment_bytes=3000, group_commit_ms=0.5)
    seen: dict[tuple[int, int], str] = {}
    stop = asyncio.Event()

    async def appender(t: int) -> None:
        for b in range(15):
            await log.append([view(f"u{(t + i) % 5}", t * 100 + b * 5 + i) for i in range(5)])

    async def reader() -> None:
        rng = random.Random(3)
        while not stop.is_set():
            for info in await log.partition_info():
                if info.end:
                    start = rng.randrange(info.end)
                    for r in await log.read(info.partition, start, 50):
                        seen.setdefault((r.partition, r.offset), r.event.event_id)
            await asyncio.sleep(0)

    async def poller() -> None:
        consumer = log.consumer("live")
        while not stop.is_set():
            for r in await consumer.poll(timeout_s=0.05):
                seen.setdefault((r.partition, r.offset), r.event.event_id)

    readers = [asyncio.create_task(reader()), asyncio.create_task(poller())]
    await asyncio.gather(*(appender(t) for t in range(6)))
    stop.set()
    await asyncio.gather(*readers)
    final = {(r.partition, r.offset): r.event.event_id
             for p in range(2) for r in await log.read(p, 0, 10_000)}
    assert len(final) == 6 * 15 * 5
    assert len(seen) > 50
    assert all(final[key] == event_id for key, event_id in seen.items())
    await log.close()
