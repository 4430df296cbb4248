"""Notifications: inbox contents, no self-notification, paging, unread counts, mark read, trending once."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events import (
    Commented,
    Followed,
    Liked,
    NotificationsRead,
    Unfollowed,
    Unliked,
    UserProfileUpdated,
    UserRegistered,
    VideoPublished,
    VideoRemoved,
    ViewEnded,
)
from projections import trending
from projections.base import DictView, fold_all
from projections.notifications import (
    PROJECTION,
    InvalidCursorError,
    NotificationsProjection,
    inbox,
    unread_count,
)
from projections.trending import TrendingConfig, TrendingProjection, trending_since
from tests.fold_checks import check_fold_laws
from tests.strategies import T0, USERS, any_event, event_ids, timestamps, unknown_ref_event

_n = iter(range(10**9))
#: trending notifications out of the way of the inbox tests that do not test them
P = NotificationsProjection(trending=TrendingConfig(threshold=1e12))


def eid() -> str:
    return f"e{next(_n)}"


def published(video="v1", creator="alice", ts=T0):
    return VideoPublished(event_id=eid(), ts=ts, video_id=video, creator_id=creator)


def like(user, video="v1", ts=T0, event_id=None):
    return Liked(event_id=event_id or eid(), ts=ts, user_id=user, video_id=video)


def read(user, up_to_ts=None, ids=(), ts=T0):
    return NotificationsRead(event_id=eid(), ts=ts, user_id=user, up_to_ts=up_to_ts, ids=tuple(ids))


def all_items(view, user, limit=7):
    items, cursor = [], None
    while True:
        page = inbox(view, user, limit=limit, cursor=cursor)
        items += page.items
        cursor = page.next_cursor
        if cursor is None:
            return items


def test_likes_comments_follows_reach_the_creator_with_deterministic_ids():
    events = [
        UserRegistered(event_id=eid(), ts=T0, user_id="bob", name="Bob"),
        published(),
        like("bob", ts=T0 + 1, event_id="L1"),
        Commented(event_id="C1", ts=T0 + 2, user_id="carol", video_id="v1", comment_id="c1", text="so good"),
        Followed(event_id="F1", ts=T0 + 3, user_id="bob", creator_id="alice"),
    ]
    view = fold_all(P, events)
    page = inbox(view, "alice")
    assert [(n.id, n.kind, n.actor_id, n.video_id) for n in page.items] == [
        ("follow:F1", "follow", "bob", None),
        ("comment:C1", "comment", "carol", "v1"),
        ("like:L1", "like", "bob", "v1"),
    ]
    assert [n.text for n in page.items] == [
        "Bob started following you",
        "carol commented: so good",
        "Bob liked your video",
    ]
    assert page.unread == 3 and page.next_cursor is None
    assert [n.ts for n in page.items] == [T0 + 3, T0 + 2, T0 + 1]
    assert fold_all(P, events).data == view.data  # replay: same ids, same inbox


def test_no_self_notifications_and_unknown_videos_are_ignored():
    events = [
        published(),
        like("alice"),
        Commented(event_id=eid(), ts=T0, user_id="alice", video_id="v1", comment_id="c", text="me"),
        Followed(event_id=eid(), ts=T0, user_id="alice", creator_id="alice"),
        like("bob", video="unknown"),
    ]
    view = fold_all(P, events)
    assert inbox(view, "alice").items == []
    assert unread_count(view, "alice") == 0


def test_likes_and_follows_notify_once_per_actor():
    events = [
        published(),
        like("bob", ts=T0 + 1),
        Unliked(event_id=eid(), ts=T0 + 2, user_id="bob", video_id="v1"),
        like("bob", ts=T0 + 3),
        like("bob", video="v2", ts=T0 + 4),  # v2 unknown yet: nothing, and nothing remembered
        published("v2", ts=T0 + 5),
        like("bob", video="v2", ts=T0 + 6),
        Followed(event_id=eid(), ts=T0 + 7, user_id="bob", creator_id="alice"),
        Unfollowed(event_id=eid(), ts=T0 + 8, user_id="bob", creator_id="alice"),
        Followed(event_id=eid(), ts=T0 + 9, user_id="bob", creator_id="alice"),
    ]
    items = all_items(fold_all(P, events), "alice")
    assert [(n.kind, n.video_id, n.ts) for n in items] == [
        ("follow", None, T0 + 7),
        ("like", "v2", T0 + 6),
        ("like", "v1", T0 + 1),
    ]


def test_names_follow_profile_updates():
    events = [
        UserRegistered(event_id=eid(), ts=T0, user_id="bob", name="Bob"),
        UserProfileUpdated(event_id=eid(), ts=T0, user_id="bob", name="Bobby"),
        published(),
        like("bob"),
    ]
    assert inbox(fold_all(P, events), "alice").items[0].text == "Bobby liked your video"


def test_removed_videos_stop_notifying():
    view = fold_all(P, [published(), VideoRemoved(event_id=eid(), ts=T0, video_id="v1"), like("b")])
    assert unread_count(view, "alice") == 0


def test_paging_newest_first_with_cursor():
    events = [published()] + [like(f"u{i}", ts=T0 + i) for i in range(23)]
    view = fold_all(P, events)
    first = inbox(view, "alice", limit=10)
    assert [n.actor_id for n in first.items] == [f"u{i}" for i in range(22, 12, -1)]
    second = inbox(view, "alice", limit=10, cursor=first.next_cursor)
    assert [n.actor_id for n in second.items] == [f"u{i}" for i in range(12, 2, -1)]
    third = inbox(view, "alice", limit=10, cursor=second.next_cursor)
    assert [n.actor_id for n in third.items] == ["u2", "u1", "u0"]
    assert third.next_cursor is None
    assert len(all_items(view, "alice", limit=4)) == 23
    with pytest.raises(InvalidCursorError):
        inbox(view, "alice", cursor="nope")
    assert inbox(view, "nobody") == inbox(DictView(), "nobody")


def test_inbox_is_bounded_and_counts_dropped_unread():
    proj = NotificationsProjection(capacity=5, trending=P.trending)
    view = fold_all(proj, [published()] + [like(f"u{i}", ts=T0 + i) for i in range(8)])
    items = all_items(view, "alice", limit=2)
    assert [n.actor_id for n in items] == ["u7", "u6", "u5", "u4", "u3"]
    assert unread_count(view, "alice") == 5
    assert sum(1 for k in view.data if k.startswith("n:")) == 5
    fold_all(proj, [read("alice", up_to_ts=T0 + 4)], view)  # u3, u4 read
    assert unread_count(view, "alice") == 3
    fold_all(proj, [like("u8", ts=T0 + 8), like("u9", ts=T0 + 9)], view)  # drops read u3, u4
    assert unread_count(view, "alice") == 5
    fold_all(proj, [like("u10", ts=T0 + 10)], view)  # drops unread u5
    assert unread_count(view, "alice") == 5
    assert [n.actor_id for n in all_items(view, "alice")] == ["u10", "u9", "u8", "u7", "u6"]


def test_mark_read_by_time_by_id_and_everything():
    events = [published()] + [like(f"u{i}", ts=T0 + i, event_id=f"L{i}") for i in range(6)]
    view = fold_all(P, events)
    assert unread_count(view, "alice") == 6
    fold_all(P, [read("alice", up_to_ts=T0 + 1)], view)
    assert unread_count(view, "alice") == 4
    fold_all(P, [read("alice", ids=["like:L4", "like:L0", "like:nope"])], view)
    assert unread_count(view, "alice") == 3
    flags = {n.actor_id: n.read for n in all_items(view, "alice")}
    assert flags == {"u0": True, "u1": True, "u2": False, "u3": False, "u4": True, "u5": False}
    fold_all(P, [like("u6", ts=T0 + 6)], view)
    assert inbox(view, "alice").unread == 4
    fold_all(P, [read("alice")], view)
    assert unread_count(view, "alice") == 0
    assert all(n.read for n in all_items(view, "alice"))
    before = dict(view.data)
    fold_all(P, [read("alice"), read("bob")], view)  # nothing unread: no change
    assert view.data == before


def _trending_events(threshold_likes: int):
    events = [published(ts=T0)]
    events += [like(f"u{i}", ts=T0 + i) for i in range(threshold_likes + 5)]
    events += [
        ViewEnded(
            event_id=eid(), ts=T0 + 100 + i, user_id="w", video_id="v1", watch_ms=9_000, duration_ms=10_000
        )
        for i in range(10)
    ]
    return events


def test_trending_notification_fires_exactly_once_at_the_trending_crossing():
    cfg = TrendingConfig(threshold=10.0)  # 4 likes (12) cross it
    notif = NotificationsProjection(trending=cfg)
    events = _trending_events(4)
    view = fold_all(notif, events)
    notes = [n for n in all_items(view, "alice") if n.kind == "trending"]
    assert len(notes) == 1
    trend_view = fold_all(TrendingProjection(cfg), events)
    assert notes[0].ts == trending_since(trend_view, "v1") == T0 + 3
    assert notes[0].actor_id is None and notes[0].video_id == "v1"
    # the crossing event also produced its like notification: both in the inbox, trending first
    likes = [n for n in all_items(view, "alice") if n.kind == "like"]
    assert len(likes) == 9 and unread_count(view, "alice") == 10
    # far later, decayed and crossing again: no second notification
    later = [like(f"x{i}", ts=T0 + 10 * cfg.half_life_us + i) for i in range(6)]
    fold_all(notif, later, view)
    assert sum(1 for n in all_items(view, "alice") if n.kind == "trending") == 1


def test_default_projection_shares_the_trending_default():
    assert PROJECTION.trending is trending.DEFAULT_CONFIG


def _read_events() -> st.SearchStrategy[NotificationsRead]:
    return st.builds(
        NotificationsRead,
        event_id=event_ids,
        ts=timestamps,
        user_id=st.sampled_from(USERS),
        up_to_ts=st.one_of(st.none(), timestamps),
        ids=st.lists(event_ids.map(lambda e: f"like:{e}"), max_size=2).map(tuple),
    )


_events = st.lists(st.one_of(any_event(), any_event(), _read_events()), max_size=80).map(
    lambda es: sorted(es, key=lambda e: e.ts)
)


def _inbox_consistent(proj: NotificationsProjection, view: DictView) -> None:
    for key in [k for k in view.data if k.startswith("m:")]:
        meta = view.data[key]
        notes = [v for k, v in view.data.items() if k.startswith("n:" + key[2:] + ":")]
        assert len(notes) == meta.count <= proj.capacity
        assert meta.unread == sum(not n.read for n in notes)


@settings(max_examples=60, deadline=None)
@given(_events, st.integers(0, 80))
def test_fold_laws(events, split):
    proj = NotificationsProjection(capacity=4, trending=TrendingConfig(threshold=6.0))
    _inbox_consistent(proj, check_fold_laws(proj, events, split))


@settings(max_examples=30, deadline=None)
@given(st.lists(unknown_ref_event(), max_size=20))
def test_unknown_references_never_raise(events):
    check_fold_laws(PROJECTION, events, len(events) // 2)
