"""Exploration in the re-rank: what counts as new, relevance-aware Thompson picks, slot counts on small pages."""

from __future__ import annotations

import random
from collections import deque

import numpy as np
import pytest

from serve.feed.rerank import Item, Traits, exploration_slots, explore_pool, recent_cutoff, rerank


def _item(i: int, score: float, *, source: str = "ann", new: bool = True, views: int = 0, completes: int = 0,
          creator: int | None = None, sound: int | None = None) -> Item:
    return Item(label=i, video_id=f"v{i}", creator=i if creator is None else creator,
                sound=i if sound is None else sound, hashtags=(), score=score, source=source, new=new,
                completes=completes, views=views)


def _pool(items: list[Item], n: int, **kw: float) -> list[Item]:
    return [items[i] for i in explore_pool(Traits.of(items), n, **kw)]


def test_slot_count_is_rounded_at_random_with_the_right_mean() -> None:
    rng = random.Random(5)
    for count, share in ((4, 0.1), (4, 0.3), (10, 0.25), (3, 0.5)):
        n = [len(exploration_slots(count, share, rng)) for _ in range(4000)]
        assert set(n) <= {int(count * share), int(count * share) + 1}
        assert np.mean(n) == pytest.approx(count * share, abs=0.05)
    # a whole number of slots is exact, and without a random source the count is rounded as before
    assert {len(exploration_slots(10, 0.3, rng)) for _ in range(200)} == {3}
    assert exploration_slots(4, 0.1) == [] and len(exploration_slots(4, 0.3)) == 1


def test_new_is_relative_to_the_candidates_views() -> None:
    items = [_item(i, 1.0, views=v) for i, v in enumerate((0, 3, 10, 40, 50, 60, 400))]
    items.append(_item(99, 1.0, views=0, new=False))  # the service said no (old, or over its cap)
    # the median of the candidates' views is 40: at most half of it is new
    assert {it.label for it in _pool(items, 1, new_ratio=0.5)} == {0, 1, 2}
    assert {it.label for it in _pool(items, 1)} == {0, 1, 2, 3, 4, 5, 6}  # every Item.new


def test_with_personal_signal_the_pool_is_the_new_videos_nearest_the_user() -> None:
    near = [_item(i, 2.0 - 0.01 * i) for i in range(5)]
    far = [_item(10 + i, -1.0 - 0.01 * i, source="fresh") for i in range(15)]
    pool = _pool(near + far, 1, focus=0.25)
    assert {it.label for it in pool} == {0, 1, 2, 3, 4}  # the best quarter of 20 new candidates
    assert len(_pool(near + far, 4, focus=0.25)) == 8  # never fewer than twice the slots
    # a brand-new user (no personal source: trending and fresh only) explores among all of them
    cold = [_item(i, 2.0 - 0.1 * i, source="trending" if i < 5 else "fresh") for i in range(20)]
    assert len(_pool(cold, 1, focus=0.25)) == 20


def test_relevance_aware_exploration_picks_near_new_videos_by_thompson() -> None:
    rng = random.Random(17)
    established = [_item(i, 3.0 - 0.01 * i, new=False) for i in range(20)]
    near = [_item(100 + i, 1.0 - 0.01 * i) for i in range(5)]
    near[3].completes, near[3].views = 9, 10  # a near new video that completes well
    far = [_item(200 + i, -2.0, source="fresh") for i in range(15)]
    wins: dict[int, int] = {}
    for _ in range(500):
        page = rerank([*established, *near, *far], 10, explore_share=0.1, focus=0.25, rng=rng)
        explored = [it for it in page if it.explore]
        assert len(explored) == 1 and explored[0].label in {it.label for it in near}
        for it in page:
            it.explore = False
        wins[explored[0].label] = wins.get(explored[0].label, 0) + 1
    assert max(wins, key=lambda k: wins[k]) == 103  # Thompson: the near one that completes wins most
    assert len(wins) > 1  # ... and the others keep a chance


def test_an_exploration_pick_that_would_repeat_its_neighbour_moves_to_the_next_position() -> None:
    # one slot, at position 2 of 4; the ranked video before it has the exploration pick's creator
    ranked = [(0, 1, 5.0), (1, 0, 4.9), (2, 2, 4.8), (3, 3, 4.7)]  # (label, creator, score)
    for seed in range(20):
        items = [_item(i, s, new=False, creator=c) for i, c, s in ranked] + [_item(9, -1.0, creator=0)]
        page = rerank(items, 4, explore_share=0.25, rng=random.Random(seed))
        assert [it.label for it in page] == [0, 1, 2, 9]  # not dropped: one position later
        assert page[3].explore


def test_recent_means_the_newest_share_of_the_catalogue() -> None:
    published = np.arange(1000, 1100, dtype=np.int64)  # label i published at 1000 + i
    fresh = deque(range(100))
    assert recent_cutoff(fresh, published, 100, 0.1) == 1090  # the newest 10 videos
    assert recent_cutoff(fresh, published, 100, 1.0) == 1000  # all of them
    assert recent_cutoff(deque(range(50, 100)), published, 1000, 0.1) == 1050  # bounded by the fresh pool
    assert recent_cutoff(deque(), published[:0], 0, 0.1) == 0
