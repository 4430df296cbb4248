"""Trending, analytics, notifications and features through the real runner and stores: the stored view
equals the pure fold of the log, with small batches (lazy second-level reads, cache reuse across
batches) and a restart halfway, on SQLite and Redis; the typed queries read the same through a store."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from events import Event, VideoPublished, ViewEnded, open_log, partition_for, partition_key
from projections import analytics, features, notifications, trending
from projections.base import fold_all
from projections.registry import get_projection
from projections.runner import ProjectionRunner
from projections.store import open_store, reader
from reelstack.world import WorldConfig, world_events

PARTITIONS = 3
NAMES = ["trending", "analytics", "notifications", "features"]


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'views.db'}"
    base: str = request.getfixturevalue("redis_url")
    import redis

    url = base.rsplit("/", 1)[0] + f"/{1 + uuid.uuid4().int % 15}"
    redis.Redis.from_url(url).flushdb()
    return url


def _events() -> list[Event]:
    cfg = WorldConfig(creators=6, videos=24, viewers=60, sessions_per_viewer=2, videos_per_session=8)
    return list(world_events(cfg))  # type: ignore[arg-type]


@pytest.mark.parametrize("name", NAMES)
async def test_stored_view_equals_the_pure_fold(tmp_path: Path, store_url: str, name: str) -> None:
    events = _events()
    log = await open_log(f"file://{tmp_path / 'log'}", partitions=PARTITIONS, group_commit_ms=0)
    projection = get_projection(name)
    try:
        half = len(events) // 2
        await log.append(events[:half])
        store = open_store(store_url)
        await ProjectionRunner(log, store, projection, batch_size=37).run_until_caught_up()
        store.close()
        await log.append(events[half:])
        store = open_store(store_url)  # restarted: resumes from the stored checkpoint
        await ProjectionRunner(log, store, projection, batch_size=53).run_until_caught_up()
        merged = sorted(events, key=lambda e: (e.ts, partition_for(partition_key(e), PARTITIONS)))
        expected = fold_all(projection, merged)
        stored = reader(store, projection)
        assert dict(stored.scan("")) == expected.data

        now = merged[-1].ts
        published = next(e for e in merged if isinstance(e, VideoPublished))
        video, creator = published.video_id, published.creator_id
        viewer = next(e.user_id for e in merged if isinstance(e, ViewEnded))
        match name:
            case "trending":
                assert trending.top(stored, "global", 10, now_us=now) == trending.top(
                    expected, "global", 10, now_us=now
                )
            case "analytics":
                assert analytics.video_daily(stored, video, 3) == analytics.video_daily(expected, video, 3)
            case "notifications":
                page = notifications.inbox(stored, creator, limit=5)
                assert page == notifications.inbox(expected, creator, limit=5)
                assert page.items
            case "features":
                ids = [e.video_id for e in merged[-20:] if hasattr(e, "video_id")]
                assert features.video_features_many(stored, ids) == features.video_features_many(
                    expected, ids
                )
                assert features.user_features(stored, viewer) == features.user_features(expected, viewer)
        store.close()
    finally:
        await log.close()
