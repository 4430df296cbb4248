"""Counters: the 30 s repeat-view rule, idempotent likes, exact unique viewers, creator totals."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from events import Commented, Liked, Shared, Unliked, VideoUploaded, ViewEnded
from projections.base import DictView, fold_all
from projections.counters import PROJECTION, REPEAT_WINDOW_US, creator_stats, has_liked, video_stats
from tests.fold_checks import check_fold_laws
from tests.strategies import T0, event_lists, unknown_ref_event

S = 1_000_000


def uploaded(video: str = "v1", creator: str = "c1", ts: int = T0) -> VideoUploaded:
    return VideoUploaded(
        event_id=f"up-{video}",
        ts=ts,
        video_id=video,
        creator_id=creator,
        blob_key="b",
        sha256="0" * 64,
        size_bytes=1,
    )


def view(user: str, ts: int, video: str = "v1") -> ViewEnded:
    return ViewEnded(
        event_id=f"ve-{user}-{ts}", ts=ts, user_id=user, video_id=video, watch_ms=5000, duration_ms=9000
    )


def like(user: str, video: str = "v1", ts: int = T0) -> Liked:
    return Liked(event_id=f"l-{user}-{ts}", ts=ts, user_id=user, video_id=video)


def unlike(user: str, video: str = "v1", ts: int = T0) -> Unliked:
    return Unliked(event_id=f"ul-{user}-{ts}", ts=ts, user_id=user, video_id=video)


def test_repeat_view_within_30s_is_not_counted_and_30s_is():
    v = fold_all(PROJECTION, [uploaded(), view("a", T0), view("a", T0 + REPEAT_WINDOW_US - 1)])
    stats = video_stats(v, "v1")
    assert stats is not None and (stats.plays, stats.viewers) == (1, 1)

    v = fold_all(PROJECTION, [uploaded(), view("a", T0), view("a", T0 + 30 * S)])
    stats = video_stats(v, "v1")
    assert stats is not None and (stats.plays, stats.viewers) == (2, 1)


def test_window_counts_from_the_last_counted_play():
    # plays at 0, 20 (repeat), 31 (counted: 31 s after 0), 50 (repeat of 31), 61 (counted)
    events = [uploaded()] + [view("a", T0 + t * S) for t in (0, 20, 31, 50, 61)]
    stats = video_stats(fold_all(PROJECTION, events), "v1")
    assert stats is not None and stats.plays == 3


def test_different_users_and_videos_are_independent():
    events = [uploaded("v1"), uploaded("v2"), view("a", T0), view("b", T0 + 1), view("a", T0 + 2, video="v2")]
    v = fold_all(PROJECTION, events)
    s1, s2 = video_stats(v, "v1"), video_stats(v, "v2")
    assert s1 is not None and (s1.plays, s1.viewers) == (2, 2)
    assert s2 is not None and (s2.plays, s2.viewers) == (1, 1)
    c = creator_stats(v, "c1")
    assert c is not None and (c.plays, c.viewers, c.videos) == (3, 2, 2)  # "a" counted once for the creator


def test_likes_are_idempotent():
    v = fold_all(PROJECTION, [uploaded(), like("a"), like("a"), like("b")])
    s = video_stats(v, "v1")
    assert s is not None and s.likes == 2 and has_liked(v, "v1", "a")
    v = fold_all(PROJECTION, [unlike("c")], v)  # unlike without like: no-op
    v = fold_all(PROJECTION, [unlike("a"), unlike("a")], v)
    s = video_stats(v, "v1")
    assert s is not None and s.likes == 1 and not has_liked(v, "v1", "a")
    c = creator_stats(v, "c1")
    assert c is not None and c.likes == 1
    v = fold_all(PROJECTION, [like("a")], v)
    assert video_stats(v, "v1").likes == 2  # type: ignore[union-attr]


def test_comments_and_shares_count_each_event():
    events = [
        uploaded(),
        Commented(event_id="c1", ts=T0, user_id="a", video_id="v1", comment_id="k1", text="hi"),
        Commented(event_id="c2", ts=T0, user_id="a", video_id="v1", comment_id="k2", text="again"),
        Shared(event_id="s1", ts=T0, user_id="b", video_id="v1"),
    ]
    v = fold_all(PROJECTION, events)
    s, c = video_stats(v, "v1"), creator_stats(v, "c1")
    assert s is not None and (s.comments, s.shares) == (2, 1)
    assert c is not None and (c.comments, c.shares) == (2, 1)


def test_interactions_before_the_creator_is_known_are_back_filled():
    events = [view("a", T0), like("a"), view("b", T0 + 1), uploaded(ts=T0 + 2), view("c", T0 + 3)]
    v = fold_all(PROJECTION, events)
    s, c = video_stats(v, "v1"), creator_stats(v, "c1")
    assert s is not None and (s.plays, s.viewers, s.likes, s.creator_id) == (3, 3, 1, "c1")
    assert c is not None and (c.plays, c.likes, c.videos) == (3, 1, 1)
    assert c.viewers == 1  # only viewers seen after the creator was known are exact for the creator
    assert fold_all(PROJECTION, [uploaded(creator="other")], v).data == v.data  # creator never changes


def test_unknown_entities_are_counted_on_the_video_only():
    v = fold_all(PROJECTION, [view("ghost", T0, video="nope")])
    s = video_stats(v, "nope")
    assert s is not None and s.plays == 1 and s.creator_id is None
    assert creator_stats(v, "c1") is None and video_stats(v, "other") is None


def test_ids_with_separators_do_not_collide():
    v = fold_all(PROJECTION, [like("b:c", video="a"), like("c", video="a:b")])
    assert has_liked(v, "a", "b:c") and has_liked(v, "a:b", "c")
    assert not has_liked(v, "a:b", "b:c") and not has_liked(v, "a", "c")


@settings(max_examples=60, deadline=None)
@given(event_lists(max_size=80), st.integers(0, 80))
def test_fold_laws(events, split):
    v = check_fold_laws(PROJECTION, events, split)
    for key, value in v.data.items():
        if key.startswith(("v:", "c:")):
            assert value.plays >= 0 and value.likes >= 0 and value.viewers <= value.plays


@settings(max_examples=30, deadline=None)
@given(st.lists(unknown_ref_event(), max_size=20))
def test_unknown_references_never_raise(events):
    check_fold_laws(PROJECTION, events, len(events) // 2)
    assert isinstance(fold_all(PROJECTION, events), DictView)
