"""Re-rank a scored candidate list into a page: exploration slots, diversity, no creator/sound twice in a row.

Pure (the random source is passed in). Steps:

1. Exploration: ``count * share`` slots (rounded at random to a whole number with the right mean, so a
   10 % share means something on a page of 4), spread evenly over the page, go to new videos chosen by
   Thompson sampling: each candidate draws a completion rate from its Beta posterior
   ``Beta(a + completes, b + views - completes)`` and the best draws win: a new video that completes
   well is shown more, one that does not fades, and unseen videos get their chance (``thompson``).
   *New* (``explore_pool``) is ``Traits.new`` (the service's test: recently published, i.e. among the
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
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = ["PERSONAL_SOURCES", "TAG_WEIGHT", "Item", "Traits", "exploration_slots", "explore_pool", "recent_cutoff",
           "rerank", "rerank_page", "thompson"]

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


#: a repeat of one of a video's hashtags weighs this much of a repeat of its creator (step 2)
TAG_WEIGHT = 0.25


class Traits:
    """What the re-rank reads of its candidates, as arrays with one entry per candidate: ``score``, the
    diversity keys ``creator`` and ``sound`` (interned ids, -1 none) and ``tags`` (rows of interned
    hashtag ids padded with -1), and for exploration ``new`` (eligible), ``views`` and ``completes``, and
    ``personal`` (some candidate came from a personal source). A caller holding the catalogue's arrays
    builds them from those; ``Traits.of(items)`` from items."""

    __slots__ = ("completes", "creator", "new", "personal", "score", "sound", "tags", "views")

    def __init__(self, score: npt.ArrayLike, creator: npt.ArrayLike, sound: npt.ArrayLike, tags: npt.ArrayLike,
                 *, new: npt.ArrayLike | None = None, views: npt.ArrayLike | None = None,
                 completes: npt.ArrayLike | None = None, personal: bool = False) -> None:
        # one dtype each: the compiled pass is specialised (and cached) per argument type
        self.score = np.ascontiguousarray(score, dtype=np.float64)
        n = len(self.score)
        self.creator = np.ascontiguousarray(creator, dtype=np.int32)
        self.sound = np.ascontiguousarray(sound, dtype=np.int32)
        self.tags = np.ascontiguousarray(tags, dtype=np.int32)
        self.new = np.zeros(n, dtype=np.bool_) if new is None else np.asarray(new, dtype=np.bool_)
        self.views = np.zeros(n, dtype=np.int64) if views is None else np.asarray(views, dtype=np.int64)
        self.completes = np.zeros(n, dtype=np.int64) if completes is None else np.asarray(completes, dtype=np.int64)
        self.personal = personal
        if self.tags.ndim != 2 or any(len(a) != n for a in (self.creator, self.sound, self.tags, self.new,
                                                                self.views, self.completes)):
            raise ValueError("traits: every array must have one entry per candidate (tags: one row each)")

    def __len__(self) -> int:
        return len(self.score)

    def take(self, idx: npt.NDArray[np.int64], *, personal: bool) -> Traits:
        """The traits of the candidates at ``idx`` (``personal``: some of those came from a personal source)."""
        out = Traits.__new__(Traits)
        out.score, out.creator, out.sound = self.score[idx], self.creator[idx], self.sound[idx]
        out.tags = self.tags[idx]
        out.new, out.views, out.completes = self.new[idx], self.views[idx], self.completes[idx]
        out.personal = personal
        return out

    @classmethod
    def of(cls, items: Sequence[Item]) -> Traits:
        width = max((len(it.hashtags) for it in items), default=0) or 1
        tags = np.full((len(items), width), -1, dtype=np.int32)
        for row, it in zip(tags, items, strict=True):
            row[: len(it.hashtags)] = it.hashtags
        return cls([it.score for it in items], [it.creator for it in items], [it.sound for it in items], tags,
                    new=[it.new for it in items], views=[it.views for it in items],
                    completes=[it.completes for it in items],
                    personal=any(it.source in PERSONAL_SOURCES for it in items))


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


def explore_pool(tr: Traits, n: int, *, focus: float = 1.0, new_ratio: float | None = None) -> npt.NDArray[np.int64]:
    """The candidates (indices) of ``n`` exploration slots: new videos, near the user's interests once
    there is signal (see the module docstring). ``focus`` 1 and ``new_ratio`` None: every new one."""
    pool = np.flatnonzero(tr.new)
    if new_ratio is not None and len(pool):
        limit = new_ratio * float(np.sort(tr.views)[len(tr) // 2])
        pool = pool[tr.views[pool] <= limit]
    if focus < 1.0 and len(pool) > 2 * n and tr.personal:
        keep = max(2 * n, math.ceil(focus * len(pool)))
        pool = pool[np.argsort(-tr.score[pool], kind="stable")[:keep]]
    return pool


def thompson(tr: Traits, pool: npt.NDArray[np.int64], n: int, prior: tuple[float, float], rng: random.Random,
             gen: np.random.Generator | None = None) -> npt.NDArray[np.int64]:
    """The ``n`` candidates of ``pool`` (indices) with the best completion-rate draws from their Beta
    posteriors, best first (drawn by ``gen``, else by a generator seeded from ``rng``: a caller drawing
    often keeps one ``gen``, which is cheaper). A pool of one needs no draw."""
    if not len(pool) or n <= 0:
        return pool[:0]
    if len(pool) == 1:
        return pool
    a, b = prior
    completes = tr.completes[pool].astype(np.float64)
    views = tr.views[pool].astype(np.float64)
    gen = gen if gen is not None else np.random.default_rng(rng.getrandbits(64))
    draws = gen.beta(a + completes, b + np.maximum(views - completes, 0.0))
    return pool[np.argsort(-draws, kind="stable")[:n]]


def rerank(items: Sequence[Item], count: int, *, explore_share: float, prior: tuple[float, float] = (3.0, 7.0),
           decay: float = 0.8, focus: float = 1.0, new_ratio: float | None = None,
           rng: random.Random | None = None, gen: np.random.Generator | None = None) -> list[Item]:
    """``rerank_page`` over items: the page's items, those in exploration slots marked ``explore``."""
    picks, explored = rerank_page(Traits.of(items), count, explore_share=explore_share, prior=prior, decay=decay,
                                  focus=focus, new_ratio=new_ratio, rng=rng, gen=gen)
    page = [items[i] for i in picks.tolist()]
    for it, e in zip(page, explored.tolist(), strict=True):
        it.explore = e
    return page


def rerank_page(tr: Traits, count: int, *, explore_share: float, prior: tuple[float, float] = (3.0, 7.0),
                decay: float = 0.8, focus: float = 1.0, new_ratio: float | None = None,
                rng: random.Random | None = None,
                gen: np.random.Generator | None = None) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """The page (at most ``count`` candidates) built from the candidates ``tr`` (see the module
    docstring): their indices in page order, and for each whether it fills an exploration slot."""
    rng = rng or random.Random()
    if not len(tr) or count <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.bool_)
    slots = exploration_slots(count, explore_share, rng)
    pool = explore_pool(tr, len(slots), focus=focus, new_ratio=new_ratio) if slots else None
    explore = thompson(tr, pool, len(slots), prior, rng, gen) if pool is not None else np.zeros(0, dtype=np.int64)
    order = np.argsort(-tr.score, kind="stable")
    if len(explore):
        rest = np.ones(len(tr), dtype=np.bool_)
        rest[explore] = False
        order = order[rest[order]]
    # only the best few per slot can ever win a slot (the diversity factor is bounded), so the greedy
    # pass scans a short list: the page costs O(count^2), not O(count x candidates)
    short = order[: max(8 * count, 40)]
    slot_mask = np.zeros(count, dtype=np.bool_)
    slot_mask[slots] = True
    lo = float(tr.score.min())
    span = max(float(tr.score.max()) - lo, 1e-9)
    return _greedy(short, explore.astype(np.int64), slot_mask, min(count, len(tr)), tr.creator, tr.sound,
                   tr.tags, tr.score, lo, span, float(decay), TAG_WEIGHT)


# ---------------------------------------------------------------------------- the greedy pass, compiled
#
# Deep in a scroll most of the short list shares the page's creators and hashtags, so the greedy pass
# scans most of it for every slot: in Python that was most of a page's cost. The kernels below work on
# the items' arrays; positions: ``i`` an item (index into ``items`` and the traits), ``k`` a place in the
# short list (``short[k]`` is an item, best score first).


@njit(cache=True, nogil=True)
def _conflicts(i: int, prev: int, creator: np.ndarray, sound: np.ndarray) -> bool:
    """Item ``i`` repeats item ``prev``'s creator or sound (``prev`` < 0: nothing before it)."""
    if prev < 0:
        return False
    c, s = creator[i], sound[i]
    return bool((c >= 0 and c == creator[prev]) or (s >= 0 and s == sound[prev]))


@njit(cache=True, nogil=True)
def _first_fit(explore: np.ndarray, used: np.ndarray, prev: int, creator: np.ndarray, sound: np.ndarray,
               fit: bool) -> int:
    """The first exploration pick not yet placed (that does not repeat ``prev``, when ``fit``), or -1."""
    for e in range(explore.shape[0]):
        if not used[e] and not (fit and _conflicts(explore[e], prev, creator, sound)):
            return e
    return -1


@njit(cache=True, nogil=True)
def _best(short: np.ndarray, alive: np.ndarray, prev: int, creator: np.ndarray, sound: np.ndarray,
          tags: np.ndarray, score: np.ndarray, crep: np.ndarray, trep: np.ndarray, lo: float, span: float,
          decay: float, tag_weight: float) -> int:
    """The place in ``short`` of the best live item that does not repeat ``prev``, by its score scaled into
    [0.5, 1] x ``decay`` ** (``crep[k]``: earlier picks of its creator + ``tag_weight`` x the most
    ``trep[k, a]``: earlier picks of its hashtag ``a``), or of the first live one that does when none
    fits; -1 when none is live. The scaling never raises a value when ``decay <= 1``, so the scan stops at
    the first item whose unscaled value cannot beat the best found."""
    best, best_v, fallback = -1, -1.0, -1
    bounded = decay <= 1.0
    pc = creator[prev] if prev >= 0 else -1
    ps = sound[prev] if prev >= 0 else -1
    for k in range(short.shape[0]):
        if not alive[k]:
            continue
        i = short[k]
        base = 0.5 + 0.5 * (score[i] - lo) / span
        if bounded and base <= best_v:
            break  # this and every later item (lower scores) are worth at most best_v
        c, s = creator[i], sound[i]
        if (pc >= 0 and c == pc) or (ps >= 0 and s == ps):
            if fallback < 0:
                fallback = k
            continue
        repeat = float(crep[k]) if c >= 0 else 0.0
        if repeat > 0.0 and bounded and base * decay**repeat <= best_v:
            continue  # its hashtags could only lower it further
        most = -1
        for a in range(tags.shape[1]):
            if tags[i, a] >= 0 and trep[k, a] > most:
                most = trep[k, a]
        if most >= 0:
            repeat += tag_weight * most
        v = base * decay**repeat if repeat > 0.0 else base
        if v > best_v:
            best, best_v = k, v
    return best if best >= 0 else fallback


@njit(cache=True, nogil=True)
def _greedy(short: np.ndarray, explore: np.ndarray, slot_mask: np.ndarray, n_pos: int, creator: np.ndarray,
            sound: np.ndarray, tags: np.ndarray, score: np.ndarray, lo: float, span: float, decay: float,
            tag_weight: float) -> tuple[np.ndarray, np.ndarray]:
    """Steps 2 and 3 of the module docstring over positions ``0 .. n_pos - 1``: the page's items and, for
    each, whether it fills an exploration slot (``explore``: the exploration picks, best draw first;
    ``slot_mask``: the positions reserved for them)."""
    m, width = short.shape[0], tags.shape[1]
    alive = np.ones(m, dtype=np.bool_)
    used = np.zeros(explore.shape[0], dtype=np.bool_)
    crep = np.zeros(m, dtype=np.int64)  # earlier picks of each short-list item's creator
    trep = np.zeros((m, width), dtype=np.int64)  # ... and of each of its hashtags
    picks = np.empty(n_pos, dtype=np.int64)
    flags = np.zeros(n_pos, dtype=np.bool_)
    n, prev, owed, left = 0, -1, 0, explore.shape[0]
    for pos in range(n_pos):
        pick, explored = -1, False
        if slot_mask[pos]:
            owed += 1
        if owed > 0 and left > 0:
            e = _first_fit(explore, used, prev, creator, sound, True)
            if e >= 0:
                used[e], left, owed = True, left - 1, owed - 1
                pick, explored = explore[e], True
        if pick < 0:
            k = _best(short, alive, prev, creator, sound, tags, score, crep, trep, lo, span, decay, tag_weight)
            pick = short[k] if k >= 0 else -1
            if (pick < 0 or _conflicts(pick, prev, creator, sound)) and left > 0:
                # nothing else fits here: take an exploration pick early rather than break the rule
                e = _first_fit(explore, used, prev, creator, sound, True)
                if e >= 0 or pick < 0:
                    if e < 0:
                        e = _first_fit(explore, used, prev, creator, sound, False)
                    used[e], left = True, left - 1
                    pick, explored = explore[e], True
            if pick >= 0 and not explored:
                alive[k] = False
        if pick < 0:
            break
        picks[n], flags[n] = pick, explored
        n += 1
        c = creator[pick]
        for k in range(m):  # count the pick against every item it shares a creator or hashtag with
            i = short[k]
            if c >= 0 and creator[i] == c:
                crep[k] += 1
            for a in range(width):
                t = tags[i, a]
                if t >= 0:
                    for b in range(width):
                        if tags[pick, b] == t:
                            trep[k, a] += 1
        prev = pick
    return picks[:n], flags[:n]
