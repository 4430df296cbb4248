"""``reel bench feed --states shards``: the bench world's users in real shard actors over a log."""

from __future__ import annotations

from typing import Any

import pytest

from actors.view import UserView
from bench.feed_shards import ShardStates
from events.schema import Event, Liked, UserRegistered, VideoDetailsSubmitted, VideoPublished, ViewEnded


def _world() -> list[Event]:
    out: list[Event] = []
    for v in range(4):
        out += [VideoDetailsSubmitted(event_id=f"d{v}", ts=10 + v, video_id=f"v{v}", creator_id="c",
                                      caption="cats clip", hashtags=("cats",)),
                VideoPublished(event_id=f"p{v}", ts=20 + v, video_id=f"v{v}", creator_id="c")]
    for u in range(3):
        out += [UserRegistered(event_id=f"r{u}", ts=100 + u, user_id=f"u{u}", region="GB"),
                ViewEnded(event_id=f"w{u}", ts=200 + u, user_id=f"u{u}", video_id=f"v{u}", watch_ms=9_000,
                          duration_ms=10_000)]
    return out


async def test_states_come_from_shards_that_fold_the_log(ray_session: Any) -> None:
    states = ShardStates(partitions=4, shards=2)
    try:
        await states.start(_world())
        view: UserView = await states.get_state("u1")
        assert view.known and view.counts.views == 1 and view.region == "GB"
        before = view.version
        positions = await states.append([Liked(event_id="l1", ts=300, user_id="u1", video_id="v3")])
        assert await states.applied("u1", positions)
        after = await states.get_state("u1")
        assert after.version > before and after.counts.likes == 1
        assert (await states.get_state("u2")).counts.likes == 0
    finally:
        await states.close()
    assert not states.root.exists()


async def test_concurrent_reads_share_one_call_per_shard(ray_session: Any) -> None:
    import asyncio

    from actors.errors import ShardUnavailableError
    from actors.state_batch import BatchedStates

    states = ShardStates(partitions=4, shards=2)
    try:
        await states.start(_world())
        assert states.router is not None
        batched = BatchedStates(states.router)
        users = [f"u{i % 3}" for i in range(12)] + ["nobody"]
        views = await asyncio.gather(*(batched.get_state(u) for u in users))
        assert [v.user_id for v in views] == users
        for u, v in zip(users, views, strict=True):
            one = await states.router.get_state(u)
            assert (v.version, v.known, v.counts) == (one.version, one.known, one.counts)
        assert batched.reads == 13 and batched.calls <= 2  # one get_states per shard, not 13 calls
        # a shard that is down fails its own users' reads only
        import ray

        dead = states.router.shard_of("u0")
        ray.kill(states.handles[dead], no_restart=True)
        # ray.kill returns before the actor is gone: a read sent at once may still be answered
        with pytest.raises(ray.exceptions.RayActorError):
            for _ in range(100):
                await states.handles[dead].__ray_ready__.remote()
                await asyncio.sleep(0.05)
        others = [u for u in ("u0", "u1", "u2", "nobody") if states.router.shard_of(u) != dead]
        got = await asyncio.gather(batched.get_state("u0"), *(batched.get_state(u) for u in others),
                                   return_exceptions=True)
        assert isinstance(got[0], ShardUnavailableError)
        assert all(isinstance(v, UserView) for v in got[1:])
    finally:
        await states.close()
