"""Social: idempotent follows, self-follow ignored, paging, counts, mutual follows, creators' videos."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from events import (
    Commented,
    Followed,
    Unfollowed,
    VideoDetailsSubmitted,
    VideoPublished,
    VideoRemoved,
    VideoUploaded,
)
from projections.base import fold_all
from projections.social import (
    PROJECTION,
    comments,
    counts,
    followers,
    following,
    is_following,
    mutual,
    recent_videos,
)
from tests.fold_checks import check_fold_laws
from tests.strategies import T0, event_lists, unknown_ref_event

_n = iter(range(10**9))


def follow(a, b, ts=T0):
    return Followed(event_id=f"e{next(_n)}", ts=ts, user_id=a, creator_id=b)


def unfollow(a, b, ts=T0):
    return Unfollowed(event_id=f"e{next(_n)}", ts=ts, user_id=a, creator_id=b)


def publish(video, creator="c", ts=T0):
    return VideoPublished(event_id=f"e{next(_n)}", ts=ts, video_id=video, creator_id=creator)


def test_follow_is_idempotent_and_self_follow_ignored():
    view = fold_all(PROJECTION, [follow("a", "c"), follow("a", "c"), follow("b", "c"), follow("c", "c")])
    assert counts(view, "c").followers == 2 and counts(view, "c").following == 0
    assert counts(view, "a").following == 1 and not is_following(view, "c", "c")
    view = fold_all(PROJECTION, [unfollow("a", "c"), unfollow("a", "c"), unfollow("x", "c")], view)
    assert counts(view, "c").followers == 1 and counts(view, "a").following == 0
    assert followers(view, "c") == ["b"] and following(view, "a") == []
    assert counts(view, "nobody").followers == 0


def test_mutual_follows():
    view = fold_all(PROJECTION, [follow("a", "b"), follow("b", "a"), follow("a", "c")])
    assert mutual(view, "a", "b") and mutual(view, "b", "a")
    assert not mutual(view, "a", "c") and not mutual(view, "c", "a") and not mutual(view, "a", "a")
    view = fold_all(PROJECTION, [unfollow("b", "a")], view)
    assert not mutual(view, "a", "b")


def test_follower_paging():
    fans = [f"fan{i:02d}" for i in range(25)]
    view = fold_all(PROJECTION, [follow(f, "star") for f in reversed(fans)] + [follow("star", "x:y")])
    pages = [followers(view, "star", limit=10, offset=o) for o in (0, 10, 20, 30)]
    assert pages[0] == fans[:10] and pages[1] == fans[10:20] and pages[2] == fans[20:] and pages[3] == []
    assert following(view, "star") == ["x:y"] and followers(view, "x:y") == ["star"]
    cursor_pages, after = [], None
    while page := followers(view, "star", limit=7, after=after):
        cursor_pages.append(page)
        after = page[-1]
    assert [len(p) for p in cursor_pages] == [7, 7, 7, 4] and [f for p in cursor_pages for f in p] == fans
    assert following(view, "star", after="x:y") == []


def test_recent_published_videos_newest_first():
    events = [
        VideoUploaded(
            event_id="u1", ts=T0, video_id="v1", creator_id="c", blob_key="b", sha256="0" * 64, size_bytes=1
        ),
        VideoDetailsSubmitted(event_id="d1", ts=T0, video_id="v1", creator_id="c", privacy="friends"),
        publish("v1", ts=T0 + 10),
        publish("v2", ts=T0 + 30),
        publish("v3", ts=T0 + 20),
        publish("other", creator="d", ts=T0 + 40),
        publish("v1", ts=T0 + 50),  # repeated publication: keeps its first place
    ]
    view = fold_all(PROJECTION, events)
    assert [v.video_id for v in recent_videos(view, "c")] == ["v2", "v3", "v1"]
    assert recent_videos(view, "c")[2].privacy == "friends"
    assert [v.video_id for v in recent_videos(view, "c", limit=1, offset=1)] == ["v3"]
    first = recent_videos(view, "c", limit=1)
    assert [v.video_id for v in recent_videos(view, "c", after=first[0])] == ["v3", "v1"]
    view = fold_all(PROJECTION, [VideoRemoved(event_id="r", ts=T0 + 60, video_id="v2")], view)
    assert [v.video_id for v in recent_videos(view, "c")] == ["v3", "v1"]
    details = VideoDetailsSubmitted(
        event_id="d2", ts=T0 + 70, video_id="v3", creator_id="c", privacy="private"
    )
    view = fold_all(PROJECTION, [details], view)
    assert [(v.video_id, v.privacy) for v in recent_videos(view, "c")] == [
        ("v3", "private"),
        ("v1", "friends"),
    ]
    assert recent_videos(view, "nobody") == []


def _graph_consistent(view) -> None:
    f = {k for k in view.data if k.startswith("f:")}
    r = {k for k in view.data if k.startswith("r:")}
    assert len(f) == len(r)
    for key, value in view.data.items():
        if key.startswith("n:"):
            assert value.followers >= 0 and value.following >= 0
    total_following = sum(v.following for k, v in view.data.items() if k.startswith("n:"))
    total_followers = sum(v.followers for k, v in view.data.items() if k.startswith("n:"))
    assert total_following == total_followers == len(f)


@settings(max_examples=60, deadline=None)
@given(event_lists(max_size=80), st.integers(0, 80))
def test_fold_laws(events, split):
    _graph_consistent(check_fold_laws(PROJECTION, events, split))


@settings(max_examples=30, deadline=None)
@given(st.lists(unknown_ref_event(), max_size=20))
def test_unknown_references_never_raise(events):
    _graph_consistent(check_fold_laws(PROJECTION, events, len(events) // 2))


def test_comments_newest_first_with_paging():
    events = [
        Commented(
            event_id=f"c{i}", ts=T0 + i, user_id=f"u{i}", video_id="v:1", comment_id=f"k{i}", text=f"t{i}"
        )
        for i in range(5)
    ]
    view = fold_all(PROJECTION, [*events, events[2]])  # a redelivered comment is stored once
    assert [c.comment_id for c in comments(view, "v:1")] == ["k4", "k3", "k2", "k1", "k0"]
    assert [c.text for c in comments(view, "v:1", limit=2, offset=1)] == ["t3", "t2"]
    newest = comments(view, "v:1", limit=2)
    assert [c.text for c in comments(view, "v:1", limit=2, after=newest[-1])] == ["t2", "t1"]
    assert comments(view, "v") == [] and comments(view, "v:1")[0].user_id == "u4"
