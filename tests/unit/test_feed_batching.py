"""Concurrent pages: micro-batched retrieval gives every request exactly what it would get alone (the same
neighbours and, end to end, the same pages) while searches share hnswlib calls; and a replica builds at
most ``max_concurrent_pages`` pages at once, the rest queue."""

from __future__ import annotations

import asyncio
import random

import numpy as np
import pytest

from events.ids import now_us
from serve.feed import FeedConfig
from serve.feed.batching import BatchedRetriever
from serve.feed.catalogue import CatalogueRetriever
from tests.feed_world import TOPICS, World

pytestmark = pytest.mark.asyncio


@pytest.mark.parametrize("offload", [True, False])
async def test_concurrent_searches_share_a_call_and_match_single_searches(offload: bool) -> None:
    w = World(per_topic=40)
    index = w.catalogue.index
    rng = np.random.default_rng(3)
    queries = rng.standard_normal((24, index.dim)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    ks = [10 if i % 3 else 25 for i in range(len(queries))]
    batched = BatchedRetriever(w.catalogue, offload=offload)
    got = await asyncio.gather(*(batched.search(q, k) for q, k in zip(queries, ks, strict=True)))
    single = CatalogueRetriever(w.catalogue)
    for q, k, (labels, sims) in zip(queries, ks, got, strict=True):
        want_labels, want_sims = await single.search(q, k)
        assert labels == want_labels and len(labels) == k
        np.testing.assert_allclose(sims, want_sims, rtol=0, atol=0)
    assert batched.queries == len(queries) and batched.batches == 2  # one call per k
    batched.close()


async def test_max_batch_splits_and_a_failing_search_fails_only_its_batch() -> None:
    w = World(per_topic=10)
    batched = BatchedRetriever(w.catalogue, max_batch=4)
    v = w.catalogue.index.vectors[0]
    await asyncio.gather(*(batched.search(v, 5) for _ in range(10)))
    assert batched.batches == 3  # 4 + 4 at the cap, then the remaining 2 when the loop is idle
    with pytest.raises(ValueError):
        await batched.search(np.zeros(3, dtype=np.float32), 5)  # wrong dimension
    labels, _ = await batched.search(v, 5)
    assert labels[0] == 0  # the retriever still serves
    batched.close()


async def test_batched_pages_equal_unbatched_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Concurrent pages through the batched retriever == the same pages one by one through single searches
    (clock pinned: the session vector's decay and the affinities' decay depend on it)."""
    import serve.feed.service as service
    import serve.feed.views as views

    t = now_us()
    monkeypatch.setattr(service, "now_us", lambda: t)
    monkeypatch.setattr(views, "now_us", lambda: t)
    w = World(per_topic=60, seed=4)
    rng = random.Random(2)
    users = [f"u{i}" for i in range(12)]
    for i, user in enumerate(users):
        w.register(user, region="GB" if i % 2 else "US")
        for _ in range(3 + i % 5):
            w.engage(user, f"v-{rng.choice(TOPICS[: 2 + i % 3])}-{rng.randrange(60)}", like=rng.random() < 0.5)
    cfg = FeedConfig(await_impressions=True, max_concurrent_pages=0)  # every page reaches retrieval at once

    alone = w.service(config=cfg, impressions=None, retriever=CatalogueRetriever(w.catalogue))
    want = [await alone.get_page(u, 10) for u in users]
    batched = BatchedRetriever(w.catalogue)
    together = w.service(config=cfg, impressions=None, retriever=batched)
    got = await asyncio.gather(*(together.get_page(u, 10) for u in users))
    assert batched.batches == 1 and batched.queries == len(users)
    for a, b in zip(want, got, strict=True):
        assert a.personalized and b.personalized
        assert [(i.video_id, i.score, i.source, i.explore) for i in a.items] == \
               [(i.video_id, i.score, i.source, i.explore) for i in b.items]
        assert a.prefetch == b.prefetch
    batched.close()


async def test_config_switches_batching_on() -> None:
    w = World(per_topic=5)
    assert isinstance(w.service(config=FeedConfig(ann_batching=True)).retriever, BatchedRetriever)
    assert isinstance(w.service(config=FeedConfig()).retriever, CatalogueRetriever)
    page = await w.service(config=FeedConfig(ann_batching=True, await_impressions=True)).get_page("nobody", 5)
    assert len(page.items) == 5


class _CountingStates:
    """The real in-process shard fold, counting how many pages are inside the pipeline at once."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.inside = 0
        self.most = 0

    async def get_state(self, user_id: str, *, timeout_s: float | None = None) -> object:
        self.inside += 1
        self.most = max(self.most, self.inside)
        await asyncio.sleep(0.01)  # a shard round trip
        self.inside -= 1
        return await self.inner.get_state(user_id)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("limit", "most"), [(2, 2), (0, 8)])
async def test_pages_built_at_once_are_capped(limit: int, most: int) -> None:
    w = World(per_topic=10)
    states = _CountingStates(w.states)
    svc = w.service(config=FeedConfig(max_concurrent_pages=limit, await_impressions=True), states=states)
    pages = await asyncio.gather(*(svc.get_page(f"u{i}", 5) for i in range(8)))
    assert states.most == most
    assert all(len(p.items) == 5 for p in pages)
    assert all(("queue" in p.timings_ms) == (limit > 0) for p in pages)
    if limit:  # the last pair waited for three pairs' shard round trips (10 ms each) before starting
        assert max(p.timings_ms["queue"] for p in pages) >= 25.0
