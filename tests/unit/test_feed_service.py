"""FeedService end to end over the real folds: cold start, freshness, cursors, impressions, fallback chain.

Failing dependencies are real port implementations that fail the way production ones do (raise
the shard's own ``ShardUnavailableError``, a lost connection, or never answer within the budget).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from actors.errors import ShardUnavailableError
from actors.view import UserView
from events.ids import new_event_id, now_us
from events.schema import Impression, UserRegistered
from serve.feed import BadCursorError, FeedConfig, FeedContext
from tests.feed_world import World

pytestmark = pytest.mark.asyncio


class DownStates:
    calls = 0

    async def get_state(self, user_id: str, *, timeout_s: float | None = None) -> UserView:
        DownStates.calls += 1
        raise ShardUnavailableError(shard=0, detail="actor died")


class SlowStates:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def get_state(self, user_id: str, *, timeout_s: float | None = None) -> UserView:
        await asyncio.sleep(5)
        return await self.inner.get_state(user_id)  # type: ignore[no-any-return]


class DownRanker:
    def __init__(self) -> None:
        self.calls = 0

    async def score(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        self.calls += 1
        raise ConnectionError("ranking replica is gone")


class SlowRanker:
    async def score(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        await asyncio.sleep(5)
        raise AssertionError("unreachable: the budget cancels this call")


class DownRetriever:
    async def search(self, vector: np.ndarray, k: int) -> tuple[list[int], list[float]]:
        raise OSError("index not loaded")


class DownTrending:
    async def top(self, scope: str, k: int) -> list[tuple[str, float]]:
        raise ConnectionError("view store unreachable")


def _trending_world() -> World:
    """GB viewers love football, US viewers dance: regional trending differs from global."""
    w = World()
    for i in range(6):
        w.register(f"gb{i}", region="GB")
        w.register(f"us{i}", region="US")
    for i in range(6):
        for k in range(4):
            w.engage(f"gb{i}", f"v-football-{k}")
        for k in range(8):
            w.engage(f"us{i}", f"v-dance-{k}")
    return w


def topics(w: World, items: Sequence[Any]) -> Counter[str]:
    return Counter(w.topic_of[i.video_id] for i in items)


async def test_cold_start_is_regional_and_diverse_then_personalised_within_8_interactions() -> None:
    w = _trending_world()
    # every video of this world was published within the same second: all of them count as recent
    svc = w.service(config=FeedConfig(await_impressions=True, new_video_share=1.0))
    w.register("new", region="GB")
    first = await svc.get_page("new", 10)
    assert first.personalized and len(first.items) == 10
    assert len(topics(w, first.items)) >= 3  # diverse
    assert any(i.source == "trending" and w.topic_of[i.video_id] == "football" for i in first.items)
    assert sum(i.explore for i in first.items) == 3  # the cold exploration share
    cats = [v for v, t in w.topic_of.items() if t == "cats"]
    for k in range(8):
        w.engage("new", cats[20 + k])
    page = await svc.get_page("new", 10, first.cursor)
    share = topics(w, page.items)["cats"] / len(page.items)
    assert share >= 0.7, topics(w, page.items)
    assert sum(i.explore for i in page.items) == 1  # warmed up: the base share


async def test_a_like_shows_in_the_very_next_page() -> None:
    w = World()
    svc = w.service()
    w.register("u")
    p1 = await svc.get_page("u", 5)
    w.engage("u", p1.items[0].video_id)
    p2 = await svc.get_page("u", 5, p1.cursor)
    assert p2.user_state_version is not None and p1.user_state_version is not None
    assert p2.user_state_version > p1.user_state_version


async def test_pages_log_impressions_and_never_repeat() -> None:
    w = World()
    svc = w.service(config=FeedConfig(await_impressions=True))
    w.register("u")
    seen: list[str] = []
    scores: list[float] = []
    cursor = None
    for page_no in range(4):
        page = await svc.get_page("u", 10, cursor, context=FeedContext(experiment={"explore": "b"}))
        cursor = page.cursor
        seen += [i.video_id for i in page.items]
        scores += [i.retrieval for i in page.items]
        assert [i.position for i in page.items] == list(range(page_no * 10, page_no * 10 + 10))
        assert page.prefetch and not set(page.prefetch) & {i.video_id for i in page.items}
        # the first page ranks; the scroll's next page re-ranks its slate (nothing but impressions since),
        # until too few of this small world's 40 candidates are left
        ranked = "slate" not in page.timings_ms
        assert set(page.timings_ms) >= {"state", "rerank", "page", "total",
                                        *({"retrieval", "ranking"} if ranked else {"slate"})}
        assert ranked == (page_no in (0, 3)) == ("ranking;dur=" in page.server_timing())
    assert len(seen) == len(set(seen)) == 40
    imps = [e for e in w.events if isinstance(e, Impression) and e.user_id == "u"]
    assert [e.video_id for e in imps] == seen
    assert all(e.experiment == {"explore": "b"} and e.request_id for e in imps)
    # each impression records its candidate source's retrieval score (the ranker's training column)
    assert [e.retrieval for e in imps] == scores
    by_source: dict[str, list[float]] = {}
    for e in imps:
        assert e.retrieval is not None
        by_source.setdefault(e.source, []).append(e.retrieval)
    assert set(by_source) <= {"trending", "fresh"}  # a new user: no personal sources yet
    assert all(r == 0.05 for r in by_source.get("fresh", []))
    assert all(0.0 < r <= 0.451 for r in by_source.get("trending", []))


async def test_cursor_is_signed_and_bound_to_its_user() -> None:
    w = World()
    svc = w.service()
    page = await svc.get_page("a", 3)
    assert page.cursor
    with pytest.raises(BadCursorError):
        await svc.get_page("b", 3, page.cursor)
    body, _, mac = page.cursor.partition(".")
    with pytest.raises(BadCursorError):
        await svc.get_page("a", 3, body + "." + mac[::-1])
    with pytest.raises(BadCursorError):
        await svc.get_page("a", 3, "garbage")


async def test_ranking_down_serves_retrieval_order_unpersonalised_and_opens_the_breaker() -> None:
    w = World()
    ranker = DownRanker()
    # no minimum span: the five pages fail within milliseconds (the span rule has its own breaker test)
    svc = w.service(ranker=ranker, config=FeedConfig(breaker_failures=3, breaker_min_span_s=0.0,
                                                     await_impressions=True))
    w.register("u")
    w.engage("u", "v-cats-1")
    pages = [await svc.get_page("u", 8) for _ in range(5)]
    for p in pages:
        assert not p.personalized and p.reason is not None and "ranking unavailable" in p.reason
        assert len(p.items) == 8 and p.user_state_version is not None
        assert not any(i.explore for i in p.items)  # light re-rank: no exploration
        for a, b in itertools.pairwise(p.items):
            assert a.creator_id != b.creator_id
    assert ranker.calls == 3  # the breaker opened: calls 4 and 5 never reached the ranker
    assert "circuit open" in (pages[-1].reason or "")


async def test_slow_ranking_is_cut_at_its_budget() -> None:
    w = World()
    svc = w.service(ranker=SlowRanker(), config=FeedConfig(ranking_budget_ms=30))
    page = await svc.get_page("u", 5)
    assert not page.personalized and "30 ms budget" in (page.reason or "")
    assert len(page.items) == 5


async def test_state_down_falls_back_to_the_last_served_feed() -> None:
    w = World()
    svc = w.service()
    w.register("u")
    healthy = await svc.get_page("u", 5)
    assert healthy.personalized
    svc.states = DownStates()
    page = await svc.get_page("u", 5)
    assert not page.personalized and page.user_state_version is None
    assert "user state unavailable" in (page.reason or "") and "last feed" in (page.reason or "")
    assert [i.source for i in page.items] == ["last_feed"] * 5
    assert not {i.video_id for i in page.items} & {i.video_id for i in healthy.items}


async def test_without_a_last_feed_trending_in_region_then_global() -> None:
    w = _trending_world()
    svc = w.service(states=DownStates())
    page = await svc.get_page("stranger", 10, context=FeedContext(region="GB"))
    assert not page.personalized
    sources = [i.source for i in page.items]
    assert sources[0] == "trending_region" and "trending_global" in sources
    assert w.topic_of[page.items[0].video_id] == "football"
    assert "trending in GB" in (page.reason or "")


async def test_slow_shard_then_trending_down_serves_the_newest_videos() -> None:
    w = World()
    svc = w.service(states=SlowStates(w.states), trending=DownTrending(),
                    config=FeedConfig(state_budget_ms=20))
    page = await svc.get_page("u", 6)
    assert not page.personalized and len(page.items) == 6
    assert {i.source for i in page.items} == {"fresh"}
    assert "20 ms budget" in (page.reason or "") and "newest videos" in (page.reason or "")


async def test_retrieval_down_falls_back_like_the_shard() -> None:
    w = _trending_world()
    svc = w.service()
    w.register("u", region="US")
    w.engage("u", "v-cats-3")  # a user vector exists, so the ANN retriever is asked
    await svc.get_page("u", 4)
    svc.retriever = DownRetriever()
    page = await svc.get_page("u", 4)
    assert not page.personalized and "retrieval unavailable" in (page.reason or "")
    assert page.items[0].source == "last_feed"
    assert page.user_state_version is not None  # the shard answered


async def test_experiment_arm_without_personalisation_is_trending_only() -> None:
    w = _trending_world()
    svc = w.service()
    w.register("u", region="US")
    page = await svc.get_page("u", 5, context=FeedContext(personalize=False, experiment={"p13n": "off"}))
    assert not page.personalized and "disabled" in (page.reason or "")
    assert w.topic_of[page.items[0].video_id] == "dance"


async def test_registration_event_sets_the_region_used_by_trending() -> None:
    w = _trending_world()
    svc = w.service()
    w.apply([UserRegistered(event_id=new_event_id(), ts=now_us(), user_id="x", region="US")])
    page = await svc.get_page("x", 10)
    assert any(i.source == "trending" and w.topic_of[i.video_id] == "dance" for i in page.items)
