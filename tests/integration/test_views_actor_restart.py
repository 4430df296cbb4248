"""``ViewsActor``: an actor Ray restarts after a crash folds the log again without anyone calling start."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

from events import UserRegistered, new_event_id, now_us, open_log
from projections.store import open_store
from reelstack.views_actor import ViewsActor

from .restarts import until_restarted


async def test_a_views_actor_restarted_by_ray_catches_up_and_keeps_folding(ray_session: Any, tmp_path: Path) -> None:
    url = f"file://{tmp_path / 'log'}"
    store_url = f"sqlite:///{tmp_path / 'views.db'}"
    log = await open_log(url, partitions=2)
    users = [0]

    async def register(k: int) -> None:
        await log.append([UserRegistered(event_id=new_event_id(), ts=now_us(), user_id=f"u{users[0] + i}")
                          for i in range(k)])
        users[0] += k

    def consumed(view: str) -> int:
        store = open_store(store_url)
        try:
            cp = store.checkpoint(view)
            return cp.events if cp is not None else 0
        finally:
            store.close()

    async def until_consumed(view: str, n: int, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while (got := consumed(view)) < n:
            assert time.monotonic() < deadline, f"{view} consumed {got} of {n} records"
            await asyncio.sleep(0.1)

    await register(5)
    actor = ViewsActor.options(name=f"views-restart-{uuid.uuid4().hex[:8]}").remote(  # type: ignore[attr-defined]
        url, 2, store_url, idle_sleep_s=0.02)
    try:
        view = (await actor.start.remote())[0]
        await until_consumed(view, 5)
        pid = (await actor.status.remote())["pid"]
        ray_session.kill(actor, no_restart=False)  # as a crash: Ray starts a new one from the same arguments
        await until_restarted(ray_session, actor, pid, what="the views actor")
        await register(3)
        await until_consumed(view, 8)  # nobody called start on the new actor
        assert "start" not in (await actor.status.remote())["errors"]
    finally:
        await actor.stop.remote()
        ray_session.kill(actor)
        await log.close()
