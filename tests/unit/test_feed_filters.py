"""Feed filters over the real catalogue and shard folds: seen, unpublished, removed, demoted, age-gated,
not-interested creators and sounds; and the catalogue index kept in step with the log."""

from __future__ import annotations

import random
from pathlib import Path

import msgspec
import numpy as np
import pytest

from actors.seen import SeenSet
from events.ids import new_event_id, now_us
from events.schema import (
    ModerationDecided,
    NotInterested,
    Reported,
    ReviewDecided,
    VideoDetailsSubmitted,
    VideoPublished,
    VideoRemoved,
)
from serve.feed import Catalogue, FeedConfig
from serve.feed.catalogue import DEMOTED
from serve.feed.filters import SeenLabels, viewer_of
from tests.feed_world import World


def _ev(cls: type, **kw: object) -> object:
    return cls(event_id=new_event_id(), ts=now_us(), **kw)


async def _all_pages(w: World, user: str, pages: int = 6, count: int = 20) -> list[str]:
    svc = w.service(config=FeedConfig(await_impressions=True))
    out: list[str] = []
    cursor = None
    for _ in range(pages):
        page = await svc.get_page(user, count, cursor)
        cursor = page.cursor
        out += [i.video_id for i in page.items]
    return out


@pytest.mark.asyncio
async def test_seen_videos_are_not_served_again() -> None:
    w = World()
    w.register("u")
    watched = [f"v-cats-{k}" for k in range(10)]
    for v in watched:
        w.engage("u", v)
    view = await w.states.get_state("u")
    viewer = viewer_of(w.catalogue, "u", view, birth_year=None, served=())
    for v in watched:
        assert not viewer.admits(w.catalogue, w.catalogue.label_of[v])
    served = await _all_pages(w, "u")
    assert not set(served) & set(watched)
    assert any(w.topic_of[v] == "cats" for v in served)  # the topic itself is still served


@pytest.mark.asyncio
async def test_videos_seen_long_ago_are_filtered_through_the_bloom_filter() -> None:
    w = World()
    w.states.params = msgspec.structs.replace(w.states.params, seen_ring=8)  # the user's ring spills early
    w.register("u")
    watched = [f"v-cats-{k}" for k in range(40)]
    for v in watched:
        w.engage("u", v, like=False)
    view = await w.states.get_state("u")
    assert view.bloom and len(view.seen) == 8  # 32 of the 40 are only in the Bloom filter
    viewer = viewer_of(w.catalogue, "u", view, birth_year=None, served=())
    labels = np.array(sorted(w.catalogue.label_of.values()), dtype=np.int64)
    mask = viewer.admit_mask(w.catalogue, labels)
    assert mask.tolist() == [viewer.admits(w.catalogue, int(label)) for label in labels]
    assert not any(mask[labels == w.catalogue.label_of[v]][0] for v in watched)
    assert mask.sum() >= len(labels) - len(watched) - 3  # a few false positives at most


@pytest.mark.asyncio
async def test_unpublished_and_removed_videos_are_never_served() -> None:
    w = World(per_topic=10)
    w.apply([_ev(VideoDetailsSubmitted, video_id="draft", creator_id="c-x", caption="cats",
                 hashtags=("cats",))])  # details but never published
    w.apply([_ev(VideoRemoved, video_id="v-cats-3", reason="spam", by="moderator")])
    cat = w.catalogue
    assert "draft" not in cat.label_of
    label = cat.label_of["v-cats-3"]
    assert not cat.visible(label)
    got, _ = cat.index.query(cat.index.vectors[label], 5)
    assert label not in got.tolist()  # marked deleted in the HNSW graph
    w.register("u")
    w.engage("u", "v-cats-4")
    served = await _all_pages(w, "u", pages=3)
    assert "draft" not in served and "v-cats-3" not in served
    w.apply([_ev(VideoPublished, video_id="v-cats-3", creator_id="c-cats-3")])  # reinstated
    assert cat.visible(label) and label in cat.index.query(cat.index.vectors[label], 5)[0].tolist()


@pytest.mark.asyncio
async def test_private_videos_stay_out_of_the_feed() -> None:
    w = World(per_topic=5)
    w.apply([_ev(VideoDetailsSubmitted, video_id="mine", creator_id="c1", privacy="private"),
             _ev(VideoPublished, video_id="mine", creator_id="c1")])
    assert "mine" not in w.catalogue.label_of


@pytest.mark.asyncio
async def test_mature_videos_only_reach_adults() -> None:
    w = World(per_topic=10)
    mature = [f"v-dance-{k}" for k in range(10)]
    w.apply([_ev(ModerationDecided, video_id=v, decision="approve", age_rating="mature") for v in mature])
    year = 2026 - 15
    w.register("teen", birth_year=year)
    w.register("adult", birth_year=1980)
    w.register("unknown", birth_year=None)
    for user in ("teen", "adult", "unknown"):
        w.engage(user, "v-dance-0" if user == "adult" else "v-cats-0")
    assert not set(await _all_pages(w, "teen", pages=4)) & set(mature)
    assert not set(await _all_pages(w, "unknown", pages=4)) & set(mature)
    assert set(await _all_pages(w, "adult", pages=4)) & set(mature)


@pytest.mark.asyncio
async def test_not_interested_creator_and_sound_are_dropped() -> None:
    w = World()
    w.register("u")
    for k in range(6):
        w.engage("u", f"v-cats-{10 + k}")
    # creator c-cats-1 (videos 1, 11, 21, ...) and sound s-cats-2 (videos 2, 9, 16, ...)
    w.apply([_ev(NotInterested, user_id="u", video_id="v-cats-1", creator_id="c-cats-1"),
             _ev(NotInterested, user_id="u", video_id="v-cats-2", sound_id="s-cats-2")])
    served = await _all_pages(w, "u", pages=4)
    cats = [v for v in served if w.topic_of[v] == "cats"]
    assert len(cats) >= 20
    cat = w.catalogue
    assert all(cat.creator_of(cat.label_of[v]) != "c-cats-1" for v in served)
    assert all(cat.sound_of(cat.label_of[v]) != "s-cats-2" for v in served)


@pytest.mark.asyncio
async def test_demoted_after_more_than_ten_reporters_and_ranked_lower() -> None:
    w = World(per_topic=20)
    cat = w.catalogue
    target = "v-cats-5"
    label = cat.label_of[target]
    w.apply([_ev(Reported, user_id="same", video_id=target, reason="spam") for _ in range(20)])
    assert not cat.flags[label] & DEMOTED  # one user counts once
    w.apply([_ev(Reported, user_id=f"r{k}", video_id=target, reason="spam") for k in range(9)])
    assert not cat.flags[label] & DEMOTED  # 10 reporters
    w.apply([_ev(Reported, user_id="r9", video_id=target, reason="spam")])
    assert cat.flags[label] & DEMOTED  # more than 10

    async def score_of(user: str) -> float:
        w.register(user)
        for k in range(8):
            w.engage(user, f"v-cats-{k + 10}")
        page = await w.service().get_page(user, 50)
        return next(i.score for i in page.items if i.video_id == target)

    demoted = await score_of("u1")
    w.apply([_ev(ReviewDecided, video_id=target, moderator_id="m", decision="approve")])
    assert not cat.flags[label] & DEMOTED  # a reviewer cleared it
    cleared = await score_of("u2")
    assert demoted == pytest.approx(cleared * 0.5, rel=0.05)


def test_catalogue_snapshot_round_trip(tmp_path: Path) -> None:
    w = World(per_topic=30)
    w.apply([_ev(VideoRemoved, video_id="v-cats-0")])
    w.catalogue.save(tmp_path / "snap", {"positions": {0: 5}})
    loaded, extra = Catalogue.load(tmp_path / "snap")
    assert extra == {"positions": {0: 5}}
    cat = w.catalogue
    assert loaded.video_ids == cat.video_ids and len(loaded) == len(cat)
    assert (loaded.flags[: len(cat.video_ids)] == cat.flags[: len(cat.video_ids)]).all()
    q = cat.index.vectors[cat.label_of["v-dance-4"]]
    assert loaded.index.query(q, 10)[0].tolist() == cat.index.query(q, 10)[0].tolist()
    assert loaded.recent("hashtag", "dance", 5) == cat.recent("hashtag", "dance", 5)
    assert not loaded.visible(loaded.label_of["v-cats-0"])
    loaded.observe(_ev(VideoDetailsSubmitted, video_id="n1", creator_id="c-new", hashtags=("cats",)))
    loaded.observe(_ev(VideoPublished, video_id="n1", creator_id="c-new"))
    assert loaded.recent("creator", "c-new", 3) == [loaded.label_of["n1"]]
    assert np.isclose(np.linalg.norm(loaded.index.vectors[loaded.label_of["n1"]]), 1.0)


def test_seen_labels_follow_the_seen_set_across_requests() -> None:
    w = World(per_topic=10)
    cat = w.catalogue
    known = SeenLabels(max_users=2, max_ids=6)
    label = cat.label_of
    first = known.of(cat, "u", ["v-cats-1", "v-cats-2", "v-not-yet"])
    assert first.tolist() == sorted([label["v-cats-1"], label["v-cats-2"]])
    # the next request: one id more at the ring's end, one left it (it stays: it is in the user's Bloom filter now)
    second = known.of(cat, "u", ["v-cats-2", "v-not-yet", "v-cats-3"])
    assert second.tolist() == sorted([label["v-cats-1"], label["v-cats-2"], label["v-cats-3"]])
    # an id the catalogue learns later is looked up again
    w.apply([_ev(VideoDetailsSubmitted, video_id="v-not-yet", creator_id="c", caption="new", hashtags=("x",)),
             _ev(VideoPublished, video_id="v-not-yet", creator_id="c")])
    third = known.of(cat, "u", ["v-not-yet", "v-cats-3"])
    assert label["v-not-yet"] in third.tolist() and len(third) == 4
    # past max_ids the entry is rebuilt from the current ring; past max_users the oldest user goes
    many = [f"v-dance-{k}" for k in range(7)]
    assert len(known.of(cat, "u", many)) == 11
    assert known.of(cat, "u", ["v-cats-1"]).tolist() == [label["v-cats-1"]]
    known.of(cat, "a", [])
    known.of(cat, "b", [])
    assert len(known) == 2


def test_seen_labels_take_the_ring_and_the_served_ids_and_grow_by_what_is_new() -> None:
    w = World(per_topic=10)
    cat, label = w.catalogue, w.catalogue.label_of
    known = SeenLabels()
    served, ring = ["v-cats-1", "v-dance-2"], ["v-dance-2", "v-cats-3", "v-nowhere"]
    first = known.of(cat, "u", ring, served)
    assert first.tolist() == sorted(label[v] for v in ("v-cats-1", "v-dance-2", "v-cats-3"))
    assert known.of(cat, "u", ring, served) is first  # nothing new: the same labels, nothing rebuilt
    page = ["v-dance-5", "v-cats-0", "v-dance-2"]  # a page served here: in before the ring has it
    known.served("u", page, np.array([label[v] for v in page], dtype=np.int64))
    more = known.of(cat, "u", ring)
    assert more.tolist() == sorted(label[v] for v in ("v-cats-1", "v-dance-2", "v-cats-3", "v-dance-5", "v-cats-0"))
    assert first.tolist() == sorted(label[v] for v in ("v-cats-1", "v-dance-2", "v-cats-3"))  # untouched
    known.served("nobody", ["v-cats-4"], np.array([label["v-cats-4"]]))  # no entry: the next request reads them
    assert known.of(cat, "nobody", [], ["v-cats-4"]).tolist() == [label["v-cats-4"]]


def test_seen_labels_read_the_whole_ring_while_the_user_has_held_events() -> None:
    w = World(per_topic=10)
    cat, label = w.catalogue, w.catalogue.label_of
    known = SeenLabels()
    known.of(cat, "u", ["v-cats-1", "v-dance-2", "v-dance-7"], whole=True)  # the last two: held, sorted
    # a newly held id sorts before the newest one the last request saw: only a whole read finds it
    ring = ["v-cats-1", "v-dance-2", "v-dance-5", "v-dance-7"]
    assert label["v-dance-5"] not in known.of(cat, "u", ring).tolist()  # (what a suffix read misses)
    assert label["v-dance-5"] in known.of(cat, "u", ring, whole=True).tolist()


def test_seen_labels_match_the_whole_set_as_a_fifo_ring_moves() -> None:
    w = World(per_topic=10)
    cat, label = w.catalogue, w.catalogue.label_of
    pool = [*sorted(label), "v-gone-1", "v-gone-2"]  # with two ids the catalogue never has
    rng = random.Random(5)
    for ring_size in (3, 8):
        known = SeenLabels(max_ids=10_000)
        ring = SeenSet(ring=ring_size, bits=8 * 64)
        ever: set[str] = set()
        for _ in range(60):
            for _ in range(rng.randint(0, 2 * ring_size)):  # sometimes more than the ring holds
                ring.add(rng.choice(pool))
            recent = ring.recent()
            ever.update(recent)
            got = known.of(cat, "u", recent)
            assert got.tolist() == sorted(label[v] for v in ever if v in label)


class _Nowhere:
    """An impression sink whose events never reach the user's state (a shard far behind)."""

    async def append(self, events: list[object]) -> None:
        return None


@pytest.mark.asyncio
@pytest.mark.parametrize("scroll", [True, False])
async def test_what_a_page_served_is_not_served_again_before_the_shard_folds_it(scroll: bool) -> None:
    w = World()
    w.register("u")
    svc = w.service(config=FeedConfig(await_impressions=False), impressions=_Nowhere())
    shown: list[str] = []
    cursor = None
    for _ in range(5):  # with the cursor (slates) and without (each page ranked from retrieval up)
        page = await svc.get_page("u", 8, cursor if scroll else None)
        cursor = page.cursor
        shown += [i.video_id for i in page.items]
    assert (await w.states.get_state("u")).seen == []  # the shard never saw an impression
    assert len(shown) == len(set(shown)) == 40


@pytest.mark.asyncio
async def test_the_batch_filter_by_label_admits_what_the_one_by_one_filter_admits() -> None:
    w = World()
    w.register("u")
    for v in [f"v-cats-{k}" for k in range(12)]:
        w.engage("u", v, like=False)
    view = await w.states.get_state("u")
    viewer = viewer_of(w.catalogue, "u", view, birth_year=None, served=("v-dance-3", "v-dance-4"))
    viewer.seen_labels = SeenLabels().of(w.catalogue, "u", view.seen, viewer.seen_recent)
    labels = np.array(sorted(w.catalogue.label_of.values()), dtype=np.int64)
    mask = viewer.admit_mask(w.catalogue, labels)
    assert mask.tolist() == [viewer.admits(w.catalogue, int(label)) for label in labels]
    assert (~mask).sum() == 14
