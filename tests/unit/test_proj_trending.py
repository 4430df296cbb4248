"""Trending: decay math, exact bounded top-K per scope against brute force, scopes, lifecycle, laws."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events import (
    Commented,
    Liked,
    Shared,
    UserRegistered,
    VideoDetailsSubmitted,
    VideoPublished,
    VideoRemoved,
    ViewEnded,
)
from projections.base import DictView, apply, fold_all
from projections.trending import (
    PROJECTION,
    TrendingConfig,
    TrendingProjection,
    engagement_weight,
    top,
    trending_since,
    video_score,
)
from tests.fold_checks import check_fold_laws
from tests.strategies import T0, event_lists, unknown_ref_event

H = 6 * 3_600_000_000  # the default half-life
_n = iter(range(10**9))


def eid() -> str:
    return f"e{next(_n)}"


def publish(video: str, creator: str = "c1", ts: int = T0, tags=(), sound=None):
    return [
        VideoDetailsSubmitted(
            event_id=eid(), ts=ts, video_id=video, creator_id=creator, hashtags=tags, sound_id=sound
        ),
        VideoPublished(event_id=eid(), ts=ts, video_id=video, creator_id=creator),
    ]


def like(user: str, video: str, ts: int) -> Liked:
    return Liked(event_id=eid(), ts=ts, user_id=user, video_id=video)


def user(uid: str, region: str) -> UserRegistered:
    return UserRegistered(event_id=eid(), ts=T0, user_id=uid, region=region)


def test_velocity_halves_every_half_life():
    view = fold_all(PROJECTION, [*publish("v1"), like("a", "v1", T0)])
    assert video_score(view, "v1", now_us=T0) == pytest.approx(3.0)
    assert video_score(view, "v1", now_us=T0 + H) == pytest.approx(1.5)
    assert video_score(view, "v1", now_us=T0 + 2 * H) == pytest.approx(0.75)
    # a second like one half-life later: 3 * 1/2 + 3
    apply(view, PROJECTION.fold(view, like("b", "v1", T0 + H)))
    assert video_score(view, "v1", now_us=T0 + H) == pytest.approx(4.5)
    assert top(view, "global", now_us=T0 + 3 * H)[0].score == pytest.approx(4.5 / 4)


def test_half_life_is_configurable():
    proj = TrendingProjection(TrendingConfig(half_life_us=1_000_000))
    view = fold_all(proj, [*publish("v1"), like("a", "v1", T0)])
    assert video_score(view, "v1", now_us=T0 + 3_000_000, config=proj.config) == pytest.approx(3.0 / 8)


def test_weights_completion_loops_shares_comments():
    cfg = TrendingConfig()
    half = ViewEnded(event_id="x", ts=T0, user_id="a", video_id="v", watch_ms=5_000, duration_ms=10_000)
    looped = ViewEnded(
        event_id="x", ts=T0, user_id="a", video_id="v", watch_ms=5_000, duration_ms=10_000, loops=2
    )
    assert engagement_weight(half, cfg) == pytest.approx(0.5)
    assert engagement_weight(looped, cfg) == pytest.approx(2.5)
    assert engagement_weight(Shared(event_id="x", ts=T0, user_id="a", video_id="v"), cfg) == cfg.w_share
    comment = Commented(event_id="x", ts=T0, user_id="a", video_id="v", comment_id="c", text="hi")
    assert engagement_weight(comment, cfg) == cfg.w_comment
    assert engagement_weight(user("a", "GB"), cfg) == 0.0


def test_only_published_live_videos_are_listed():
    events = [like("a", "v1", T0), like("a", "v2", T0)]  # engagement before publication still counts
    view = fold_all(PROJECTION, events)
    assert top(view, now_us=T0) == []
    fold_all(PROJECTION, publish("v1", ts=T0 + 1), view)
    assert [i.video_id for i in top(view, now_us=T0)] == ["v1"]
    assert top(view, now_us=T0)[0].score == pytest.approx(3.0)
    fold_all(PROJECTION, [VideoRemoved(event_id=eid(), ts=T0 + 2, video_id="v1")], view)
    assert top(view, now_us=T0) == []
    fold_all(PROJECTION, [like("b", "v1", T0 + 3)], view)
    assert top(view, now_us=T0) == []


def test_scopes_region_hashtag_sound():
    events = [
        user("gb", "GB"),
        user("us", "US"),
        *publish("v1", tags=("#Cats", "cats", "fun"), sound="s1"),
        *publish("v2", tags=("dogs",), sound="s1"),
        like("gb", "v1", T0 + 1),
        like("us", "v2", T0 + 2),
        like("us", "v2", T0 + 3),
        like("us", "v2", T0 + 3),
        like("ghost", "v1", T0 + 4),  # unknown viewer: global only
    ]
    view = fold_all(PROJECTION, events)
    ids = lambda scope: [i.video_id for i in top(view, scope, now_us=T0 + 5)]  # noqa: E731
    assert ids("global") == ["v2", "v1"]
    assert ids("region:GB") == ["v1"]
    assert ids("region:US") == ["v2"]
    assert ids("hashtag:cats") == ids("hashtag:#CATS") == ["v1"]
    assert ids("hashtag:dogs") == ["v2"]
    assert ids("sound:s1") == ["v2", "v1"]
    assert ids("sound:s2") == []
    assert top(view, "region:GB", now_us=T0 + 1)[0].score == pytest.approx(3.0)
    assert video_score(view, "v1", now_us=T0 + 4) == pytest.approx(6.0)
    assert video_score(view, "v1", now_us=T0 + 4, region="GB") == pytest.approx(3.0)


def _brute_force(log: list[tuple[str, str, int, float]], live: set[str], scope_of, now: int):
    """Scores per scope recomputed from scratch: sum of weight * 2^-(now - t)/H over each video's events."""
    scores: dict[str, dict[str, float]] = {}
    for video, region, ts, w in log:
        if video not in live:
            continue
        for scope in scope_of(video, region):
            per = scores.setdefault(scope, {})
            per[video] = per.get(video, 0.0) + w * 2.0 ** (-(now - ts) / H)
    return scores


@pytest.mark.parametrize("seed", range(8))
def test_top_k_matches_brute_force_with_removals(seed):
    rng = random.Random(seed)
    cap = 6
    proj = TrendingProjection(TrendingConfig(capacity=cap, slack=seed % 3, threshold=1e12))
    regions = ("GB", "US", "DE")
    videos = [f"v{i}" for i in range(30)]
    tag_of = {v: f"t{i % 4}" for i, v in enumerate(videos)}
    events: list = [user(f"u{i}", regions[i % 3]) for i in range(9)]
    for v in videos:
        events += publish(v, tags=(tag_of[v],), sound=f"s{int(v[1:]) % 2}")
    log: list[tuple[str, str, int, float]] = []
    removed: set[str] = set()
    ts = T0
    for _ in range(600):
        ts += rng.randrange(1, 4 * H // 100)
        if rng.random() < 0.04:
            victim = videos[min(int(rng.paretovariate(1.0)) - 1, 29)]
            removed.add(victim)
            events.append(VideoRemoved(event_id=eid(), ts=ts, video_id=victim))
            continue
        u = rng.randrange(9)
        v = videos[min(int(rng.paretovariate(1.2)) - 1, 29)] if rng.random() < 0.4 else rng.choice(videos)
        event = rng.choice(
            [
                like(f"u{u}", v, ts),
                Shared(event_id=eid(), ts=ts, user_id=f"u{u}", video_id=v),
                ViewEnded(
                    event_id=eid(),
                    ts=ts,
                    user_id=f"u{u}",
                    video_id=v,
                    watch_ms=rng.randrange(0, 20_000),
                    duration_ms=10_000,
                    loops=rng.choice((0, 0, 1)),
                ),
            ]
        )
        events.append(event)
        w = engagement_weight(event, proj.config)
        if w > 0:
            log.append((v, regions[u % 3], ts, w))
    view = fold_all(proj, events)
    live = set(videos) - removed

    def scope_of(video, region):
        return ("global", f"region:{region}", f"hashtag:{tag_of[video]}", f"sound:s{int(video[1:]) % 2}")

    truth = _brute_force(log, live, scope_of, ts)
    for scope, per in truth.items():
        got = top(view, scope, k=cap, now_us=ts, config=proj.config)
        assert len(got) <= cap
        assert len(view.get(f"t:{scope}").entries) <= cap + proj.config.slack
        assert len(got) >= min(cap, len(per)) - len(removed)  # a list shrinks only by removals
        expected = sorted(per.values(), reverse=True)[: len(got)]
        # the list is the exact top-n of the scope: same scores, best first
        assert [i.score for i in got] == pytest.approx(expected, rel=1e-9)
        for item in got:
            assert item.video_id in live
            assert item.score == pytest.approx(per[item.video_id], rel=1e-9)


def test_first_crossing_sets_trending_since_once():
    proj = TrendingProjection(TrendingConfig(threshold=8.0))
    view = fold_all(proj, publish("v1"))
    view = fold_all(proj, [like("a", "v1", T0), like("b", "v1", T0 + 1)], view)
    assert trending_since(view, "v1") is None  # 6 < 8
    fold_all(proj, [like("c", "v1", T0 + 2)], view)  # 9 >= 8
    assert trending_since(view, "v1") == T0 + 2
    later = T0 + 10 * H  # decays below the threshold, then crosses again: the first crossing stays
    fold_all(proj, [like(f"x{i}", "v1", later + i) for i in range(5)], view)
    assert trending_since(view, "v1") == T0 + 2


def test_crossing_before_publication_counts_at_publication():
    proj = TrendingProjection(TrendingConfig(threshold=5.0))
    view = fold_all(proj, [like("a", "v1", T0), like("b", "v1", T0 + 1)])
    assert trending_since(view, "v1") is None
    fold_all(proj, publish("v1", ts=T0 + 2), view)
    assert trending_since(view, "v1") == T0 + 2


def test_ranks_compare_across_time_without_redecay():
    # a video engaged long ago with a big score vs a recent small one: the list orders by the
    # scores both would have now, whatever the order their events came in
    events = [*publish("old"), *publish("new")]
    events += [like(f"u{i}", "old", T0) for i in range(8)]  # 24 at T0 -> 6 at T0 + 2H
    events += [like("z", "new", T0 + 2 * H), like("y", "new", T0 + 2 * H)]  # 6.000001 at T0 + 2H
    events.append(Shared(event_id=eid(), ts=T0 + 2 * H, user_id="q", video_id="new"))
    view = fold_all(PROJECTION, events)
    got = top(view, now_us=T0 + 2 * H)
    assert [i.video_id for i in got] == ["new", "old"]
    assert got[1].score == pytest.approx(6.0)
    assert not math.isnan(got[0].score)


def test_details_change_moves_video_between_hashtag_lists():
    view = fold_all(PROJECTION, [*publish("v1", tags=("a",)), like("u", "v1", T0 + 1)])
    assert [i.video_id for i in top(view, "hashtag:a", now_us=T0)] == ["v1"]
    fold_all(PROJECTION, publish("v1", ts=T0 + 2, tags=("b",)), view)
    assert top(view, "hashtag:a", now_us=T0) == []
    assert [i.video_id for i in top(view, "hashtag:b", now_us=T0)] == ["v1"]


def test_unknown_scope_is_empty():
    assert top(DictView(), "region:XX", now_us=T0) == []


@settings(max_examples=60, deadline=None)
@given(event_lists(max_size=80), st.integers(0, 80))
def test_fold_laws(events, split):
    check_fold_laws(PROJECTION, events, split)


@settings(max_examples=40, deadline=None)
@given(event_lists(max_size=80, ordered=False), st.integers(0, 80))
def test_fold_laws_out_of_order(events, split):
    check_fold_laws(TrendingProjection(TrendingConfig(capacity=2, slack=1, threshold=4.0)), events, split)


@settings(max_examples=30, deadline=None)
@given(st.lists(unknown_ref_event(), max_size=20))
def test_unknown_references_never_raise(events):
    view = check_fold_laws(PROJECTION, events, len(events) // 2)
    for item in top(view, now_us=T0):  # only what a VideoPublished made live is listed
        video = view.get(f"v:{item.video_id}".replace("never:seen", "never%3Aseen"))
        assert video.published and not video.removed


def test_shrunk_list_refills_only_with_certainly_better_videos():
    proj = TrendingProjection(TrendingConfig(capacity=2, slack=0, threshold=1e12))
    events = [*publish("a"), *publish("b"), *publish("c"), *publish("d")]
    events += [like(f"u{i}", "a", T0) for i in range(4)]  # 12
    events += [like(f"u{i}", "b", T0) for i in range(3)]  # 9
    events += [like(f"u{i}", "c", T0) for i in range(2)]  # 6: rejected by the full list
    events.append(VideoRemoved(event_id=eid(), ts=T0, video_id="a"))
    view = fold_all(proj, events)
    assert [i.video_id for i in top(view, now_us=T0, config=proj.config)] == ["b"]
    fold_all(proj, [like("x", "d", T0)], view)  # 3 < c's 6: d must not take the free slot
    assert [i.video_id for i in top(view, now_us=T0, config=proj.config)] == ["b"]
    fold_all(proj, [like(f"y{i}", "c", T0) for i in range(2)], view)  # c: 12, above everything outside
    assert [i.video_id for i in top(view, now_us=T0, config=proj.config)] == ["c", "b"]
