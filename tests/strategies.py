"""Hypothesis strategies for events over a small pool of users and videos, so random sequences interact.

Reusable by every fold's property tests::

    from tests.strategies import event_lists, any_event, unknown_ref_event

The pools are tiny on purpose: with five users and five videos, random sequences follow, like,
report and view the same few entities repeatedly and hit the idempotence and threshold rules. One
user id and one video id contain ``:`` and ``%`` so key escaping is exercised too. Timestamps span
five minutes (epoch µs) so 30 s windows matter.
"""

from __future__ import annotations

from hypothesis import strategies as st

from events import (
    AppealDecided,
    AppealFiled,
    Commented,
    Event,
    Followed,
    Impression,
    Liked,
    ModelVersionPublished,
    ModerationDecided,
    ModerationScored,
    NotInterested,
    ProtectedSoundRegistered,
    Rendition,
    Reported,
    ReviewDecided,
    Shared,
    TranscodeFailed,
    Unfollowed,
    Unliked,
    UploadRequested,
    UserProfileUpdated,
    UserRegistered,
    VideoDetailsSubmitted,
    VideoPublished,
    VideoRemoved,
    VideoTranscoded,
    VideoUploaded,
    ViewEnded,
)

__all__ = [
    "CREATOR_OF",
    "T0",
    "USERS",
    "VIDEOS",
    "any_event",
    "event_ids",
    "event_lists",
    "interaction_event",
    "lifecycle_event",
    "timestamps",
    "unknown_ref_event",
    "user_event",
]

#: 2023-11-14T22:13:20Z in epoch µs; every generated ``ts`` lies in the five minutes after it.
T0 = 1_700_000_000_000_000
SPAN_US = 300_000_000

USERS = ("u0", "u1", "u2", "u3", "u:4%")
VIDEOS = ("v0", "v1", "v2", "v3", "v:4%")
#: Every video has one fixed creator (a user of the pool), so lifecycle events agree with each other.
CREATOR_OF = {"v0": "u0", "v1": "u1", "v2": "u0", "v3": "u2", "v:4%": "u:4%"}

HASHTAGS = ("#Fun", "fun", "Dance", "#cats", "cooking", "  #DanceOff ", "")
WORDS = ("hello", "world", "cat", "dance", "Cooking", "pasta", "#fun", "the", "a")
SOUNDS = (("s1", "Summer Vibes"), ("s2", "summer rain"), ("s3", None))
CATEGORIES = ("nudity", "hate", "copyright", "spam", "violence")

event_ids = st.integers(min_value=0, max_value=2**40).map(lambda n: f"e{n:x}")
timestamps = st.integers(min_value=T0, max_value=T0 + SPAN_US)
users = st.sampled_from(USERS)
videos = st.sampled_from(VIDEOS)


def _base() -> dict[str, st.SearchStrategy[object]]:
    return {"event_id": event_ids, "ts": timestamps}


_captions = st.lists(st.sampled_from(WORDS), max_size=6).map(" ".join)
_hashtags = st.lists(st.sampled_from(HASHTAGS), max_size=4).map(tuple)
_scores = st.dictionaries(
    st.sampled_from(CATEGORIES),
    st.one_of(st.none(), st.floats(min_value=0.0, max_value=1.0)),
    max_size=len(CATEGORIES),
)
_renditions = st.just(
    (
        Rendition(height=360, width=640, bitrate_kbps=800, playlist_key="r/360.m3u8"),
        Rendition(height=720, width=1280, bitrate_kbps=2500, playlist_key="r/720.m3u8"),
    )
)


@st.composite
def _details(draw: st.DrawFn) -> VideoDetailsSubmitted:
    video = draw(videos)
    sound = draw(st.one_of(st.none(), st.sampled_from(SOUNDS)))
    return VideoDetailsSubmitted(
        event_id=draw(event_ids),
        ts=draw(timestamps),
        video_id=video,
        creator_id=CREATOR_OF[video],
        caption=draw(_captions),
        hashtags=draw(_hashtags),
        sound_id=None if sound is None else sound[0],
        sound_title=None if sound is None else sound[1],
        privacy=draw(st.sampled_from(("public", "public", "friends", "private"))),
    )


def _with_creator(cls: type, **fields: st.SearchStrategy[object]) -> st.SearchStrategy[Event]:
    """A lifecycle event whose ``creator_id`` is the fixed creator of its video."""

    @st.composite
    def build(draw: st.DrawFn) -> Event:
        video = draw(videos)
        extra = {name: draw(s) for name, s in fields.items()}
        return cls(  # type: ignore[no-any-return]
            event_id=draw(event_ids),
            ts=draw(timestamps),
            video_id=video,
            creator_id=CREATOR_OF[video],
            **extra,
        )

    return build()


def lifecycle_event() -> st.SearchStrategy[Event]:
    """Upload, processing, moderation, publication, removal and appeal events for the video pool."""
    b = _base()
    return st.one_of(
        _with_creator(UploadRequested, max_bytes=st.just(50_000_000), expires_at=st.just(T0 + 10**9)),
        _with_creator(
            VideoUploaded,
            blob_key=st.just("uploads/x"),
            sha256=st.just("0" * 64),
            size_bytes=st.integers(0, 10**7),
        ),
        _details(),
        _with_creator(
            VideoTranscoded,
            duration_ms=st.integers(1_000, 60_000),
            width=st.just(720),
            height=st.just(1280),
            master_playlist_key=st.just("v/master.m3u8"),
            renditions=_renditions,
            thumbnail_keys=st.just(("v/t0.jpg",)),
        ),
        _with_creator(TranscodeFailed, reason=st.just("bad input")),
        st.builds(ModerationScored, **b, video_id=videos, scores=_scores),
        st.builds(
            ModerationDecided,
            **b,
            video_id=videos,
            decision=st.sampled_from(("approve", "review", "reject")),
            category=st.one_of(st.none(), st.sampled_from(CATEGORIES)),
            age_rating=st.sampled_from(("general", "mature")),
            reason=st.just("auto"),
        ),
        st.builds(
            ReviewDecided,
            **b,
            video_id=videos,
            moderator_id=st.just("mod1"),
            decision=st.sampled_from(("approve", "reject")),
            age_rating=st.sampled_from((None, "general", "mature")),
        ),
        _with_creator(VideoPublished),
        _with_creator(VideoPublished),
        st.builds(
            VideoRemoved,
            **b,
            video_id=videos,
            by=st.sampled_from(("creator", "moderator", "reports", "system")),
        ),
        _with_creator(AppealFiled, reason=st.just("please")),
        st.builds(AppealDecided, **b, video_id=videos, moderator_id=st.just("mod2"), upheld=st.booleans()),
    )


def user_event() -> st.SearchStrategy[Event]:
    b = _base()
    return st.one_of(
        st.builds(
            UserRegistered,
            **b,
            user_id=users,
            name=st.sampled_from(("Ann", "ann lee", "Bob", "bobby", "")),
            region=st.sampled_from(("US", "DE", "BR")),
            birth_year=st.one_of(st.none(), st.integers(1950, 2015)),
        ),
        st.builds(
            UserProfileUpdated,
            **b,
            user_id=users,
            name=st.one_of(st.none(), st.sampled_from(("Annie", "Bob B"))),
            avatar_url=st.one_of(st.none(), st.just("a/1.png")),
        ),
        st.builds(Followed, **b, user_id=users, creator_id=users),
        st.builds(Unfollowed, **b, user_id=users, creator_id=users),
    )


def interaction_event() -> st.SearchStrategy[Event]:
    b = _base()
    return st.one_of(
        st.builds(
            ViewEnded,
            **b,
            user_id=users,
            video_id=videos,
            watch_ms=st.integers(0, 60_000),
            duration_ms=st.integers(1, 60_000),
            loops=st.integers(0, 3),
        ),
        st.builds(
            Impression,
            **b,
            user_id=users,
            video_id=videos,
            request_id=st.just("r1"),
            position=st.integers(0, 9),
        ),
        st.builds(Liked, **b, user_id=users, video_id=videos),
        st.builds(Unliked, **b, user_id=users, video_id=videos),
        st.builds(Shared, **b, user_id=users, video_id=videos),
        st.builds(Commented, **b, user_id=users, video_id=videos, comment_id=event_ids, text=st.just("nice")),
        st.builds(Reported, **b, user_id=users, video_id=videos, reason=st.just("spam")),
        st.builds(NotInterested, **b, user_id=users, video_id=videos),
    )


def any_event() -> st.SearchStrategy[Event]:
    """Any event over the pools, interactions weighted up as in a real log."""
    b = _base()
    return st.one_of(
        interaction_event(),
        interaction_event(),
        lifecycle_event(),
        user_event(),
        st.builds(
            ProtectedSoundRegistered,
            **b,
            sound_id=st.just("s1"),
            title=st.just("x"),
            owner=st.just("o"),
            fingerprint=st.just("AQAA"),
        ),
        st.builds(
            ModelVersionPublished, **b, model=st.just("ranker"), version=st.just("1"), uri=st.just("m/1")
        ),
    )


def event_lists(
    *, min_size: int = 0, max_size: int = 60, ordered: bool = True
) -> st.SearchStrategy[list[Event]]:
    """Event sequences over the pools; ``ordered`` sorts them by ``ts`` as one log partition would."""
    lists = st.lists(any_event(), min_size=min_size, max_size=max_size)
    return lists.map(lambda es: sorted(es, key=lambda e: e.ts)) if ordered else lists


_unknown_users = st.sampled_from(("ghost", "nobody:x"))
_unknown_videos = st.sampled_from(("vX", "never:seen"))


def unknown_ref_event() -> st.SearchStrategy[Event]:
    """Events that name users or videos no other event ever introduced."""
    b = _base()
    return st.one_of(
        st.builds(
            ViewEnded,
            **b,
            user_id=_unknown_users,
            video_id=_unknown_videos,
            watch_ms=st.integers(0, 9_000),
            duration_ms=st.integers(1, 9_000),
        ),
        st.builds(Liked, **b, user_id=_unknown_users, video_id=_unknown_videos),
        st.builds(Unliked, **b, user_id=_unknown_users, video_id=_unknown_videos),
        st.builds(Shared, **b, user_id=_unknown_users, video_id=_unknown_videos),
        st.builds(
            Commented,
            **b,
            user_id=_unknown_users,
            video_id=_unknown_videos,
            comment_id=event_ids,
            text=st.just("?"),
        ),
        st.builds(Reported, **b, user_id=_unknown_users, video_id=_unknown_videos, reason=st.just("x")),
        st.builds(Followed, **b, user_id=_unknown_users, creator_id=_unknown_users),
        st.builds(Unfollowed, **b, user_id=_unknown_users, creator_id=_unknown_users),
        st.builds(UserProfileUpdated, **b, user_id=_unknown_users, name=st.just("Zed")),
        st.builds(ModerationScored, **b, video_id=_unknown_videos, scores=_scores),
        st.builds(
            ModerationDecided, **b, video_id=_unknown_videos, decision=st.sampled_from(("approve", "review"))
        ),
        st.builds(
            ReviewDecided,
            **b,
            video_id=_unknown_videos,
            moderator_id=st.just("m"),
            decision=st.sampled_from(("approve", "reject")),
        ),
        st.builds(VideoPublished, **b, video_id=_unknown_videos, creator_id=_unknown_users),
        st.builds(VideoRemoved, **b, video_id=_unknown_videos),
        st.builds(AppealFiled, **b, video_id=_unknown_videos, creator_id=_unknown_users),
        st.builds(
            AppealDecided, **b, video_id=_unknown_videos, moderator_id=st.just("m"), upheld=st.booleans()
        ),
        st.builds(
            TranscodeFailed, **b, video_id=_unknown_videos, creator_id=_unknown_users, reason=st.just("x")
        ),
    )
