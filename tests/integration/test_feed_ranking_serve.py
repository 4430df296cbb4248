"""The ranking deployment on Ray Serve behind the feed: batched scoring through a handle, and a page
still served (``personalized: false``, retrieval order) when its replica is killed."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import pytest

from serve.feed import FeedConfig, PriorRanker
from serve.feed.features import FEATURES
from serve.ranking import RankingDeployment, ServeRanker
from tests.feed_world import World

APP = "feed-ranking-test"


@pytest.fixture(scope="module")
def ranking_handle(ray_session: Any) -> Any:
    from ray import serve

    serve.start(http_options={"host": "127.0.0.1", "port": 0})
    handle = serve.run(RankingDeployment.options(num_replicas=1, ray_actor_options={"num_cpus": 0}).bind(),
                       name=APP, route_prefix=None)
    yield handle
    serve.delete(APP)


def _kill_replica(ray: Any) -> None:
    for entry in ray.util.list_named_actors(all_namespaces=True):
        name = entry["name"]
        if "SERVE_REPLICA" in name and APP in name:
            ray.kill(ray.get_actor(name, namespace=entry["namespace"]), no_restart=True)
            return
    raise AssertionError("no ranking replica found")


def test_batched_scores_match_the_in_process_ranker(ranking_handle: Any) -> None:
    rng = np.random.default_rng(0)

    async def go() -> list[dict[str, np.ndarray]]:
        rows = [rng.random((n, len(FEATURES)), dtype=np.float32) for n in (3, 50, 7)]
        ranker = ServeRanker(ranking_handle)
        got = await asyncio.gather(*(ranker.score(r) for r in rows))
        for r, g in zip(rows, got, strict=True):
            want = PriorRanker().predict(r)
            assert set(g) == set(want)
            for head in want:
                np.testing.assert_allclose(g[head], want[head], rtol=1e-6)
        return got

    asyncio.run(go())


def test_ranking_replica_killed_page_still_served_unpersonalised(ranking_handle: Any,
                                                                 ray_session: Any) -> None:
    w = World()
    svc = w.service(ranker=ServeRanker(ranking_handle),
                    config=FeedConfig(await_impressions=True, ranking_budget_ms=500, breaker_reset_s=0.5))
    w.register("u")
    for k in range(6):
        w.engage("u", f"v-cats-{k}")

    async def page() -> Any:
        return await svc.get_page("u", 10)

    ok = asyncio.run(page())
    assert ok.personalized and len(ok.items) == 10
    _kill_replica(ray_session)
    t0 = time.monotonic()
    degraded = asyncio.run(page())
    assert time.monotonic() - t0 < 5.0
    assert not degraded.personalized and "ranking unavailable" in (degraded.reason or "")
    assert len(degraded.items) == 10  # the shard still answered: the state is there
    assert degraded.user_state_version is not None and degraded.user_state_version > ok.user_state_version
    # Serve replaces the dead replica; once the breaker's reset time passes, ranking is used again
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.6)
        again = asyncio.run(page())
        if again.personalized:
            break
    assert again.personalized
