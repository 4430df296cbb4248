"""Slates: the next page of a scroll re-ranks the last ranking while the user has done nothing but look.

Over the real folds (``tests.feed_world``): which pages come from a slate, which rank again, and that a
slate page is still a proper page (unseen, visible, no repeats, impressions, positions, cursor).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from events.ids import new_event_id, now_us
from events.schema import Impression, VideoRemoved
from serve.feed import FeedConfig, FeedContext, FeedPage, FeedService, PriorRanker
from serve.feed.slate import Slates
from tests.feed_world import World

pytestmark = pytest.mark.asyncio


class CountingRanker:
    """The prior ranker, counting its calls (every page that ranks calls it once)."""

    def __init__(self) -> None:
        self.inner = PriorRanker()
        self.calls = 0

    async def score(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        self.calls += 1
        return await self.inner.score(rows)


class DownRanker:
    async def score(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        raise ConnectionError("ranking replica is gone")


def _engaged_world() -> tuple[World, str]:
    """A user with personal signal (cats), so retrieval finds a full pool of candidates."""
    w = World()
    w.register("u")
    cats = [v for v, t in w.topic_of.items() if t == "cats"]
    for vid in cats[:6]:
        w.engage("u", vid)
    return w, "u"


def _ranked(page: Any) -> bool:
    return "ranking" in page.timings_ms


async def test_a_scroll_without_interactions_pages_from_its_slate() -> None:
    w, u = _engaged_world()
    ranker = CountingRanker()
    svc = w.service(ranker=ranker)
    shown: list[str] = []
    cursor = None
    for page_no in range(4):
        page = await svc.get_page(u, 10, cursor)
        cursor = page.cursor
        assert page.personalized and len(page.items) == 10
        assert [i.position for i in page.items] == list(range(page_no * 10, page_no * 10 + 10))
        assert _ranked(page) == (page_no == 0) and ("slate" in page.timings_ms) == (page_no > 0)
        assert "slate;dur=" in page.server_timing() or page_no == 0
        shown += [i.video_id for i in page.items]
        for a, b in itertools.pairwise(page.items):  # the re-rank's rule holds on slate pages too
            assert a.creator_id != b.creator_id and a.sound_id != b.sound_id
        assert not set(page.prefetch) & set(shown)
    assert ranker.calls == 1
    assert svc.slates.hits == 3 and svc.slates.misses == 0
    assert len(shown) == len(set(shown)) == 40
    imps = [e for e in w.events if isinstance(e, Impression) and e.user_id == u]
    assert [e.video_id for e in imps] == shown  # every slate page logs its impressions like any page
    assert len({e.request_id for e in imps}) == 4


async def _scrolled() -> tuple[World, str, CountingRanker, FeedService, FeedPage, FeedPage]:
    """An engaged user's first page (ranked) and the next one (from its slate)."""
    w, u = _engaged_world()
    ranker = CountingRanker()
    svc = w.service(ranker=ranker)
    p1 = await svc.get_page(u, 10)
    p2 = await svc.get_page(u, 10, p1.cursor)
    assert _ranked(p1) and "slate" in p2.timings_ms and ranker.calls == 1
    return w, u, ranker, svc, p1, p2


async def test_an_interaction_ranks_the_next_page_anew() -> None:
    w, u, ranker, svc, _, p2 = await _scrolled()
    w.engage(u, p2.items[0].video_id)  # a view and a like: the user's signal moved
    p3 = await svc.get_page(u, 10, p2.cursor)
    assert _ranked(p3) and ranker.calls == 2 and svc.slates.misses == 1
    assert (p3.user_state_version or 0) > (p2.user_state_version or 0)
    p4 = await svc.get_page(u, 10, p3.cursor)  # and that new ranking is the next slate
    assert "slate" in p4.timings_ms and ranker.calls == 2


async def test_a_refresh_an_old_cursor_and_another_arm_rank_anew() -> None:
    _, u, ranker, svc, p1, _ = await _scrolled()
    again = await svc.get_page(u, 10, p1.cursor)  # page 1's cursor once more (a retry): not the slate's page
    assert _ranked(again) and ranker.calls == 2
    refresh = await svc.get_page(u, 10)  # no cursor: pull to refresh
    assert _ranked(refresh) and ranker.calls == 3
    arm = FeedContext(experiment={"blend": "b"}, blend={"like": 2.0})
    other = await svc.get_page(u, 10, refresh.cursor, context=arm)  # the request's context differs
    assert _ranked(other) and ranker.calls == 4
    same = await svc.get_page(u, 10, other.cursor, context=arm)
    assert "slate" in same.timings_ms and ranker.calls == 4


async def test_a_slate_expires_after_its_ttl_and_its_pages() -> None:
    w, u = _engaged_world()
    ranker = CountingRanker()
    svc = w.service(ranker=ranker, config=FeedConfig(await_impressions=True, slate_pages=2))
    clock = [100.0]
    svc.slates = Slates(ttl_s=30.0, clock=lambda: clock[0])
    pages = [await svc.get_page(u, 5)]
    for _ in range(4):
        pages.append(await svc.get_page(u, 5, pages[-1].cursor))
    # a slate serves slate_pages pages after the page that ranked it
    assert [_ranked(p) for p in pages] == [True, False, False, True, False]
    clock[0] += 31.0
    late = await svc.get_page(u, 5, pages[-1].cursor)
    assert _ranked(late) and ranker.calls == 3


async def test_a_video_removed_meanwhile_is_never_served_from_the_slate() -> None:
    w, u = _engaged_world()
    svc = w.service()
    p1 = await svc.get_page(u, 10)
    gone = p1.prefetch[:3]  # ranked next: the slate's best candidates
    w.apply([VideoRemoved(event_id=new_event_id(), ts=now_us(), video_id=v, by="moderator") for v in gone])
    p2 = await svc.get_page(u, 10, p1.cursor)
    assert "slate" in p2.timings_ms and len(p2.items) == 10
    assert not {i.video_id for i in p2.items} & set(gone)
    assert not set(p2.prefetch) & set(gone)


async def test_a_video_shown_elsewhere_meanwhile_is_never_served_from_the_slate() -> None:
    w, u = _engaged_world()
    svc = w.service(config=FeedConfig(await_impressions=True, slate_pages=10))
    p1 = await svc.get_page(u, 5)
    slate = svc.slates._users[u]
    ids = svc.catalogue.video_ids
    left = [ids[label] for label in slate.cols.labels[slate.order].tolist()]
    elsewhere = left[::3]  # near the top and deep down (beyond the next pages' windows)
    assert len(left) > 120
    w.apply([Impression(event_id=new_event_id(), ts=now_us(), user_id=u, video_id=v, request_id="other-replica",
                        position=i, source="ann") for i, v in enumerate(elsewhere)])  # another device's pages
    shown: list[str] = []
    page = p1
    for _ in range(8):
        page = await svc.get_page(u, 5, page.cursor)
        assert "slate" in page.timings_ms
        shown += [i.video_id for i in page.items]
    assert len(shown) == 40 and not set(shown) & set(elsewhere)


async def test_degraded_pages_leave_no_slate_and_slates_can_be_off() -> None:
    w, u = _engaged_world()
    svc = w.service(ranker=DownRanker())
    p1 = await svc.get_page(u, 10)
    assert not p1.personalized and len(svc.slates) == 0
    p2 = await svc.get_page(u, 10, p1.cursor)
    assert "slate" not in p2.timings_ms and not p2.personalized
    ranker = CountingRanker()
    off = w.service(ranker=ranker, config=FeedConfig(await_impressions=True, slate_ttl_s=0.0))
    q1 = await off.get_page(u, 10)
    q2 = await off.get_page(u, 10, q1.cursor)
    assert _ranked(q2) and ranker.calls == 2 and len(off.slates) == 0


async def test_slates_are_kept_for_the_most_recent_users_only() -> None:
    w = World()
    svc = w.service(config=FeedConfig(await_impressions=True, slate_users=2))
    for user in ("a", "b", "c"):
        w.register(user)
        await svc.get_page(user, 5)
    assert len(svc.slates) == 2
    assert {"b", "c"} == set(svc.slates._users)
