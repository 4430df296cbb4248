"""Catalog: lifecycle statuses, metadata, users, visibility by status/privacy/mutual follows, indexes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from events import (
    AppealDecided,
    AppealFiled,
    Followed,
    ModerationDecided,
    ModerationScored,
    Rendition,
    ReviewDecided,
    TranscodeFailed,
    UploadRequested,
    UserProfileUpdated,
    UserRegistered,
    VideoDetailsSubmitted,
    VideoPublished,
    VideoRemoved,
    VideoTranscoded,
    VideoUploaded,
)
from projections import social
from projections.base import fold_all
from projections.catalog import (
    PROJECTION,
    STATUSES,
    age_allowed,
    get_user,
    get_video,
    is_visible,
    normalize_hashtags,
    published_videos,
    videos_by_status,
)
from tests.fold_checks import check_fold_laws
from tests.strategies import T0, event_lists, unknown_ref_event

S = 1_000_000
_n = iter(range(10**9))


def eid() -> str:
    return f"e{next(_n)}"


def upload(video="v1", creator="c1", ts=T0):
    return [
        UploadRequested(
            event_id=eid(), ts=ts, video_id=video, creator_id=creator, max_bytes=1, expires_at=ts + S
        ),
        VideoUploaded(
            event_id=eid(),
            ts=ts + 1,
            video_id=video,
            creator_id=creator,
            blob_key="b",
            sha256="0" * 64,
            size_bytes=9,
        ),
    ]


def details(
    video="v1", creator="c1", ts=T0 + 2, privacy="public", hashtags=("#Fun", "fun", " Dance "), caption="hi"
):
    return VideoDetailsSubmitted(
        event_id=eid(),
        ts=ts,
        video_id=video,
        creator_id=creator,
        caption=caption,
        hashtags=hashtags,
        sound_id="s1",
        sound_title="Song",
        privacy=privacy,
    )


def transcoded(video="v1", creator="c1", ts=T0 + 3):
    return VideoTranscoded(
        event_id=eid(),
        ts=ts,
        video_id=video,
        creator_id=creator,
        duration_ms=15_000,
        width=720,
        height=1280,
        master_playlist_key=f"{video}/master.m3u8",
        renditions=(Rendition(height=360, width=640, bitrate_kbps=800, playlist_key=f"{video}/360.m3u8"),),
        thumbnail_keys=(f"{video}/t.jpg",),
    )


def decided(video="v1", decision="approve", ts=T0 + 5, rating="general", category=None, reason=""):
    return ModerationDecided(
        event_id=eid(),
        ts=ts,
        video_id=video,
        decision=decision,
        age_rating=rating,
        category=category,
        reason=reason,
    )


def published(video="v1", creator="c1", ts=T0 + 6):
    return VideoPublished(event_id=eid(), ts=ts, video_id=video, creator_id=creator)


def full(video="v1", creator="c1", ts=T0, privacy="public", rating="general"):
    return [
        *upload(video, creator, ts),
        details(video, creator, ts + 2, privacy),
        transcoded(video, creator, ts + 3),
        ModerationScored(event_id=eid(), ts=ts + 4, video_id=video, scores={"nudity": 0.1}),
        decided(video, ts=ts + 5, rating=rating),
        published(video, creator, ts + 6),
    ]


def status_after(events):
    v = get_video(fold_all(PROJECTION, events), "v1")
    assert v is not None
    return v.status


def test_lifecycle_statuses():
    evs = full()
    assert [status_after(evs[: i + 1]) for i in range(len(evs))] == [
        "requested",
        "processing",
        "processing",
        "transcoded",
        "moderating",
        "approved",
        "published",
    ]


def test_metadata_is_kept():
    view = fold_all(PROJECTION, full())
    v = get_video(view, "v1")
    assert v is not None
    assert v.hashtags == ("fun", "dance") and v.sound_id == "s1" and v.sound_title == "Song"
    assert v.creator_id == "c1" and v.duration_ms == 15_000 and v.master_playlist_key == "v1/master.m3u8"
    assert len(v.renditions) == 1 and v.thumbnail_keys == ("v1/t.jpg",)
    assert v.created_at == T0 and v.published_at == T0 + 6 and v.privacy == "public"


def test_normalize_hashtags():
    assert normalize_hashtags(["#A", "a", " #B ", "#", "", "c"]) == ("a", "b", "c")


def test_failure_review_reject_appeal_and_removal():
    failed = [
        *upload(),
        TranscodeFailed(event_id=eid(), ts=T0 + 3, video_id="v1", creator_id="c1", reason="corrupt"),
    ]
    v = get_video(fold_all(PROJECTION, failed), "v1")
    assert v is not None and v.status == "failed" and v.failure_reason == "corrupt"

    held = [*full()[:5], decided(decision="review")]
    assert status_after(held) == "in_review"
    rejected = [
        *held,
        ReviewDecided(
            event_id=eid(), ts=T0 + 9, video_id="v1", moderator_id="m", decision="reject", reason="nudity"
        ),
    ]
    view = fold_all(PROJECTION, rejected)
    v = get_video(view, "v1")
    assert v is not None and v.status == "rejected" and v.reject_reason == "nudity"
    appeal = [
        AppealFiled(event_id=eid(), ts=T0 + 10, video_id="v1", creator_id="c1"),
        AppealFiled(event_id=eid(), ts=T0 + 11, video_id="v1", creator_id="c1"),
        AppealDecided(event_id=eid(), ts=T0 + 12, video_id="v1", moderator_id="m2", upheld=False),
    ]
    v = get_video(fold_all(PROJECTION, appeal, view), "v1")
    assert v is not None and v.appeal == "overturned" and v.status == "approved" and v.reject_reason is None

    auto_reject = [*full()[:5], decided(decision="reject", category="hate", reason="slur")]
    v = get_video(fold_all(PROJECTION, auto_reject), "v1")
    assert v is not None and (v.status, v.reject_category, v.reject_reason) == ("rejected", "hate", "slur")

    removed = [*full(), VideoRemoved(event_id=eid(), ts=T0 + 20, video_id="v1", by="creator")]
    v = get_video(fold_all(PROJECTION, removed), "v1")
    assert v is not None and v.status == "removed" and v.removed_by == "creator"


def test_mature_rating_from_moderation_and_review():
    view = fold_all(PROJECTION, full(rating="mature"))
    v = get_video(view, "v1")
    assert v is not None and v.age_rating == "mature"
    assert not age_allowed(v, None, T0) and not age_allowed(v, 2010, T0) and age_allowed(v, 1990, T0)
    review = ReviewDecided(
        event_id=eid(), ts=T0 + 30, video_id="v1", moderator_id="m", decision="approve", age_rating="general"
    )
    v = get_video(fold_all(PROJECTION, [review], view), "v1")
    assert v is not None and v.age_rating == "general" and v.status == "published"


def test_only_published_is_visible():
    evs = full()
    for i in range(len(evs) - 1):
        view = fold_all(PROJECTION, evs[: i + 1])
        assert not is_visible(view, "v1", "c1", follows_mutually=True)
    view = fold_all(PROJECTION, evs)
    assert is_visible(view, "v1", None, follows_mutually=False)
    gone = fold_all(PROJECTION, [VideoRemoved(event_id=eid(), ts=T0 + 20, video_id="v1")], view)
    assert not is_visible(gone, "v1", "c1", follows_mutually=True)
    assert not is_visible(view, "unknown", "c1", follows_mutually=True)


def test_privacy_visibility():
    view = fold_all(PROJECTION, full(privacy="private"))
    assert is_visible(view, "v1", "c1", follows_mutually=False)
    assert not is_visible(view, "v1", "friend", follows_mutually=True)
    assert not is_visible(view, "v1", None, follows_mutually=False)

    view = fold_all(PROJECTION, full(privacy="friends"))
    assert is_visible(view, "v1", "c1", follows_mutually=False)
    assert is_visible(view, "v1", "friend", follows_mutually=True)
    assert not is_visible(view, "v1", "fan", follows_mutually=False)
    assert not is_visible(view, "v1", None, follows_mutually=True)


def test_users_registered_and_updated():
    events = [
        UserProfileUpdated(
            event_id=eid(), ts=T0, user_id="early", name="Early"
        ),  # parked before registration
        UserRegistered(
            event_id=eid(), ts=T0 + 1, user_id="a", name="Ann", region="DE", birth_year=1990, role="moderator"
        ),
        UserProfileUpdated(event_id=eid(), ts=T0 + 2, user_id="a", avatar_url="av.png"),
        UserRegistered(event_id=eid(), ts=T0 + 3, user_id="a", name="Dup", region="US"),
    ]
    view = fold_all(PROJECTION, events)
    a = get_user(view, "a")
    assert a is not None and (a.name, a.region, a.avatar_url, a.birth_year, a.role) == (
        "Ann",
        "DE",
        "av.png",
        1990,
        "moderator",
    )
    early = get_user(view, "early")
    assert early is not None and not early.registered and early.name == "Early"
    assert get_user(view, "nobody") is None


def test_published_list_newest_first_and_only_public():
    events = [*full("v1", ts=T0), *full("v2", ts=T0 + 100), *full("v3", ts=T0 + 200, privacy="private")]
    view = fold_all(PROJECTION, events)
    assert [x.video_id for x in published_videos(view)] == ["v2", "v1"]
    assert [x.video_id for x in published_videos(view, since_us=T0 + 50)] == ["v2"]
    assert [x.video_id for x in published_videos(view, limit=1)] == ["v2"]
    first = published_videos(view, limit=1)[0]
    assert [x.video_id for x in published_videos(view, after=first)] == ["v1"]
    view = fold_all(PROJECTION, [VideoRemoved(event_id=eid(), ts=T0 + 300, video_id="v2")], view)
    assert [x.video_id for x in published_videos(view)] == ["v1"]
    view = fold_all(PROJECTION, [details("v1", privacy="friends", ts=T0 + 301)], view)
    assert published_videos(view) == []


def test_videos_by_status_oldest_first():
    events = [*upload("v1", ts=T0), *upload("v2", ts=T0 + 10), *upload("v3", ts=T0 + 20)]
    events += [
        TranscodeFailed(event_id=eid(), ts=T0 + 40, video_id="v2", creator_id="c1", reason="x"),
        TranscodeFailed(event_id=eid(), ts=T0 + 30, video_id="v3", creator_id="c1", reason="x"),
    ]
    view = fold_all(PROJECTION, events)
    assert [x.video_id for x in videos_by_status(view, "failed")] == ["v3", "v2"]
    oldest = videos_by_status(view, "failed", limit=1)[0]
    assert [x.video_id for x in videos_by_status(view, "failed", after=oldest)] == ["v2"]
    assert [x.video_id for x in videos_by_status(view, "processing")] == ["v1"]
    view = fold_all(PROJECTION, [transcoded("v2", ts=T0 + 50)], view)
    assert [x.video_id for x in videos_by_status(view, "failed")] == ["v3"]
    assert [x.video_id for x in videos_by_status(view, "transcoded")] == ["v2"]


def _index_consistent(view) -> None:
    statuses = {k.split(":")[1] for k in view.data if k.startswith("s:")}
    assert statuses <= set(STATUSES)
    videos = {k: v for k, v in view.data.items() if k.startswith("v:")}
    assert len([k for k in view.data if k.startswith("s:")]) == len(videos)  # one status entry per video
    for v in videos.values():
        assert len(videos_by_status(view, v.status, limit=None)) >= 1
    listed = {x.video_id for x in published_videos(view, limit=None)}
    assert listed == {
        v.video_id for v in videos.values() if v.status == "published" and v.privacy == "public"
    }


@settings(max_examples=60, deadline=None)
@given(event_lists(max_size=80), st.integers(0, 80))
def test_fold_laws(events, split):
    _index_consistent(check_fold_laws(PROJECTION, events, split))


@settings(max_examples=60, deadline=None)
@given(event_lists(max_size=60, ordered=False))
def test_indexes_stay_consistent_in_any_order(events):
    _index_consistent(fold_all(PROJECTION, events))


@settings(max_examples=30, deadline=None)
@given(st.lists(unknown_ref_event(), max_size=20))
def test_unknown_references_never_raise(events):
    view = check_fold_laws(PROJECTION, events, len(events) // 2)
    for v in view.data.values():
        assert not (hasattr(v, "status") and v.status == "published" and v.creator_id is None)


def test_friends_only_is_visible_to_mutual_follows_from_the_social_view():
    follows = [
        Followed(event_id=eid(), ts=T0, user_id="c1", creator_id="friend"),
        Followed(event_id=eid(), ts=T0, user_id="friend", creator_id="c1"),
        Followed(event_id=eid(), ts=T0, user_id="fan", creator_id="c1"),  # follows, not followed back
        Followed(event_id=eid(), ts=T0, user_id="c1", creator_id="followed"),  # followed, not following
    ]
    events = [*full(privacy="friends"), *follows]
    catalog, graph = fold_all(PROJECTION, events), fold_all(social.PROJECTION, events)

    def sees(viewer):
        return is_visible(catalog, "v1", viewer, follows_mutually=social.mutual(graph, "c1", viewer))

    assert sees("c1") and sees("friend")
    assert not sees("fan") and not sees("followed") and not sees("stranger")
