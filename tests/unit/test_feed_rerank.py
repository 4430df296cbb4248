"""Re-rank rules: no creator or sound back to back, exploration share and Thompson sampling, diversity."""

from __future__ import annotations

import itertools
import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from serve.feed.rerank import Item, _best, exploration_slots, rerank, thompson


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
            out[thompson(pool, 1, (3.0, 7.0), rng)[0].label] += 1
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


def _best_by_full_scan(rest: list[Item], prev: Item | None, creators: Counter[int], tags: Counter[int],
                       lo: float, span: float, decay: float) -> Item | None:
    """The greedy step's definition: every candidate's diversity-scaled value, no early stop."""
    best, best_v, fallback = None, -1.0, None
    for it in rest:
        repeat = float(creators[it.creator]) if it.creator >= 0 else 0.0
        if it.hashtags:
            repeat += 0.25 * max(tags[h] for h in it.hashtags)
        v = (0.5 + 0.5 * (it.score - lo) / span) * decay**repeat
        conflict = prev is not None and ((it.creator >= 0 and it.creator == prev.creator)
                                         or (it.sound >= 0 and it.sound == prev.sound))
        if conflict:
            fallback = fallback or it
        elif v > best_v:
            best, best_v = it, v
    return best if best is not None else fallback


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 60), decay=st.sampled_from([0.5, 0.8, 0.9, 1.0]),
       creators_n=st.integers(1, 6))
def test_the_early_stopping_scan_picks_what_a_full_scan_picks(seed: int, n: int, decay: float,
                                                             creators_n: int) -> None:
    rng = random.Random(seed)
    rest = sorted((Item(label=i, video_id=f"v{i}", creator=rng.randrange(creators_n), sound=rng.randrange(4),
                        hashtags=tuple(rng.sample(range(5), rng.randrange(3))), score=round(rng.random(), 2),
                        source="ann") for i in range(n)), key=lambda it: -it.score)
    creators = Counter(rng.randrange(creators_n) for _ in range(rng.randrange(6)))
    tags = Counter(rng.randrange(5) for _ in range(rng.randrange(8)))
    prev = rng.choice(rest) if rng.random() < 0.8 else None
    lo, hi = min(it.score for it in rest), max(it.score for it in rest)
    span = max(hi - lo, 1e-9)
    assert _best(rest, prev, creators, tags, lo, span, decay) is _best_by_full_scan(
        rest, prev, creators, tags, lo, span, decay)
