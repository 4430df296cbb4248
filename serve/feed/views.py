"""``Trending`` and ``Features`` over the projections' view stores (SQLite, Redis or memory).

Trending lists move on the scale of minutes, so ``ViewTrending`` keeps each scope's list for
``ttl_s`` (one store read per scope per second per replica, not per request).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from events.ids import now_us
from projections import features as fs
from projections import trending as tr
from projections.base import QueryReader
from projections.common import esc

__all__ = ["ViewFeatures", "ViewTrending"]


class ViewTrending:
    def __init__(self, reader: QueryReader, *, ttl_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.reader = reader
        self.ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[tuple[str, int], tuple[float, list[tuple[str, float]]]] = {}

    async def top(self, scope: str, k: int) -> list[tuple[str, float]]:
        key = (scope, k)
        hit = self._cache.get(key)
        t = self._clock()
        if hit is not None and t - hit[0] < self.ttl_s:
            return hit[1]
        items = [(i.video_id, i.score) for i in tr.top(self.reader, scope, k, now_us=now_us())]
        self._cache[key] = (t, items)
        return items


class ViewFeatures:
    def __init__(self, reader: QueryReader, config: fs.FeatureConfig = fs.DEFAULT_CONFIG) -> None:
        self.reader = reader
        self.config = config

    async def user(self, user_id: str) -> fs.UserFeatures:
        return fs.user_features(self.reader, user_id, now_us=now_us(), k=20, config=self.config)

    async def video_stats(self, video_ids: Sequence[str]) -> list[fs.VideoStats | None]:
        keys = ["v:" + esc(v) for v in video_ids]  # the features view's documented key layout
        get_many = getattr(self.reader, "get_many", None)
        if get_many is not None:
            found = get_many(keys)
            return [found.get(k) for k in keys]
        return [self.reader.get(k) for k in keys]
