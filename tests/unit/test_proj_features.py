"""Features: counts, Bayesian smoothing, freshness, affinity ordering and bounds, batch reads."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events import (
    Commented,
    Followed,
    Impression,
    Liked,
    NotInterested,
    Reported,
    Shared,
    Unliked,
    VideoDetailsSubmitted,
    VideoPublished,
    ViewEnded,
)
from projections.base import DictView, fold_all
from projections.features import (
    PROJECTION,
    FeatureConfig,
    FeaturesProjection,
    cross_features,
    smoothed,
    user_features,
    video_features,
    video_features_many,
)
from tests.fold_checks import check_fold_laws
from tests.strategies import T0, event_lists, unknown_ref_event

DAY = 86_400_000_000
_n = iter(range(10**9))


def eid() -> str:
    return f"e{next(_n)}"


def details(video, creator, tags=(), sound=None, ts=T0):
    return VideoDetailsSubmitted(
        event_id=eid(), ts=ts, video_id=video, creator_id=creator, hashtags=tags, sound_id=sound
    )


def watch(user, video, ts=T0, ms=9_500, dur=10_000, loops=0):
    return ViewEnded(
        event_id=eid(), ts=ts, user_id=user, video_id=video, watch_ms=ms, duration_ms=dur, loops=loops
    )


def impression(user, video, ts=T0):
    return Impression(event_id=eid(), ts=ts, user_id=user, video_id=video, request_id="r", position=0)


def test_smoothing_formula():
    assert smoothed(0, 0, (1.0, 19.0)) == pytest.approx(0.05)
    assert smoothed(3, 10, (1.0, 19.0)) == pytest.approx(4 / 30)
    assert smoothed(500, 1000, (1.0, 19.0)) == pytest.approx(501 / 1020)


def test_video_counts_and_smoothed_rates():
    cfg = FeatureConfig()
    events = [details("v1", "c1")]
    events += [impression(f"u{i}", "v1", T0 + i) for i in range(10)]
    events += [watch("u0", "v1", T0 + 20), watch("u1", "v1", T0 + 21, ms=1_000)]  # complete, skip
    events += [watch("u2", "v1", T0 + 22, ms=4_000, loops=1)]  # looped: complete
    events += [
        Liked(event_id=eid(), ts=T0 + 30, user_id="u0", video_id="v1"),
        Liked(event_id=eid(), ts=T0 + 31, user_id="u1", video_id="v1"),
        Unliked(event_id=eid(), ts=T0 + 32, user_id="u1", video_id="v1"),
        Shared(event_id=eid(), ts=T0 + 33, user_id="u0", video_id="v1"),
        Commented(event_id=eid(), ts=T0 + 34, user_id="u0", video_id="v1", comment_id="c", text="x"),
        Reported(event_id=eid(), ts=T0 + 35, user_id="u3", video_id="v1", reason="spam"),
    ]
    f = video_features(fold_all(PROJECTION, events), "v1")
    assert f.known and f.creator_id == "c1"
    assert (f.impressions, f.views, f.completes, f.skips) == (10, 3, 2, 1)
    assert (f.likes, f.shares, f.comments, f.reports) == (1, 1, 1, 1)
    assert f.mean_watch_ms == pytest.approx((9_500 + 1_000 + 4_000) / 3)
    p = cfg.priors
    assert f.completion_rate == pytest.approx((2 + p["complete"][0]) / (3 + sum(p["complete"])))
    assert f.skip_rate == pytest.approx((1 + p["skip"][0]) / (3 + sum(p["skip"])))
    assert f.like_rate == pytest.approx((1 + p["like"][0]) / (3 + sum(p["like"])))
    assert f.share_rate == pytest.approx((1 + p["share"][0]) / (3 + sum(p["share"])))
    assert f.comment_rate == pytest.approx((1 + p["comment"][0]) / (3 + sum(p["comment"])))
    assert f.view_rate == pytest.approx((3 + 1) / (10 + 2))
    assert f.updated_ts == T0 + 35  # freshness: the newest event folded into it


def test_unknown_video_gets_prior_rates_and_priors_are_configurable():
    cfg = FeatureConfig(priors={**FeatureConfig().priors, "like": (2.0, 8.0)})
    f = video_features(DictView(), "nope", config=cfg)
    assert not f.known and f.views == 0 and f.updated_ts == 0
    assert f.like_rate == pytest.approx(0.2)
    assert f.completion_rate == pytest.approx(0.3)


def test_batch_matches_single_reads_in_order():
    events = [
        details("v1", "c1"),
        watch("u", "v1"),
        impression("u", "v2"),
        Liked(event_id=eid(), ts=T0 + 9, user_id="u", video_id="v3"),
    ]
    view = fold_all(PROJECTION, events)
    ids = ["v3", "missing", "v1", "v2"]
    assert video_features_many(view, ids) == [video_features(view, v) for v in ids]


def test_user_aggregates_and_freshness():
    events = [
        details("v1", "c1", ("cats",), "s1"),
        watch("u", "v1", T0 + 1),
        watch("u", "v1", T0 + 2, ms=500),  # skip
        Liked(event_id=eid(), ts=T0 + 3, user_id="u", video_id="v1"),
        impression("u", "v1", T0 + 50),  # impressions do not touch the user entry
    ]
    f = user_features(fold_all(PROJECTION, events), "u")
    assert f.known and (f.views, f.completes, f.skips, f.likes) == (2, 1, 1, 1)
    assert f.mean_watch_ms == pytest.approx(5_000)
    assert f.updated_ts == T0 + 3
    assert not user_features(DictView(), "nobody").known


def test_affinities_order_by_decayed_engagement():
    cfg = FeatureConfig()
    events = [
        details("cat1", "kitty", ("#Cats", "pets"), "purr"),
        details("dog1", "doggo", ("dogs", "pets"), "woof"),
        details("cat2", "kitty", ("cats",), "purr"),
    ]
    events += [watch("u", "cat1", T0 + 1), watch("u", "cat2", T0 + 2)]
    events += [Liked(event_id=eid(), ts=T0 + 3, user_id="u", video_id="dog1")]
    events += [watch("u", "dog1", T0 + 4, ms=2_000)]  # a skip adds no affinity
    f = user_features(fold_all(PROJECTION, events), "u", now_us=T0 + 4)
    # kitty: two completions (0.95 each) vs doggo: one like (2.0)
    assert list(f.creators) == ["doggo", "kitty"]
    assert f.creators["kitty"] == pytest.approx(1.9, rel=1e-6)
    assert f.creators["doggo"] == pytest.approx(cfg.w_like, rel=1e-6)
    assert list(f.hashtags) == ["pets", "dogs", "cats"]  # pets: cat1's view and dog1's like
    assert f.hashtags["pets"] == pytest.approx(0.95 + 2.0, rel=1e-6)
    assert f.hashtags["cats"] == pytest.approx(1.9, rel=1e-6)  # "#Cats" and "cats" are one hashtag
    assert list(f.sounds) == ["woof", "purr"]
    # decay: one half-life later every score halves, the order stays
    later = user_features(fold_all(PROJECTION, events), "u", now_us=T0 + 4 + cfg.half_life_us)
    assert later.creators["kitty"] == pytest.approx(0.95, rel=1e-6)
    assert list(later.creators) == list(f.creators)


def test_cross_features_look_up_the_videos_creator_hashtags_and_sound():
    events = [
        details("v1", "kitty", ("cats", "pets"), "purr"),
        details("v2", "doggo", ("dogs", "pets"), "woof"),
        details("v3", "other", ("cars",)),
        watch("u", "v1", T0),
    ]
    view = fold_all(PROJECTION, events)
    user = user_features(view, "u")
    c1 = cross_features(user, video_features(view, "v1"))
    assert (c1.creator, c1.hashtag_max, c1.hashtag_sum, c1.sound) == pytest.approx((0.95, 0.95, 1.9, 0.95))
    c2 = cross_features(user, video_features(view, "v2"))
    assert (c2.creator, c2.hashtag_max, c2.sound) == pytest.approx((0.0, 0.95, 0.0))
    c3 = cross_features(user, video_features(view, "nope"))
    assert (c3.creator, c3.hashtag_sum, c3.sound) == (0.0, 0.0, 0.0)


def test_recent_engagement_outweighs_old_engagement():
    cfg = FeatureConfig(half_life_us=DAY)
    proj = FeaturesProjection(cfg)
    events = [details("a", "old"), details("b", "new")]
    events += [watch("u", "a", T0 + i) for i in range(4)]  # 3.8 at T0
    events += [watch("u", "b", T0 + 3 * DAY)]  # 0.95 at T0 + 3d, when old's is 3.8 / 8
    f = user_features(fold_all(proj, events), "u", config=cfg)
    assert list(f.creators) == ["new", "old"]
    assert f.updated_ts == T0 + 3 * DAY


def test_follow_and_not_interested():
    events = [
        details("v1", "c1", sound="s1"),
        details("v2", "c2", sound="s2"),
        watch("u", "v1", T0 + 1),
        watch("u", "v2", T0 + 2),
        Followed(event_id=eid(), ts=T0 + 3, user_id="u", creator_id="c9"),
        Followed(event_id=eid(), ts=T0 + 3, user_id="u", creator_id="u"),  # self-follow: nothing
        NotInterested(event_id=eid(), ts=T0 + 4, user_id="u", video_id="v1"),  # creator/sound of v1
    ]
    f = user_features(fold_all(PROJECTION, events), "u")
    assert list(f.creators) == ["c9", "c2"]
    assert list(f.sounds) == ["s2"]
    assert f.updated_ts == T0 + 4


def test_affinities_are_bounded():
    cfg = FeatureConfig(top_n=5, slack=3)
    proj = FeaturesProjection(cfg)
    events = [details(f"v{i}", f"c{i}") for i in range(30)]
    events += [watch("u", f"v{i}", T0 + i, ms=10_000 if i % 2 else 5_000) for i in range(30)]
    view = fold_all(proj, events)
    stored = view.get("u:u")
    assert len(stored.creators) <= cfg.top_n + cfg.slack
    f = user_features(view, "u", config=cfg)
    assert len(f.creators) == 5
    # the strongest (full views) survive trimming, best first
    assert all(int(c[1:]) % 2 == 1 for c in f.creators)
    assert list(f.creators.values()) == sorted(f.creators.values(), reverse=True)


def test_video_reference_from_publication_only():
    events = [
        VideoPublished(event_id=eid(), ts=T0, video_id="v1", creator_id="c1"),
        watch("u", "v1", T0 + 1),
    ]
    view = fold_all(PROJECTION, events)
    assert video_features(view, "v1").creator_id == "c1"
    assert list(user_features(view, "u").creators) == ["c1"]


@settings(max_examples=60, deadline=None)
@given(event_lists(max_size=80), st.integers(0, 80))
def test_fold_laws(events, split):
    view = check_fold_laws(FeaturesProjection(FeatureConfig(top_n=2, slack=1)), events, split)
    for key, value in view.data.items():
        if key.startswith("u:"):
            assert len(value.creators) <= 3 and len(value.hashtags) <= 3
            assert value.completes <= value.views and value.skips <= value.views


@settings(max_examples=30, deadline=None)
@given(st.lists(unknown_ref_event(), max_size=20))
def test_unknown_references_never_raise(events):
    check_fold_laws(PROJECTION, events, len(events) // 2)
