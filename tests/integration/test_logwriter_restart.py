"""``LogWriter``: after Ray restarts it, appends that arrive together all land (the log opens once)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from events import UserRegistered, new_event_id, now_us
from pipeline.logwriter import RemoteAppender, start_log_writer
from tests.logged import logged_user_ids

from .restarts import until_restarted


def _event(i: int) -> UserRegistered:
    return UserRegistered(event_id=new_event_id(), ts=now_us(), user_id=f"u{i}")


async def test_a_restarted_log_writer_takes_concurrent_appends(ray_session: Any, tmp_path: Path) -> None:
    url = f"file://{tmp_path / 'log'}"
    writer = start_log_writer(url, partitions=2)
    appender = RemoteAppender(writer)
    try:
        await writer.ready.remote()
        await appender.append([_event(0)])
        pid = (await writer.status.remote())["pid"]
        ray_session.kill(writer, no_restart=False)  # as a crash: Ray starts a new one from the same arguments
        status = await until_restarted(ray_session, writer, pid, what="the log writer")
        assert not status["open"]  # the new process has not opened the log yet
        # every appender retries at once after a restart: the first append opens the log, the rest wait
        await asyncio.gather(*(appender.append([_event(i)]) for i in range(1, 9)))
    finally:
        with contextlib.suppress(Exception):
            await writer.close.remote()
        ray_session.kill(writer)
    assert sorted(await logged_user_ids(url)) == sorted(f"u{i}" for i in range(9))
