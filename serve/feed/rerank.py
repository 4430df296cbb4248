"""Re-rank a scored candidate list into a page: exploration slots, diversity, no creator/sound twice in a row.

Pure (the random source is passed in). Steps:

1. Exploration: ``count * share`` slots (rounded at random to a whole number with the right mean, so a
   10 % share means something on a page of 4), spread evenly over the page, go to new videos chosen by
   Thompson sampling: each candidate draws a completion rate from its Beta posterior
   ``Beta(a + completes, b + views - completes)`` and the best draws win: a new video that completes
   well is shown more, one that does not fades, and unseen videos get their chance (``thompson``).
   *New* (``explore_pool``) is ``Item.new`` (the service's test: recently published, i.e. among the
   newest ``new_video_share`` of the catalogue (``recent_cutoff``), and under an absolute cap on views) and at most
   ``new_ratio`` x the median views of the request's candidates: new relative to the catalogue, not
   every video of a small catalogue. *Relevance-aware*: once the user has personal signal (a candidate
   came from a personal source: ``ann``, ``following``, ``affinity``), the draw is among the
   ``focus`` share of new candidates that rank best for this user (at least ``2 x`` the slots), i.e.
   new videos near the user's current interests; before that (a brand-new user) among all of them.
2. Every other slot takes the best remaining candidate by its score scaled into [0.5, 1] x ``decay``
   ** (earlier picks of its creator + a quarter of the earlier picks of its most-repeated hashtag):
   diversity without a hard cap, so a user deep in one topic still gets mostly that topic.
3. Never the same creator or sound as the previous video; an exploration pick that would repeat its
   neighbour moves to the next position that fits; only when no candidate of the shortlist (the best
   ``8 x count``, plus the exploration picks) satisfies the rule is it relaxed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["PERSONAL_SOURCES", "Item", "exploration_slots", "explore_pool", "recent_cutoff", "rerank", "thompson"]

#: candidate sources that exist only when the user has personal signal (a vector, follows, affinities)
PERSONAL_SOURCES = frozenset({"ann", "following", "affinity"})


@dataclass(slots=True, eq=False)  # identity: the page's list.remove compares items, by value it built tuples
class Item:
    label: int
    video_id: str
    creator: int  # interned id; -1 none
    sound: int
    hashtags: tuple[int, ...]
    score: float
    source: str
    new: bool = False  # eligible for exploration
    completes: int = 0
    views: int = 0
    explore: bool = False  # chosen for an exploration slot
    retrieval: float = 0.0  # the candidate source's score (what the page's Impression records)


def exploration_slots(count: int, share: float, rng: random.Random | None = None) -> list[int]:
    """Page positions reserved for exploration, spread evenly: ``count * share`` of them, rounded to
    the nearest whole number, or with ``rng`` rounded at random (up with the fractional part's
    probability), so the expected number of slots is exactly ``count * share`` on any page size."""
    want = count * max(0.0, share)
    if rng is None:
        n = int(want + 0.5)
    else:
        n = int(want + 1e-9)
        n += rng.random() < want - n - 1e-9
    n = min(count, n)
    return [min(count - 1, int((i + 0.5) * count / n)) for i in range(n)] if n else []


def recent_cutoff(fresh: Sequence[int], published_us: npt.NDArray[np.int64], catalogue_size: int,
                  share: float) -> int:
    """Publication time (µs) of the oldest video that is still *recent*: the newest ``share`` of a
    catalogue of ``catalogue_size`` videos, looked up in ``fresh`` (labels, oldest first, newest last;
    the catalogue's fresh pool). 0 (everything recent) when the catalogue is empty."""
    k = min(len(fresh), max(1, math.ceil(share * catalogue_size)))
    return int(published_us[fresh[-k]]) if k > 0 else 0


def explore_pool(items: Sequence[Item], n: int, *, focus: float = 1.0, new_ratio: float | None = None) -> list[Item]:
    """The candidates of ``n`` exploration slots: new videos, near the user's interests once there is
    signal (see the module docstring). ``focus`` 1 and ``new_ratio`` None: every ``Item.new``."""
    pool = [it for it in items if it.new]
    if new_ratio is not None and pool:
        views = sorted(it.views for it in items)
        limit = new_ratio * float(views[len(views) // 2])
        pool = [it for it in pool if it.views <= limit]
    if focus < 1.0 and len(pool) > 2 * n and any(it.source in PERSONAL_SOURCES for it in items):
        keep = max(2 * n, math.ceil(focus * len(pool)))
        pool = sorted(pool, key=lambda it: -it.score)[:keep]
    return pool


def thompson(pool: Sequence[Item], n: int, prior: tuple[float, float], rng: random.Random,
             gen: np.random.Generator | None = None) -> list[Item]:
    """The ``n`` items with the best completion-rate draws from their Beta posteriors (drawn by ``gen``,
    else by a generator seeded from ``rng``: a caller drawing often keeps one ``gen``, which is cheaper)."""
    if not pool or n <= 0:
        return []
    a, b = prior
    completes = np.fromiter((it.completes for it in pool), dtype=np.float64, count=len(pool))
    views = np.fromiter((it.views for it in pool), dtype=np.float64, count=len(pool))
    gen = gen if gen is not None else np.random.default_rng(rng.getrandbits(64))
    draws = gen.beta(a + completes, b + np.maximum(views - completes, 0.0))
    best = np.argsort(-draws, kind="stable")[:n]
    return [pool[i] for i in best.tolist()]


def _conflicts(item: Item, prev: Item | None) -> bool:
    if prev is None:
        return False
    same_creator = item.creator >= 0 and item.creator == prev.creator
    return same_creator or (item.sound >= 0 and item.sound == prev.sound)


def rerank(items: Sequence[Item], count: int, *, explore_share: float,
           prior: tuple[float, float] = (3.0, 7.0), decay: float = 0.8, focus: float = 1.0,
           new_ratio: float | None = None, rng: random.Random | None = None,
           gen: np.random.Generator | None = None) -> list[Item]:
    """The page (at most ``count`` items) built from ``items`` (see the module docstring)."""
    rng = rng or random.Random()
    if not items or count <= 0:
        return []
    slots = set(exploration_slots(count, explore_share, rng))
    pool = explore_pool(items, len(slots), focus=focus, new_ratio=new_ratio) if slots else []
    chosen = thompson(pool, len(slots), prior, rng, gen) if pool else []
    explore_ids = {it.label for it in chosen}
    explore_q = list(chosen)  # best draw first
    scores = [it.score for it in items]
    lo = min(scores)
    span = max(max(scores) - lo, 1e-9)
    # only the best few per slot can ever win a slot (the diversity factor is bounded), so the greedy
    # pass scans a short list: the page costs O(count^2), not O(count x candidates)
    rest = sorted((it for it in items if it.label not in explore_ids), key=lambda it: -it.score)
    rest = rest[: max(8 * count, 40)]
    page: list[Item] = []
    creators: dict[int, int] = {}  # picks so far per creator and per hashtag
    tags: dict[int, int] = {}
    prev: Item | None = None
    owed = 0  # exploration slots reached but not yet filled (the pick would have repeated its neighbour)
    for pos in range(min(count, len(items))):
        pick: Item | None = None
        owed += pos in slots
        if owed and explore_q:
            pick = next((it for it in explore_q if not _conflicts(it, prev)), None)
            if pick is not None:
                explore_q.remove(pick)
                pick.explore = True
                owed -= 1
        if pick is None:
            pick = _best(rest, prev, creators, tags, lo, span, decay)
            if (pick is None or _conflicts(pick, prev)) and explore_q:
                # nothing else fits here: take an exploration pick early rather than break the rule
                alt = next((it for it in explore_q if not _conflicts(it, prev)), None)
                if alt is not None or pick is None:
                    pick = alt or explore_q[0]
                    explore_q.remove(pick)
                    pick.explore = True
            if pick is not None and not pick.explore:
                rest.remove(pick)
        if pick is None:
            break
        page.append(pick)
        creators[pick.creator] = creators.get(pick.creator, 0) + 1
        for h in pick.hashtags:
            tags[h] = tags.get(h, 0) + 1
        prev = pick
    return page


def _best(rest: list[Item], prev: Item | None, creators: Mapping[int, int], tags: Mapping[int, int], lo: float,
          span: float, decay: float, tag_weight: float = 0.25) -> Item | None:
    """The best non-conflicting item of ``rest`` (sorted best score first) by diversity-scaled value, or
    the first conflicting one when none fits. The scaling never raises a value when ``decay <= 1``, so the
    scan stops at the first item whose unscaled value cannot beat the best found: usually a few items; an
    item whose creator's repeats alone already sink it below the best is passed without its hashtags.
    ``creators`` and ``tags``: earlier picks (absent: none)."""
    best: Item | None = None
    best_v = -1.0
    fallback: Item | None = None
    bounded = decay <= 1.0
    c_get, t_get = creators.get, tags.get
    p_creator = prev.creator if prev is not None and prev.creator >= 0 else None
    p_sound = prev.sound if prev is not None and prev.sound >= 0 else None
    for it in rest:
        base = 0.5 + 0.5 * (it.score - lo) / span
        if bounded and base <= best_v:
            break  # this and every later item (lower scores) are worth at most best_v
        if it.creator == p_creator or it.sound == p_sound:
            if fallback is None:
                fallback = it
            continue
        repeat: float = c_get(it.creator, 0) if it.creator >= 0 else 0
        if repeat and bounded and base * decay**repeat <= best_v:
            continue  # its hashtags could only lower it further
        if it.hashtags:
            repeat += tag_weight * max([t_get(h, 0) for h in it.hashtags])
        v = base * decay**repeat if repeat else base
        if v > best_v:
            best, best_v = it, v
    return best if best is not None else fallback
