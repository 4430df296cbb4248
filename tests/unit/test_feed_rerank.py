"""Re-rank rules: no creator or sound back to back, exploration share and Thompson sampling, diversity."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serve.feed.rerank import Item, Traits, exploration_slots, explore_pool, rerank, thompson


def _item(i: int, creator: int, sound: int, score: float, *, new: bool = False, completes: int = 0,
          views: int = 0, tags: tuple[int, ...] = ()) -> Item:
    return Item(label=i, video_id=f"v{i}", creator=creator, sound=sound, hashtags=tags, score=score,
                source="ann", new=new, completes=completes, views=views)


def _clash(a: Item, b: Item) -> bool:
    return (a.creator >= 0 and a.creator == b.creator) or (a.sound >= 0 and a.sound == b.sound)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(-1, 3), st.floats(-1, 1), st.booleans()),
                min_size=8, max_size=40),
       st.integers(1, 20), st.floats(0, 0.5), st.integers(0, 1000))
def test_no_same_creator_or_sound_back_to_back_when_avoidable(
        spec: list[tuple[int, int, float, bool]], count: int, share: float, seed: int) -> None:
    items = [_item(i, c, s, sc, new=n) for i, (c, s, sc, n) in enumerate(spec)]
    page = rerank(items, count, explore_share=share, rng=random.Random(seed))
    assert len(page) == min(count, len(items))
    assert len({it.label for it in page}) == len(page)
    # a video repeats its predecessor's creator or sound only when every video left would
    for i in range(1, len(page)):
        if _clash(page[i], page[i - 1]):
            used = {it.label for it in page[:i]}
            assert all(_clash(it, page[i - 1]) for it in items if it.label not in used)


def test_back_to_back_rule_with_one_dominant_creator() -> None:
    # the best six all come from creator 0; the page must interleave the others
    items = [_item(i, 0, 100 + i, 10.0 - i) for i in range(6)]
    items += [_item(10 + i, 1 + i, 200 + i, 1.0 - 0.1 * i) for i in range(6)]
    page = rerank(items, 10, explore_share=0.0, rng=random.Random(1))
    for a, b in itertools.pairwise(page):
        assert a.creator != b.creator
    assert page[0].label == 0  # the best still leads


def test_same_sound_not_back_to_back() -> None:
    items = [_item(i, i, 7, 10.0 - i) for i in range(5)]
    items += [_item(10 + i, 10 + i, 8 + i, 1.0) for i in range(5)]
    page = rerank(items, 8, explore_share=0.0, rng=random.Random(1))
    for a, b in itertools.pairwise(page):
        assert a.sound != b.sound


def test_exploration_share_sets_the_number_of_slots() -> None:
    assert exploration_slots(10, 0.0) == []
    assert len(exploration_slots(10, 0.1)) == 1
    assert len(exploration_slots(10, 0.3)) == 3
    assert len(exploration_slots(20, 0.25)) == 5
    assert sorted(set(exploration_slots(10, 0.5))) == exploration_slots(10, 0.5)  # distinct, spread


def test_exploration_slots_go_to_new_videos() -> None:
    rng = random.Random(3)
    items = [_item(i, i, i, 5.0 - 0.01 * i) for i in range(30)]  # established, high score
    items += [_item(100 + i, 100 + i, 100 + i, -1.0, new=True) for i in range(10)]  # new, low score
    for share, want in ((0.1, 1), (0.3, 3), (0.5, 5)):
        page = rerank(items, 10, explore_share=share, rng=rng)
        explored = [it for it in page if it.explore]
        assert len(explored) == want
        assert all(it.new for it in explored)
        assert sum(1 for it in page if it.new) == want  # the rest is ranked by score


def test_thompson_favours_new_videos_that_complete() -> None:
    rng = random.Random(11)
    good = _item(1, 1, 1, 0.0, new=True, completes=45, views=50)
    bad = _item(2, 2, 2, 0.0, new=True, completes=2, views=50)
    middling = _item(4, 4, 4, 0.0, new=True, completes=18, views=50)
    unseen = _item(3, 3, 3, 0.0, new=True)

    def wins(pool: list[Item], n: int = 2000) -> dict[int, int]:
        out = dict.fromkeys((it.label for it in pool), 0)
        for _ in range(n):
            out[pool[int(thompson(Traits.of(pool), np.arange(len(pool)), 1, (3.0, 7.0), rng)[0])].label] += 1
        return out

    w = wins([good, bad, unseen])
    assert w[1] > 0.9 * 2000  # a new video that completes well takes the slot
    w = wins([bad, unseen])
    assert w[3] > 0.9 * 2000  # one that does not loses it even to a video nobody has seen
    w = wins([middling, unseen])
    assert w[3] > 200 and w[4] > 200  # an unseen video keeps a real chance against a middling one


def test_diversity_spreads_creators_and_hashtags() -> None:
    items = [_item(i, i % 2, -1, 1.0 - 0.001 * i, tags=(1,)) for i in range(20)]  # two creators, one tag
    items += [_item(100 + i, 10 + i, -1, 0.9, tags=(2 + i,)) for i in range(10)]
    items += [_item(200 + i, 30 + i, -1, 0.0, tags=(1,)) for i in range(10)]  # the low end of the scale
    page = rerank(items, 10, explore_share=0.0, rng=random.Random(1))
    assert sum(1 for it in page if it.label >= 100) >= 3


def _reference_page(items: list[Item], count: int, share: float, rng: random.Random,
                    decay: float) -> list[tuple[int, bool]]:
    """The re-rank's definition, in plain Python and without the early stop (every candidate's
    diversity-scaled value for every slot): (label, exploration pick) per position."""
    slots = exploration_slots(count, share, rng)
    traits = Traits.of(items)
    pool = explore_pool(traits, len(slots)) if slots else None
    queue = [items[i] for i in thompson(traits, pool, len(slots), (3.0, 7.0), rng)] if pool is not None else []
    lo = min(it.score for it in items)
    span = max(max(it.score for it in items) - lo, 1e-9)
    rest = sorted((it for it in items if all(it is not q for q in queue)), key=lambda it: -it.score)
    rest = rest[: max(8 * count, 40)]
    creators: Counter[int] = Counter()
    tags: Counter[int] = Counter()
    page: list[tuple[Item, bool]] = []
    prev: Item | None = None
    owed = 0

    def fits(it: Item) -> bool:
        return prev is None or not _clash(it, prev)

    def best() -> Item | None:
        top, top_v, fallback = None, -1.0, None
        for it in rest:
            repeat = float(creators[it.creator]) if it.creator >= 0 else 0.0
            if it.hashtags:
                repeat += 0.25 * max(tags[h] for h in it.hashtags)
            v = (0.5 + 0.5 * (it.score - lo) / span) * decay**repeat
            if not fits(it):
                fallback = fallback or it
            elif v > top_v:
                top, top_v = it, v
        return top if top is not None else fallback

    for pos in range(min(count, len(items))):
        owed += pos in slots
        pick, explored = None, False
        if owed and queue:
            pick = next((it for it in queue if fits(it)), None)
            if pick is not None:
                queue.remove(pick)
                explored, owed = True, owed - 1
        if pick is None:
            pick = best()
            if (pick is None or not fits(pick)) and queue:
                alt = next((it for it in queue if fits(it)), None)
                if alt is not None or pick is None:
                    pick = alt or queue[0]
                    queue.remove(pick)
                    explored = True
            if pick is not None and not explored:
                rest.remove(pick)
        if pick is None:
            break
        page.append((pick, explored))
        creators[pick.creator] += 1
        tags.update(pick.hashtags)
        prev = pick
    return [(it.label, e) for it, e in page]


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 90), count=st.integers(1, 12),
       share=st.sampled_from([0.0, 0.1, 0.3]), decay=st.sampled_from([0.5, 0.8, 0.9, 1.0]),
       creators_n=st.integers(1, 6))
def test_the_compiled_pass_builds_the_page_its_definition_builds(seed: int, n: int, count: int, share: float,
                                                                  decay: float, creators_n: int) -> None:
    rng = random.Random(seed)
    items = [Item(label=i, video_id=f"v{i}", creator=rng.randrange(-1, creators_n), sound=rng.randrange(-1, 4),
                  hashtags=tuple(rng.sample(range(5), rng.randrange(3))), score=round(rng.random(), 2),
                  source="ann", new=rng.random() < 0.3, completes=rng.randrange(5), views=rng.randrange(5, 10))
             for i in range(n)]
    page = rerank(items, count, explore_share=share, decay=decay, rng=random.Random(seed + 1))
    assert [(it.label, it.explore) for it in page] == _reference_page(items, count, share, random.Random(seed + 1),
                                                                      decay)


def test_traits_must_have_one_entry_per_candidate() -> None:
    with pytest.raises(ValueError, match="one entry per candidate"):
        Traits([1.0, 2.0], [1, 2], [1], [[1], [2]])
