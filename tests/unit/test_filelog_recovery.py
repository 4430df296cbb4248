"""File log recovery: a torn tail is truncated on open; damage in the middle is reported, never skipped."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest

from events import CorruptRecordError, ViewEnded, new_event_id, now_us
from events.filelog import FileLog, open_file_log
from events.filelog.segment import HEADER, HEADER_SIZE


def view(user: str, n: int) -> ViewEnded:
    return ViewEnded(event_id=new_event_id(), ts=now_us(), user_id=user, video_id=f"video-{n}",
                     watch_ms=n, duration_ms=15_000)


def segments(directory: Path, partition: int = 0) -> list[Path]:
    return sorted((directory / f"p{partition:03d}").glob("*.log"))


def frame_ends(data: bytes) -> list[int]:
    """File positions just after each frame."""
    ends, p = [], 0
    while p < len(data):
        p += HEADER_SIZE + HEADER.unpack_from(data, p)[0]
        ends.append(p)
    return ends


async def write_log(directory: Path, n: int, **options: object) -> list[ViewEnded]:
    log = await open_file_log(f"file://{directory}", partitions=1, **options)  # type: ignore[arg-type]
    events = [view("u1", i) for i in range(n)]
    for i in range(0, n, 7):  # several flushes
        await log.append(events[i : i + 7])
    await log.close()
    return events


async def read_everything(log: FileLog, partition: int = 0) -> list[int]:
    info = (await log.partition_info())[partition]
    got = await log.read(partition, info.start, 100_000)
    return [r.offset for r in got]


async def crashed_copy(directory: Path, n: int) -> list[ViewEnded]:
    """A log whose writer closed cleanly after ``n // 2`` records, then appended the rest and
    "crashed": the copy is taken while it is still open, so its active segment's index file
    covers only the first half (as after a real crash)."""
    live = directory.with_name(directory.name + "-live")
    events = await write_log(live, n // 2)
    log = await open_file_log(f"file://{live}")
    more = [view("u1", i) for i in range(n // 2, n)]
    await log.append(more)
    shutil.copytree(live, directory)
    await log.close()
    return events + more


async def test_torn_tail_is_truncated_at_every_cut_point(tmp_path: Path) -> None:
    pristine = tmp_path / "pristine"
    events = await crashed_copy(pristine, 12)
    data = segments(pristine)[0].read_bytes()
    ends = frame_ends(data)
    assert len(ends) == 12 and ends[-1] == len(data)
    rng = random.Random(7)
    header_cuts = range(ends[-2] + 1, ends[-2] + HEADER_SIZE + 2)  # every byte of the last header
    tail_cuts = {rng.randrange(ends[-3] + 1, len(data)) for _ in range(20)}  # the last two frames
    anywhere = {rng.randrange(1, len(data)) for _ in range(15)}  # also below the indexed prefix
    cuts = sorted({*header_cuts, *tail_cuts, *anywhere, 1, 5, HEADER_SIZE, len(data) - 1})
    for cut in cuts:
        work = tmp_path / f"cut{cut}"
        shutil.copytree(pristine, work)
        seg = segments(work)[0]
        os.truncate(seg, cut)
        complete = sum(1 for e in ends if e <= cut)
        log = await open_file_log(f"file://{work}", group_commit_ms=0)
        assert await read_everything(log) == list(range(complete)), cut
        assert seg.stat().st_size == (ends[complete - 1] if complete else 0), cut
        pos = await log.append([view("u1", 99)])
        assert pos[0].offset == complete
        got = await log.read(0, 0, 100)
        assert [r.event for r in got] == [*events[:complete], got[-1].event]
        await log.close()
        shutil.rmtree(work)


async def test_crc_mismatch_in_the_last_record_is_a_torn_tail(tmp_path: Path) -> None:
    await crashed_copy(tmp_path / "log", 10)
    seg = segments(tmp_path / "log")[0]
    data = bytearray(seg.read_bytes())
    data[-3] ^= 0x40
    seg.write_bytes(bytes(data))
    log = await open_file_log(f"file://{tmp_path / 'log'}")
    assert await read_everything(log) == list(range(9))
    assert seg.stat().st_size == frame_ends(bytes(data))[-2], "the torn record is truncated away"
    await log.close()


async def test_after_a_clean_close_a_bad_last_record_is_damage_not_a_torn_write(tmp_path: Path) -> None:
    await write_log(tmp_path, 10)  # closed cleanly: the index proves all 10 were complete
    seg = segments(tmp_path)[0]
    data = bytearray(seg.read_bytes())
    data[-3] ^= 0x40
    seg.write_bytes(bytes(data))
    log = await open_file_log(f"file://{tmp_path}")
    assert seg.stat().st_size == len(data), "an acknowledged record is never truncated away"
    assert (await log.partition_info())[0].end == 10
    assert await read_everything(log) == list(range(9))
    with pytest.raises(CorruptRecordError) as err:
        await log.read(0, 9, 10)
    assert err.value.offset == 9
    await log.close()


async def test_zero_filled_tail_is_truncated(tmp_path: Path) -> None:
    await write_log(tmp_path, 10)
    seg = segments(tmp_path)[0]
    size = seg.stat().st_size
    with seg.open("ab") as f:
        f.write(bytes(4096))
    log = await open_file_log(f"file://{tmp_path}")
    assert await read_everything(log) == list(range(10))
    assert seg.stat().st_size == size
    await log.close()


@pytest.mark.parametrize("indexed", [True, False], ids=["index-file", "scanned"])
@pytest.mark.parametrize("where", ["payload", "crc", "offset", "length"])
async def test_damage_mid_segment_stops_reads_with_partition_and_offset(
    tmp_path: Path, where: str, indexed: bool
) -> None:
    events = await write_log(tmp_path, 20)
    if not indexed:  # no index file: the open scans the segment and finds the damage itself
        for index in tmp_path.glob("p*/*.index"):
            index.unlink()
    seg = segments(tmp_path)[0]
    data = bytearray(seg.read_bytes())
    start = frame_ends(bytes(data))[6]  # frame of offset 7
    field = {"payload": HEADER_SIZE + 5, "crc": 5, "offset": 8, "length": 1}[where]
    flip = start + field
    data[flip] ^= 0x10
    seg.write_bytes(bytes(data))

    log = await open_file_log(f"file://{tmp_path}")
    assert seg.stat().st_size == len(data), "damage in the middle must never be truncated"
    info = (await log.partition_info())[0]
    assert (info.start, info.end) == (0, 20)
    got = await log.read(0, 0, 100)
    assert [r.offset for r in got] == list(range(7)), "reads stop before the damaged record"
    with pytest.raises(CorruptRecordError) as err:
        await log.read(0, 7, 100)
    assert (err.value.partition, err.value.offset) == (0, 7)
    assert err.value.path == str(seg)
    after = await log.read(0, 8, 100)
    assert [r.event for r in after] == events[8:], "records after the damage stay readable"
    pos = await log.append([view("u1", 20)])
    assert pos[0].offset == 20
    reports = await log.verify()
    assert (reports[0].first_bad, reports[0].records) == (7, 20)
    await log.close()


async def test_damage_in_a_sealed_segment_is_found_by_reads_and_verify(tmp_path: Path) -> None:
    await write_log(tmp_path, 60, segment_bytes=2000)
    first = segments(tmp_path)[0]
    data = bytearray(first.read_bytes())
    ends = frame_ends(bytes(data))
    data[ends[2] + HEADER_SIZE + 3] ^= 0x01  # payload of offset 3
    first.write_bytes(bytes(data))
    log = await open_file_log(f"file://{tmp_path}")
    assert [r.offset for r in await log.read(0, 0, 100)] == [0, 1, 2]
    with pytest.raises(CorruptRecordError) as err:
        await log.read(0, 3, 100)
    assert (err.value.partition, err.value.offset, err.value.path) == (0, 3, str(first))
    assert [r.offset for r in await log.read(0, 4, 1000)] == list(range(4, 60))
    reports = await log.verify()
    assert reports[0].first_bad == 3 and reports[0].path == str(first)
    await log.close()


async def test_consumer_poll_raises_on_damage_instead_of_skipping(tmp_path: Path) -> None:
    await write_log(tmp_path, 10)
    seg = segments(tmp_path)[0]
    data = bytearray(seg.read_bytes())
    data[frame_ends(bytes(data))[3] + HEADER_SIZE + 2] ^= 0x01  # offset 4
    seg.write_bytes(bytes(data))
    log = await open_file_log(f"file://{tmp_path}")
    consumer = log.consumer("g")
    assert [r.offset for r in await consumer.poll(timeout_s=0.1)] == [0, 1, 2, 3]
    with pytest.raises(CorruptRecordError) as err:
        await consumer.poll(timeout_s=0.1)
    assert err.value.offset == 4
    assert consumer.positions() == {0: 4}
    consumer.seek(0, 5)  # an operator's explicit decision
    assert [r.offset for r in await consumer.poll(timeout_s=0.1)] == [5, 6, 7, 8, 9]
    await log.close()


async def test_verify_reports_a_clean_log(tmp_path: Path) -> None:
    await write_log(tmp_path, 30, segment_bytes=1500)
    log = await open_file_log(f"file://{tmp_path}", readonly=True)
    seen: list[int] = []
    reports = await log.verify(progress=seen.append)
    assert [(r.partition, r.first_bad, r.records, r.end) for r in reports] == [(0, None, 30, 30)]
    assert sum(seen) == log.size_bytes()
    await log.close()


async def test_dead_letter_file_recovers_a_torn_tail(tmp_path: Path) -> None:
    from events import DeadLetter

    log = await open_file_log(f"file://{tmp_path}", partitions=1)
    letter = DeadLetter(group="g", partition=0, offset=1, event=view("u", 1), error="E", attempts=3, ts=1)
    await log.dead_letter(letter)
    await log.close()
    path = tmp_path / "_deadletter" / "letters.log"
    with path.open("ab") as f:
        f.write(b"\x05\x00\x00")  # a crash mid-frame
    log = await open_file_log(f"file://{tmp_path}", partitions=1)
    assert await log.dead_letters() == [letter]
    await log.dead_letter(letter)
    assert await log.dead_letters() == [letter, letter]
    await log.close()
