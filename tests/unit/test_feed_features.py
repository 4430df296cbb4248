"""``build_rows`` (column-wise) against the per-candidate definition of every feature column.

The reference below is the row-at-a-time definition (one Python loop per candidate); the serving
code computes the same columns with array operations. They must agree on every cell, for users with
and without state, affinities, follows, and videos with zero, one or many hashtags and no sound.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import numpy as np
import pytest

from actors.view import UserView, session_vector
from events.ids import new_event_id, now_us
from events.schema import Followed, VideoDetailsSubmitted, VideoPublished
from projections.features import DEFAULT_CONFIG, UserFeatures, VideoStats
from serve.feed.candidates import SOURCES, Candidate, user_vector
from serve.feed.catalogue import Catalogue
from serve.feed.features import COL, FEATURES, build_rows
from tests.feed_world import TOPICS, World

_RATES = (("v_complete", "completes", "complete"), ("v_like", "likes", "like"),
          ("v_share", "shares", "share"), ("v_comment", "comments", "comment"), ("v_skip", "skips", "skip"))


def _reference_rows(cat: Catalogue, cands: Sequence[Candidate], view: UserView | None,
                    user: UserFeatures | None, stats: Sequence[VideoStats | None], *,
                    user_vec: np.ndarray | None, now_us: int) -> np.ndarray:
    x = np.zeros((len(cands), len(FEATURES)), dtype=np.float32)
    known = user is not None and user.known
    for i, c in enumerate(cands):
        row = x[i]
        e = cat.index.vectors[c.label]
        if user_vec is not None:
            row[COL["sim"]] = e @ user_vec
        if view is not None:
            s = np.asarray(session_vector(view, now_us), dtype=np.float32)
            if s.size and np.linalg.norm(s) >= 1e-6:
                row[COL["sim_short"]] = e @ (s / np.linalg.norm(s))
            lv = np.asarray(view.long, dtype=np.float32)
            if lv.size and np.linalg.norm(lv) >= 1e-6:
                row[COL["sim_long"]] = e @ (lv / np.linalg.norm(lv))
            row[COL["u_personalisation"]] = view.personalisation
            row[COL["u_views_log"]] = math.log1p(view.counts.views)
        row[COL["age_h_log"]] = math.log1p(max(now_us - int(cat.published_us[c.label]), 0) / 3.6e9)
        row[COL["src_" + c.source]] = 1.0
        row[COL["retrieval"]] = c.retrieval
        st = stats[i] or VideoStats()
        row[COL["v_views_log"]] = math.log1p(st.views)
        row[COL["v_impr_log"]] = math.log1p(st.impressions)
        for col, attr, prior in _RATES:
            a, b = DEFAULT_CONFIG.priors[prior]
            n = getattr(st, attr)
            if attr in ("likes", "shares", "comments"):
                n = min(n, st.views)
            row[COL[col]] = (n + a) / (st.views + a + b)
        row[COL["v_watch_log"]] = math.log1p((st.watch_ms / st.views if st.views else 0.0) / 1000.0)
        creator = cat.creator_of(c.label)
        if creator is not None and view is not None and creator in view.following:
            row[COL["x_follows"]] = 1.0
        if not known:
            continue
        assert user is not None
        if user.creators and creator is not None:
            row[COL["x_creator"]] = math.log1p(user.creators.get(creator, 0.0))
        tags = [user.hashtags.get(h, 0.0) for h in cat.hashtags_of(c.label)]
        if user.hashtags and tags:
            row[COL["x_hashtag_max"]] = math.log1p(max(tags))
            row[COL["x_hashtag_sum"]] = math.log1p(sum(tags))
        sound = cat.sound_of(c.label)
        if user.sounds and sound is not None:
            row[COL["x_sound"]] = math.log1p(user.sounds.get(sound, 0.0))
    return x


def _world() -> World:
    w = World(per_topic=20, seed=3)
    ts = now_us()
    odd = []
    for k, tags in enumerate([(), ("cats",), ("cats", "dance", "music", "travel", "cooking", "x1", "x2")]):
        vid = f"v-odd-{k}"
        odd.append(VideoDetailsSubmitted(event_id=new_event_id(), ts=ts, video_id=vid, creator_id="c-cats-1",
                                         caption="odd", hashtags=tags, sound_id=None))
        odd.append(VideoPublished(event_id=new_event_id(), ts=ts + 1, video_id=vid, creator_id="c-cats-1"))
    w.apply(odd)
    w.register("fan")
    rng = random.Random(5)
    for _ in range(25):
        w.engage("fan", f"v-{rng.choice(TOPICS[:3])}-{rng.randrange(20)}", like=rng.random() < 0.5)
    w.apply([Followed(event_id=new_event_id(), ts=now_us(), user_id="fan", creator_id="c-cats-1"),
             Followed(event_id=new_event_id(), ts=now_us(), user_id="fan", creator_id="c-nobody")])
    w.register("newbie")
    return w


@pytest.mark.asyncio
@pytest.mark.parametrize("user", ["fan", "newbie", "stranger"])
async def test_build_rows_matches_the_per_candidate_definition(user: str) -> None:
    w = _world()
    cat = w.catalogue
    svc = w.service()
    view = await w.states.get_state(user)
    ufeat = await svc.features.user(user)  # type: ignore[union-attr]
    rng = random.Random(11)
    labels = list(range(len(cat.video_ids)))
    rng.shuffle(labels)
    cands = [Candidate(lab, cat.video_ids[lab], rng.choice(SOURCES), rng.random()) for lab in labels]
    stats = await svc.features.video_stats([c.video_id for c in cands])  # type: ignore[union-attr]
    stats = [None if i % 5 == 0 else s for i, s in enumerate(stats)]  # some videos unknown to the store
    assert any(s is not None and s.views for s in stats)
    now = now_us()
    uvec = user_vector(view, now, 0.7)
    got = build_rows(cat, cands, view, ufeat, stats, user_vec=uvec, now_us=now)
    want = _reference_rows(cat, cands, view, ufeat, stats, user_vec=uvec, now_us=now)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    if user == "fan":  # the cross features are exercised, not all zero
        for col in ("x_creator", "x_hashtag_max", "x_hashtag_sum", "x_sound", "x_follows"):
            assert got[:, COL[col]].any(), col
    # without shard state or features (the fallback's inputs)
    bare = build_rows(cat, cands, None, None, [None] * len(cands), user_vec=None, now_us=now)
    np.testing.assert_allclose(bare, _reference_rows(cat, cands, None, None, [None] * len(cands), user_vec=None,
                                                     now_us=now), rtol=1e-6, atol=1e-6)


def test_build_rows_of_no_candidates_is_empty() -> None:
    w = World(per_topic=2)
    x = build_rows(w.catalogue, [], None, None, [], user_vec=None, now_us=now_us())
    assert x.shape == (0, len(FEATURES))


def test_catalogue_snapshot_keeps_the_hashtag_matrix(tmp_path: object) -> None:
    from pathlib import Path

    w = _world()
    path = Path(str(tmp_path)) / "snap"
    w.catalogue.save(path)
    loaded, _ = Catalogue.load(path)
    n = len(w.catalogue.video_ids)
    labels = np.arange(n)
    a, b = w.catalogue.tag_matrix(labels), loaded.tag_matrix(labels)
    width = max(a.shape[1], b.shape[1])
    pad = lambda m: np.pad(m, ((0, 0), (0, width - m.shape[1])), constant_values=-1)  # noqa: E731
    assert (pad(a) == pad(b)).all()
    assert (a >= 0).sum(axis=1).max() == 7


@pytest.mark.asyncio
async def test_build_rows_takes_the_counts_as_a_matrix_too() -> None:
    from serve.feed.features import stats_matrix

    w = _world()
    cat, svc = w.catalogue, w.service()
    view = await w.states.get_state("fan")
    ufeat = await svc.features.user("fan")  # type: ignore[union-attr]
    cands = [Candidate(lab, cat.video_ids[lab], SOURCES[lab % len(SOURCES)], 0.1) for lab in range(len(cat))]
    stats = await svc.features.video_stats([c.video_id for c in cands])  # type: ignore[union-attr]
    now = now_us()
    uvec = user_vector(view, now, 0.7)
    want = build_rows(cat, cands, view, ufeat, stats, user_vec=uvec, now_us=now)
    got = build_rows(cat, cands, view, ufeat, stats_matrix(stats), user_vec=uvec, now_us=now,
                     session_vec=np.asarray(session_vector(view, now), dtype=np.float32))
    np.testing.assert_array_equal(got, want)
