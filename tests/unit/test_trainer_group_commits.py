"""The online trainer commits its consumer group at most once per ``commit_every_s``, and on close.

The actor's class runs here without Ray, over a file log in a temporary directory, on a fake clock.
"""

from __future__ import annotations

from pathlib import Path

from actors.trainer import OnlineTrainerActor
from events import UserRegistered, new_event_id, now_us, open_log

Trainer = OnlineTrainerActor.__ray_actor_class__  # type: ignore[attr-defined]


async def test_the_group_is_committed_once_a_second_at_most_and_the_rest_on_close(tmp_path: Path) -> None:
    url = f"file://{tmp_path / 'log'}"
    log = await open_log(url, partitions=2)
    n = [0]

    async def write(k: int) -> None:
        await log.append([UserRegistered(event_id=new_event_id(), ts=now_us(), user_id=f"u{n[0] + i}")
                          for i in range(k)])
        n[0] += k

    async def committed() -> int:
        return sum((await log.committed("trainer")).values())

    clock = [100.0]
    trainer = Trainer(url, group="trainer", log_options={"readonly": True, "partitions": None},
                      from_start=True, commit_every_s=1.0, clock=lambda: clock[0])
    try:
        await write(10)
        assert (await trainer.step(timeout_s=0.0))["records"] == 10
        assert await committed() == 10  # the first commit is due at once

        await write(10)
        clock[0] = 100.5
        assert (await trainer.step(timeout_s=0.0))["records"] == 10
        assert await committed() == 10  # consumed, but the last commit was half a second ago

        clock[0] = 101.2
        assert (await trainer.step(timeout_s=0.0))["records"] == 0
        assert await committed() == 20  # nothing new came, and the pending commit was due

        await write(5)
        clock[0] = 101.3
        await trainer.step(timeout_s=0.0)
        assert await committed() == 20
    finally:
        await trainer.close()
    assert await committed() == 25  # close commits what was consumed since
    await log.close()
