"""The folds' typed queries read the same through every store as through a dict view of the same fold."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest

from events import open_log
from projections import catalog, counters, search, social
from projections.base import DictView, fold_all
from projections.registry import PROJECTION_MODULES, get_projection
from projections.runner import ProjectionRunner
from projections.store import open_store, reader
from reelstack.world import WorldConfig, world_events
from tests.integration.test_runner import merged_order

EVENTS = list(world_events(WorldConfig(creators=6, videos=20, viewers=40, sessions_per_viewer=2)))


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'views.db'}"
    base: str = request.getfixturevalue("redis_url")
    import redis

    url = base.rsplit("/", 1)[0] + f"/{1 + uuid.uuid4().int % 15}"
    redis.Redis.from_url(url).flushdb()
    return url


def test_queries_match_the_dict_view(tmp_path: Path, store_url: str) -> None:
    log_url = f"file://{tmp_path / 'log'}"
    store = open_store(store_url)
    names = list(PROJECTION_MODULES)

    async def build() -> None:
        log = await open_log(log_url, partitions=3)
        await log.append(EVENTS)  # type: ignore[arg-type]
        for name in names:
            await ProjectionRunner(log, store, get_projection(name), batch_size=300).rebuild()
        await log.close()

    asyncio.run(build())
    ordered = merged_order(EVENTS)
    dicts: dict[str, DictView] = {n: fold_all(get_projection(n), ordered) for n in names}

    # every prefix of every key, paged with limit/start_after, reads the same
    for name in names:
        stored, expected = reader(store, get_projection(name)), dicts[name]
        prefixes = sorted({k[:i] for k in expected.data for i in (0, 1, 2, 3, len(k) // 2)})
        for prefix in prefixes[:200]:
            assert stored.scan(prefix) == expected.scan(prefix), (name, prefix)
            first = expected.scan(prefix, 2)
            assert stored.scan(prefix, 2) == first
            if first:
                after = first[-1][0]
                page = expected.scan(prefix, 3, start_after=after)
                assert stored.scan(prefix, 3, start_after=after) == page

    # the typed query APIs of the folds
    def both(projection: Any, query: Any, *args: Any, **kw: Any) -> Any:
        got = query(reader(store, projection), *args, **kw)
        assert got == query(dicts[projection.name], *args, **kw), query.__name__
        return got

    for vid in ("video0000", "video0007", "nope"):
        both(counters.PROJECTION, counters.video_stats, vid)
        both(catalog.PROJECTION, catalog.get_video, vid)
    both(counters.PROJECTION, counters.creator_stats, "creator000")
    assert both(catalog.PROJECTION, catalog.published_videos, 10)
    both(social.PROJECTION, social.followers, "creator001")
    both(search.PROJECTION, search.search_hashtags, "c")
    both(search.PROJECTION, search.search_videos, "cats clip")
    store.close()
