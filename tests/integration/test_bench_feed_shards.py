"""``reel bench feed --states shards``: the bench world's users in real shard actors over a log."""

from __future__ import annotations

from typing import Any

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
