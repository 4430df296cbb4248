"""Search: prefix search, popularity ranking, exclusion of removed/private/friends/unpublished videos."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from events import (
    Followed,
    Liked,
    Unfollowed,
    Unliked,
    UserProfileUpdated,
    UserRegistered,
    VideoDetailsSubmitted,
    VideoPublished,
    VideoRemoved,
    ViewEnded,
)
from projections.base import fold_all
from projections.search import (
    LIKE_WEIGHT,
    PROJECTION,
    search,
    search_hashtags,
    search_sounds,
    search_users,
    search_videos,
    tokenize,
)
from tests.fold_checks import check_fold_laws
from tests.strategies import T0, event_lists, unknown_ref_event

_n = iter(range(10**9))


def eid():
    return f"e{next(_n)}"


def video(vid, caption="", hashtags=(), sound=None, privacy="public", publish=True, ts=T0):
    events = [
        VideoDetailsSubmitted(
            event_id=eid(),
            ts=ts,
            video_id=vid,
            creator_id="c",
            caption=caption,
            hashtags=hashtags,
            sound_id=None if sound is None else sound[0],
            sound_title=None if sound is None else sound[1],
            privacy=privacy,
        )
    ]
    if publish:
        events.append(VideoPublished(event_id=eid(), ts=ts + 1, video_id=vid, creator_id="c"))
    return events


def plays(vid, n, user="p"):
    return [
        ViewEnded(event_id=eid(), ts=T0 + i, user_id=f"{user}{i}", video_id=vid, watch_ms=1, duration_ms=2)
        for i in range(n)
    ]


def ids(hits):
    return [
        getattr(h, "video_id", None)
        or getattr(h, "hashtag", None)
        or getattr(h, "sound_id", None)
        or h.user_id
        for h in hits
    ]


def test_tokenize():
    assert tokenize("The Cat, the CAT and #dance-off!") == ["cat", "dance", "off"]


def test_hashtag_prefix_search_ranked_by_popularity():
    view = fold_all(
        PROJECTION,
        [
            *video("v1", hashtags=("#DanceOff", "cats")),
            *video("v2", hashtags=("dance",)),
            *video("v3", hashtags=("dancing", "#Dance")),
            *plays("v1", 5),
            *plays("v3", 2),
            *plays("v2", 1),
        ],
    )
    hits = search_hashtags(view, "#DAN")
    assert [(h.hashtag, h.score, h.videos) for h in hits] == [
        ("danceoff", 5, 1),
        ("dance", 3, 2),
        ("dancing", 2, 1),
    ]
    assert ids(search_hashtags(view, "danceo")) == ["danceoff"]
    assert ids(search_hashtags(view, "dan", limit=1)) == ["danceoff"]
    assert search_hashtags(view, "zzz") == []
    view = fold_all(PROJECTION, [Liked(event_id=eid(), ts=T0, user_id="x", video_id="v2")] * 2, view)
    assert [(h.hashtag, h.score) for h in search_hashtags(view, "dance")][:2] == [
        ("dance", 3 + LIKE_WEIGHT),
        ("danceoff", 5),
    ]


def test_removed_private_friends_and_unpublished_never_appear():
    events = [
        *video("pub", "sunset beach", ("beach",), ("s1", "Waves")),
        *video("priv", "sunset beach", ("beach",), ("s1", "Waves"), privacy="private"),
        *video("friends", "sunset beach", ("beach",), ("s1", "Waves"), privacy="friends"),
        *video("draft", "sunset beach", ("beach",), ("s1", "Waves"), publish=False),
        *video("gone", "sunset beach", ("beach",), ("s1", "Waves")),
        VideoRemoved(event_id=eid(), ts=T0 + 9, video_id="gone"),
        *plays("priv", 50),
        *plays("gone", 50),
        *plays("draft", 50),
    ]
    view = fold_all(PROJECTION, events)
    assert ids(search_videos(view, "sunset")) == ["pub"]
    assert ids(search_videos(view, "#beach")) == ["pub"]
    assert [(h.hashtag, h.videos, h.score) for h in search_hashtags(view, "beach")] == [("beach", 1, 0)]
    assert [(h.sound_id, h.videos) for h in search_sounds(view, "wav")] == [("s1", 1)]
    # going private takes a published video out; going public again brings it (and its plays) back
    view = fold_all(
        PROJECTION, video("pub", "sunset beach", ("beach",), ("s1", "Waves"), privacy="private"), view
    )
    assert search_videos(view, "sunset") == [] and search_hashtags(view, "beach") == []
    assert search_sounds(view, "waves") == []
    view = fold_all(
        PROJECTION, video("priv", "sunset beach", ("beach",), ("s1", "Waves"), publish=False), view
    )
    assert [(h.video_id, h.score) for h in search_videos(view, "sunset")] == [("priv", 50)]
    assert [(h.hashtag, h.score) for h in search_hashtags(view, "beach")] == [("beach", 50)]


def test_video_search_ranks_by_matches_then_popularity():
    view = fold_all(
        PROJECTION,
        [
            *video("a", "cooking pasta at home"),
            *video("b", "pasta night", ("cooking",)),
            *video("c", "quick pasta"),
            *video("d", "cooking show"),
            *plays("c", 10),
            *plays("a", 3),
            *plays("d", 100),
        ],
    )
    assert ids(search_videos(view, "pasta")) == ["c", "a", "b"]
    assert ids(search_videos(view, "Cooking pasta")) == ["a", "b", "d", "c"]
    assert ids(search(view, "cooking", type="video", limit=2)) == ["d", "a"]


def test_popular_videos_come_first_among_many():
    events = []
    for i in range(40):
        events += video(f"v{i:02d}", "tag soup")
    events += plays("v33", 500) + plays("v07", 200)
    view = fold_all(PROJECTION, events)
    assert ids(search_videos(view, "soup", limit=3))[:2] == ["v33", "v07"]


def test_sound_search_by_title_prefix():
    view = fold_all(
        PROJECTION,
        [
            *video("v1", sound=("s1", "Summer Vibes")),
            *video("v2", sound=("s1", "summer vibes (remix)")),
            *video("v3", sound=("s2", "Summer Rain")),
            *plays("v3", 4),
            *plays("v1", 1),
        ],
    )
    hits = search_sounds(view, "SUMMER")
    assert [(h.sound_id, h.videos, h.score) for h in hits] == [("s2", 1, 4), ("s1", 2, 1)]
    assert hits[1].title == "Summer Vibes"
    assert ids(search(view, "summer v", type="sound")) == ["s1"]


def test_user_search_ranked_by_followers():
    events = [
        UserRegistered(event_id=eid(), ts=T0, user_id="ann", name="Ann Lee"),
        UserRegistered(event_id=eid(), ts=T0, user_id="anna", name="Anna"),
        UserRegistered(event_id=eid(), ts=T0, user_id="bob", name="Bob Annders"),
        UserRegistered(event_id=eid(), ts=T0, user_id="anon", name="Anonymous", anonymous=True),
        *[Followed(event_id=eid(), ts=T0, user_id=f"f{i}", creator_id="anna") for i in range(3)],
        Followed(event_id=eid(), ts=T0, user_id="f0", creator_id="ann"),
        Followed(event_id=eid(), ts=T0, user_id="f0", creator_id="ann"),  # idempotent
        Followed(event_id=eid(), ts=T0, user_id="ann", creator_id="ann"),  # self-follow ignored
    ]
    view = fold_all(PROJECTION, events)
    assert [(h.user_id, h.followers) for h in search_users(view, "ann")] == [
        ("anna", 3),
        ("ann", 1),
        ("bob", 0),
    ]
    assert ids(search_users(view, "lee")) == ["ann"]
    view = fold_all(
        PROJECTION,
        [Unfollowed(event_id=eid(), ts=T0, user_id=f"f{i}", creator_id="anna") for i in range(3)]
        + [UserProfileUpdated(event_id=eid(), ts=T0, user_id="ann", name="Zed")],
        view,
    )
    assert [(h.user_id, h.followers) for h in search(view, "an", type="user")] == [("anna", 0), ("bob", 0)]
    assert ids(search_users(view, "ze")) == ["ann"] and search_users(view, "") == []


def test_likes_are_idempotent_in_popularity():
    like = Liked(event_id=eid(), ts=T0, user_id="x", video_id="v1")
    unlike = Unliked(event_id=eid(), ts=T0, user_id="x", video_id="v1")
    view = fold_all(PROJECTION, [*video("v1", "hello there"), like, like, unlike, unlike, like])
    assert [h.score for h in search_videos(view, "hello")] == [LIKE_WEIGHT]


def _consistent(view) -> None:
    docs = [v for k, v in view.data.items() if k.startswith("v:")]
    indexed = [d for d in docs if d.indexed]
    for key, stat in view.data.items():
        if key.startswith("t:h:"):
            carriers = [d for d in indexed if stat.term in d.hashtags]
            assert stat.videos == len(carriers) > 0
            assert stat.score == sum(d.score for d in carriers)
    postings = sum(1 for k in view.data if k.startswith("w:"))
    assert postings == sum(len(d.terms) for d in indexed)
    for d in indexed:
        for term in d.terms:
            assert d.video_id in ids(search_videos(view, term, limit=100)) or not tokenize(term)
    for key, doc in view.data.items():
        if key.startswith("u:"):
            assert doc.followers >= 0


@settings(max_examples=60, deadline=None)
@given(event_lists(max_size=80), st.integers(0, 80))
def test_fold_laws(events, split):
    _consistent(check_fold_laws(PROJECTION, events, split))


@settings(max_examples=40, deadline=None)
@given(event_lists(max_size=60, ordered=False))
def test_index_consistent_in_any_order(events):
    _consistent(fold_all(PROJECTION, events))


@settings(max_examples=30, deadline=None)
@given(st.lists(unknown_ref_event(), max_size=20))
def test_unknown_references_never_raise(events):
    _consistent(check_fold_laws(PROJECTION, events, len(events) // 2))
