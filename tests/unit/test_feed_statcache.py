"""``VideoStatsCache``: counts come from the feature store once per TTL per video, and equal what it holds."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from events.ids import new_event_id, now_us
from events.schema import ViewEnded
from projections.features import VideoStats
from serve.feed.features import stats_matrix
from serve.feed.statcache import VideoStatsCache
from serve.feed.views import ViewFeatures
from tests.feed_world import World


class CountingFeatures(ViewFeatures):
    """The real view-backed port, counting the ids it is asked for."""

    asked: list[str]

    async def video_stats(self, video_ids: Sequence[str]) -> list[VideoStats | None]:
        self.asked = [*getattr(self, "asked", []), *video_ids]
        return await super().video_stats(video_ids)


def _watch(w: World, vid: str, user: str = "u1") -> None:
    w.apply([ViewEnded(event_id=new_event_id(), ts=now_us(), user_id=user, video_id=vid, watch_ms=9_000,
                       duration_ms=10_000, loops=0)])


@pytest.mark.asyncio
async def test_counts_are_read_once_per_ttl_and_match_the_store() -> None:
    w = World(per_topic=5)
    cat = w.catalogue
    for vid in cat.video_ids[:4]:
        _watch(w, vid)
    port = CountingFeatures(w.features)
    t = [100.0]
    cache = VideoStatsCache(port, ttl_s=1.0, clock=lambda: t[0])
    labels = np.array([0, 1, 2, 3, 7, 2], dtype=np.int64)
    want = stats_matrix(await ViewFeatures(w.features).video_stats([cat.video_ids[i] for i in labels.tolist()]))
    got = await cache.matrix(cat, labels)
    np.testing.assert_array_equal(got, want)
    assert got[0, 0] == 1  # one view counted
    assert sorted(port.asked) == sorted({cat.video_ids[i] for i in labels.tolist()})  # each id once

    _watch(w, cat.video_ids[0])  # the store moves on ...
    t[0] += 0.5
    port.asked = []
    again = await cache.matrix(cat, labels[:2])
    assert port.asked == [] and again[0, 0] == 1  # ... the cache answers within its TTL
    t[0] += 0.6
    fresh = await cache.matrix(cat, labels[:2])
    assert sorted(port.asked) == sorted(cat.video_ids[i] for i in (0, 1)) and fresh[0, 0] == 2
    assert cache.reads == 7 and cache.hits == 3


@pytest.mark.asyncio
async def test_ttl_zero_reads_every_time_and_the_cache_grows_with_the_catalogue() -> None:
    w = World(per_topic=2)
    port = CountingFeatures(w.features)
    cache = VideoStatsCache(port, ttl_s=0.0)
    last = np.array([len(w.catalogue) - 1], dtype=np.int64)
    await cache.matrix(w.catalogue, last)
    await cache.matrix(w.catalogue, last)
    assert len(port.asked) == 2
    assert (await cache.matrix(w.catalogue, np.zeros(0, dtype=np.int64))).shape == (0, 8)
