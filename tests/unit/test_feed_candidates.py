"""``Pool.offer`` / ``offer_many`` (array filter) admit exactly what the one-label-at-a-time filter admits, in order."""

from __future__ import annotations

import random

import pytest

from events.ids import new_event_id, now_us
from events.schema import ModerationDecided, NotInterested, VideoRemoved
from serve.feed.candidates import SOURCES, Pool
from serve.feed.filters import viewer_of
from tests.feed_world import World


def _reference(pool_limit: int, offers: list[tuple[str, list[int], list[float]]], admits: object,
               ids: list[str]) -> list[tuple[int, str, float]]:
    out: list[tuple[int, str, float]] = []
    seen: set[int] = set()
    for source, labels, scores in offers:
        for label, score in zip(labels, scores, strict=False):
            if len(out) >= pool_limit:
                break
            if label in seen or label < 0:
                continue
            seen.add(label)
            if admits(label):  # type: ignore[operator]
                out.append((label, source, score))
    return out


@pytest.mark.asyncio
@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_pool_matches_the_per_label_filter(seed: int) -> None:
    w = World(per_topic=30, seed=seed)
    ev = {"event_id": "", "ts": now_us()}
    w.apply([ModerationDecided(**{**ev, "event_id": new_event_id()}, video_id=f"v-dance-{k}", decision="approve",
                               age_rating="mature") for k in range(10)])
    w.apply([VideoRemoved(**{**ev, "event_id": new_event_id()}, video_id=f"v-cats-{k}", reason="spam", by="m")
             for k in range(5)])
    w.register("u", birth_year=2015 if seed == 2 else 1990)
    for k in range(12):
        w.engage("u", f"v-music-{k}")
    w.apply([NotInterested(event_id=new_event_id(), ts=now_us(), user_id="u", video_id="v-travel-1",
                           creator_id="c-travel-1"),
             NotInterested(event_id=new_event_id(), ts=now_us(), user_id="u", video_id="v-cooking-2",
                           sound_id="s-cooking-2")])
    view = await w.states.get_state("u")
    cat = w.catalogue
    viewer = viewer_of(cat, "u", view, birth_year=None, served=[f"v-football-{k}" for k in range(6)])
    rng = random.Random(seed)
    n = len(cat.video_ids)
    offers = [(rng.choice(SOURCES), [rng.randrange(-1, n) for _ in range(rng.randrange(0, 60))], [])
              for _ in range(12)]
    offers = [(s, labels, [rng.random() for _ in labels]) for s, labels, _ in offers]
    for limit in (20, 120, 10_000):
        pool = Pool(cat, viewer, limit)
        for source, labels, scores in offers:
            pool.offer(source, labels, scores)
        got = [(c.label, c.source, c.retrieval) for c in pool.items]
        want = _reference(limit, offers, lambda lab: viewer.admits(cat, lab), cat.video_ids)
        assert got == want
        assert all(c.video_id == cat.video_ids[c.label] for c in pool.items)
        at_once = Pool(cat, viewer, limit)  # one filter pass over every source's offer
        at_once.offer_many(offers)
        assert [(c.label, c.source, c.retrieval) for c in at_once.items] == want
        assert at_once.offered == pool.offered
    # the filter itself rejects every kind of unwanted video somewhere in the catalogue
    rejected = {cat.video_ids[lab] for lab in range(n) if not viewer.admits(cat, lab)}
    assert {"v-cats-0", "v-music-3", "v-football-2", "v-travel-1", "v-cooking-2"} <= rejected
    assert ("v-dance-0" in rejected) == (seed == 2)
