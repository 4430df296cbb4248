"""Analytics: daily rows per video and creator, exact unique viewers, audience split, follows gained."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events import (
    Commented,
    Followed,
    Liked,
    Shared,
    Unfollowed,
    Unliked,
    UserRegistered,
    VideoPublished,
    ViewEnded,
)
from projections.analytics import PROJECTION, InvalidDayError, creator_daily, video_daily
from projections.base import DictView, fold_all
from tests.fold_checks import check_fold_laws
from tests.strategies import event_lists, unknown_ref_event

DAY = 86_400_000_000
D0 = 1_763_251_200_000_000  # 2025-11-16T00:00:00Z
_n = iter(range(10**9))


def eid() -> str:
    return f"e{next(_n)}"


def watch(user, video="v1", ts=D0, ms=6_000, dur=10_000, loops=0):
    return ViewEnded(
        event_id=eid(), ts=ts, user_id=user, video_id=video, watch_ms=ms, duration_ms=dur, loops=loops
    )


def world():
    return [
        UserRegistered(event_id=eid(), ts=0, user_id="gb30", region="GB", birth_year=1995),
        UserRegistered(event_id=eid(), ts=0, user_id="us16", region="US", birth_year=2009),
        VideoPublished(event_id=eid(), ts=D0 - DAY, video_id="v1", creator_id="alice"),
        VideoPublished(event_id=eid(), ts=D0 - DAY, video_id="v2", creator_id="alice"),
    ]


def test_views_uniques_watch_time_and_completion_per_day():
    events = [
        *world(),
        watch("gb30", ts=D0 + 1, ms=5_000),
        watch("gb30", ts=D0 + 2, ms=10_000),
        watch("us16", ts=D0 + 3, ms=2_000, loops=2),  # looped: completion 1 (capped)
        watch("gb30", ts=D0 + DAY + 5, ms=4_000),  # next day: a unique viewer again
    ]
    view = fold_all(PROJECTION, events)
    rows = video_daily(view, "v1", 3, now_us=D0 + DAY + 10)
    assert [r.day for r in rows] == ["2025-11-15", "2025-11-16", "2025-11-17"]
    empty, day1, day2 = rows
    assert empty.views == 0 and empty.avg_watch_ms == 0.0
    assert (day1.views, day1.unique_viewers, day1.watch_ms) == (3, 2, 17_000)
    assert day1.avg_watch_ms == pytest.approx(17_000 / 3)
    assert day1.avg_completion == pytest.approx((0.5 + 1.0 + 1.0) / 3)
    assert (day2.views, day2.unique_viewers) == (1, 1)
    # without now_us the window ends on the latest day with data
    assert [r.day for r in video_daily(view, "v1", 2)] == ["2025-11-16", "2025-11-17"]
    assert video_daily(view, "nothing", 5) == []


def test_creator_rows_roll_up_videos_with_creator_level_uniques():
    events = [
        *world(),
        watch("gb30", "v1", D0 + 1),
        watch("gb30", "v2", D0 + 2),
        watch("us16", "v2", D0 + 3),
        watch("ghost", "v2", D0 + 4),
    ]
    view = fold_all(PROJECTION, events)
    (row,) = creator_daily(view, "alice", "2025-11-16", "2025-11-16")
    assert (row.views, row.unique_viewers) == (4, 3)  # gb30 watched both videos: one viewer
    assert video_daily(view, "v2", 1)[0].unique_viewers == 3
    rows = creator_daily(view, "alice", "2025-11-14", "2025-11-16")
    assert [r.views for r in rows] == [0, 0, 4]
    assert creator_daily(view, "alice", "2025-11-17", "2025-11-16") == []
    with pytest.raises(InvalidDayError):
        creator_daily(view, "alice", "16/11/2025", "2025-11-16")


def test_audience_split_by_region_and_age_band_counts_unique_viewers():
    events = [
        *world(),
        watch("gb30", ts=D0 + 1),
        watch("gb30", ts=D0 + 2),
        watch("us16", ts=D0 + 3),
        watch("ghost", ts=D0 + 4),
    ]
    (row,) = video_daily(fold_all(PROJECTION, events), "v1", 1)
    assert row.audience_regions == {"GB": 1, "US": 1, "unknown": 1}
    assert row.audience_ages == {"13-17": 1, "25-34": 1, "unknown": 1}


def test_likes_comments_shares_idempotent_likes():
    events = [
        *world(),
        Liked(event_id=eid(), ts=D0, user_id="gb30", video_id="v1"),
        Liked(event_id=eid(), ts=D0, user_id="gb30", video_id="v1"),  # twice is one like
        Liked(event_id=eid(), ts=D0, user_id="us16", video_id="v1"),
        Unliked(event_id=eid(), ts=D0, user_id="us16", video_id="v1"),
        Unliked(event_id=eid(), ts=D0, user_id="ghost", video_id="v1"),  # never liked: nothing
        Commented(event_id=eid(), ts=D0, user_id="us16", video_id="v1", comment_id="c", text="hi"),
        Shared(event_id=eid(), ts=D0, user_id="us16", video_id="v1"),
        Shared(event_id=eid(), ts=D0, user_id="us16", video_id="v2"),
    ]
    view = fold_all(PROJECTION, events)
    (row,) = video_daily(view, "v1", 1)
    assert (row.likes, row.unlikes, row.comments, row.shares) == (2, 1, 1, 1)
    (crow,) = creator_daily(view, "alice", "2025-11-16", "2025-11-16")
    assert (crow.likes, crow.unlikes, crow.comments, crow.shares) == (2, 1, 1, 2)


def test_follows_gained_and_lost_per_day():
    events = [
        *world(),
        Followed(event_id=eid(), ts=D0, user_id="gb30", creator_id="alice"),
        Followed(event_id=eid(), ts=D0, user_id="gb30", creator_id="alice"),  # already following
        Followed(event_id=eid(), ts=D0, user_id="us16", creator_id="alice"),
        Followed(event_id=eid(), ts=D0, user_id="alice", creator_id="alice"),  # self: ignored
        Unfollowed(event_id=eid(), ts=D0 + DAY, user_id="us16", creator_id="alice"),
        Followed(event_id=eid(), ts=D0 + DAY, user_id="us16", creator_id="alice"),
    ]
    rows = creator_daily(fold_all(PROJECTION, events), "alice", "2025-11-16", "2025-11-17")
    assert [(r.follows, r.unfollows) for r in rows] == [(2, 0), (1, 1)]


def test_views_before_the_creator_is_known_still_count_for_the_video():
    events = [watch("gb30", "v9", D0)]
    view = fold_all(PROJECTION, events)
    assert video_daily(view, "v9", 1)[0].views == 1
    assert creator_daily(view, "alice", "2025-11-16", "2025-11-16")[0].views == 0


def test_rows_are_read_through_get_many_when_the_reader_has_it():
    view = fold_all(PROJECTION, [*world(), watch("gb30")])

    class Batched(DictView):
        calls = 0

        def get_many(self, keys):
            Batched.calls += 1
            return {k: self.data[k] for k in keys if k in self.data}

    batched = Batched(view.data)
    assert creator_daily(batched, "alice", "2025-11-10", "2025-11-16") == creator_daily(
        view, "alice", "2025-11-10", "2025-11-16"
    )
    assert Batched.calls == 1  # one batched read for the whole range


@settings(max_examples=60, deadline=None)
@given(event_lists(max_size=80), st.integers(0, 80))
def test_fold_laws(events, split):
    view = check_fold_laws(PROJECTION, events, split)
    for key, value in view.data.items():
        if key.startswith(("dv:", "dc:")):
            assert value.unique_viewers <= value.views
            assert sum(value.regions.values()) == value.unique_viewers == sum(value.ages.values())


@settings(max_examples=30, deadline=None)
@given(st.lists(unknown_ref_event(), max_size=20))
def test_unknown_references_never_raise(events):
    check_fold_laws(PROJECTION, events, len(events) // 2)
