"""File log across processes: one writer (a second gets LogLockedError); read-only followers see appends."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from events import LogLockedError, ViewEnded, new_event_id, now_us
from events.filelog import open_file_log

ROOT = Path(__file__).resolve().parents[2]

TRY_OPEN = """
import asyncio, sys
from events.errors import LogLockedError
from events.filelog import open_file_log

async def main():
    try:
        log = await open_file_log(sys.argv[1])
    except LogLockedError as exc:
        print(exc.holder)
        sys.exit(3)
    await log.close()

asyncio.run(main())
"""

WRITER = """
import asyncio, sys, time
from events import ViewEnded, new_event_id, now_us
from events.filelog import open_file_log

async def main():
    log = await open_file_log(sys.argv[1], partitions=2, segment_bytes=1500)
    for b in range(6):
        await log.append([ViewEnded(event_id=f"e{b}-{i}", ts=now_us(), user_id=f"u{i % 3}",
                                    video_id="v", watch_ms=1, duration_ms=2) for i in range(10)])
        await asyncio.sleep(0.15)
    await log.close()

asyncio.run(main())
"""


def run_python(code: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def view(user: str, n: int) -> ViewEnded:
    return ViewEnded(event_id=new_event_id(), ts=now_us(), user_id=user, video_id=f"v{n}",
                     watch_ms=n, duration_ms=15_000)


async def test_a_second_writer_process_gets_log_locked_error(tmp_path: Path) -> None:
    url = f"file://{tmp_path}"
    log = await open_file_log(url, partitions=2)
    child = run_python(TRY_OPEN, url)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 3, err
    assert f"pid {os.getpid()}" in out
    with pytest.raises(LogLockedError):  # a second open in the same process conflicts too
        await open_file_log(url)
    await log.close()
    child = run_python(TRY_OPEN, url)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 0, err


async def test_the_lock_dies_with_its_holder(tmp_path: Path) -> None:
    url = f"file://{tmp_path}"
    holder = run_python("import asyncio, sys, time\nfrom events.filelog import open_file_log\n"
                        "log = asyncio.run(open_file_log(sys.argv[1]))\nprint('open', flush=True)\n"
                        "time.sleep(60)\n", url)
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "open"
    with pytest.raises(LogLockedError):
        await open_file_log(url)
    holder.kill()
    holder.wait(timeout=30)
    log = await open_file_log(url)
    await log.close()


async def test_a_readonly_follower_sees_a_writer_process_append(tmp_path: Path) -> None:
    url = f"file://{tmp_path}"
    writer = run_python(WRITER, url)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while not (tmp_path / "meta.json").exists():
        assert writer.poll() is None or writer.returncode == 0, writer.communicate()[1]
        assert loop.time() < deadline, "the writer never created the log"
        await asyncio.sleep(0.02)
    reader = await open_file_log(url, readonly=True)
    assert reader.partitions == 2
    consumer = reader.consumer("follower")
    seen: list[str] = []
    while len(seen) < 60 and loop.time() < deadline:
        seen.extend(r.event.event_id for r in await consumer.poll(timeout_s=0.5))
    assert writer.wait(timeout=30) == 0, writer.communicate()[1]
    assert sorted(seen) == sorted(f"e{b}-{i}" for b in range(6) for i in range(10))
    infos = await reader.partition_info()
    assert sum(i.end for i in infos) == 60
    for info in infos:  # reads across the segments the writer rolled while we followed
        got = await reader.read(info.partition, 0, 1000)
        assert [r.offset for r in got] == list(range(info.end))
    assert len(list((tmp_path / "p000").glob("*.log"))) > 1
    await reader.close()


async def test_a_readonly_follower_in_process_sees_new_segments_and_retention(tmp_path: Path) -> None:
    url = f"file://{tmp_path}"
    writer = await open_file_log(url, partitions=1, segment_bytes=1000, retention_bytes=2500)
    await writer.append([view("u", 0)])
    reader = await open_file_log(url, readonly=True)
    assert (await reader.partition_info())[0].end == 1
    for i in range(1, 80):
        await writer.append([view("u", i)])
    info = (await reader.partition_info())[0]
    assert info.end == 80 and info.start > 0
    assert info == (await writer.partition_info())[0]
    got = await reader.read(0, info.start, 1000)
    assert [r.offset for r in got] == list(range(info.start, 80))
    await reader.close()
    await writer.close()
