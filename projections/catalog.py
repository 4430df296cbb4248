"""Catalog: every video's metadata and lifecycle status, and every user's profile.

Only ``published`` videos are ever visible to feeds and search (``is_visible``); the status, the
rejection reason and category are kept for the owner (``GET /videos/{id}``).

Status machine (the pipeline is the authority; the fold only records what happened)::

    requested -> processing -> transcoded -> moderating -> approved -> published
                     |              |            |-> in_review -> approved | rejected
                     '-> failed <---'            '-> rejected  (appeal overturned -> approved)
    any -> removed (VideoRemoved); removed/rejected -> published again only by VideoPublished

Keys (ids escaped with ``common.esc``):

- ``v:{video}``                        -> ``VideoView``
- ``u:{user}``                         -> ``UserView``
- ``s:{status}:{status_at:017d}:{video}`` -> ``Listed`` (videos by status, oldest first)
- ``p:{inv_ts(published_at)}:{video}``    -> ``Listed`` (published public videos, newest first)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec

from events import (
    AppealDecided,
    AppealFiled,
    Event,
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

from .base import Delta, QueryReader, ViewReader
from .common import esc, inv_ts, is_adult, normalize_hashtag

__all__ = [
    "MAX_HASHTAGS",
    "PROJECTION",
    "STATUSES",
    "CatalogProjection",
    "Listed",
    "Status",
    "UserView",
    "VideoView",
    "age_allowed",
    "get_user",
    "get_video",
    "is_visible",
    "normalize_hashtags",
    "published_videos",
    "videos_by_status",
]

Status = Literal[
    "requested",
    "processing",
    "transcoded",
    "moderating",
    "approved",
    "in_review",
    "published",
    "rejected",
    "removed",
    "failed",
]
STATUSES: tuple[Status, ...] = Status.__args__  # type: ignore[attr-defined]
Appeal = Literal["none", "pending", "upheld", "overturned"]

#: Hashtags kept per video (the rest are dropped); keeps every value small.
MAX_HASHTAGS = 30


class VideoView(msgspec.Struct, frozen=True, kw_only=True, tag="catv"):
    video_id: str
    creator_id: str | None = None
    status: Status = "requested"
    status_at: int = 0
    caption: str = ""
    hashtags: tuple[str, ...] = ()
    sound_id: str | None = None
    sound_title: str | None = None
    privacy: Literal["public", "friends", "private"] = "public"
    age_rating: Literal["general", "mature"] = "general"
    duration_ms: int = 0
    width: int = 0
    height: int = 0
    master_playlist_key: str | None = None
    renditions: tuple[Rendition, ...] = ()
    thumbnail_keys: tuple[str, ...] = ()
    #: Shown to the owner only: why processing failed or moderation rejected / removed the video.
    failure_reason: str | None = None
    reject_reason: str | None = None
    reject_category: str | None = None
    removed_by: str | None = None
    appeal: Appeal = "none"
    created_at: int = 0
    published_at: int | None = None
    updated_at: int = 0


class UserView(msgspec.Struct, frozen=True, kw_only=True, tag="catu"):
    user_id: str
    name: str = ""
    avatar_url: str | None = None
    bio: str | None = None
    region: str = "ZZ"
    language: str = "en"
    birth_year: int | None = None
    role: Literal["user", "moderator", "admin"] = "user"
    anonymous: bool = False
    #: False while only a profile update (no registration) has been seen for this id.
    registered: bool = False
    created_at: int = 0


class Listed(msgspec.Struct, frozen=True, tag="catl"):
    """An index entry: the video and the time it entered the list."""

    video_id: str
    ts: int


CatalogValue = VideoView | UserView | Listed

_VIDEO_EVENTS: frozenset[type] = frozenset(
    (
        UploadRequested,
        VideoUploaded,
        VideoDetailsSubmitted,
        VideoTranscoded,
        TranscodeFailed,
        ModerationScored,
        ModerationDecided,
        ReviewDecided,
        VideoPublished,
        VideoRemoved,
        AppealFiled,
        AppealDecided,
    )
)
_USER_EVENTS: frozenset[type] = frozenset((UserRegistered, UserProfileUpdated))
_PENDING: frozenset[str] = frozenset(("requested", "processing", "transcoded", "failed"))
_AWAITING_DECISION: frozenset[str] = frozenset(("requested", "processing", "transcoded", "moderating"))


def normalize_hashtags(tags: Sequence[str]) -> tuple[str, ...]:
    """Lower-case, no ``#``, blanks dropped, duplicates removed (first kept), at most ``MAX_HASHTAGS``."""
    out: dict[str, None] = {}
    for tag in tags:
        norm = normalize_hashtag(tag)
        if norm:
            out[norm] = None
    return tuple(out)[:MAX_HASHTAGS]


def _status_key(status: str, at: int, vid: str) -> str:
    return f"s:{status}:{at:017d}:{vid}"


class CatalogProjection:
    name = "catalog"
    version = 1
    value_type = CatalogValue

    def keys(self, event: Event) -> Sequence[str]:
        kind = type(event)  # a set lookup: most events (interactions) are not for this view
        if kind in _VIDEO_EVENTS:
            return (f"v:{esc(event.video_id)}",)  # type: ignore[union-attr]
        if kind in _USER_EVENTS:
            return (f"u:{esc(event.user_id)}",)  # type: ignore[union-attr]
        return ()

    def fold(self, view: ViewReader, event: Event) -> Delta:
        kind = type(event)
        if kind in _VIDEO_EVENTS:
            return _fold_video(view, event)
        if kind in _USER_EVENTS:
            return _fold_user(view, event)  # type: ignore[arg-type]
        return {}


def _fold_user(view: ViewReader, event: UserRegistered | UserProfileUpdated) -> Delta:
    key = f"u:{esc(event.user_id)}"
    old: UserView | None = view.get(key)
    match event:
        case UserRegistered():
            if old is not None and old.registered:
                return {}  # registration happens once; later changes come as profile updates
            base = old or UserView(user_id=event.user_id, created_at=event.ts)
            new = msgspec.structs.replace(
                base,
                name=base.name if base.name else event.name,
                region=event.region,
                language=event.language,
                birth_year=event.birth_year,
                role=event.role,
                anonymous=event.anonymous,
                registered=True,
                created_at=min(base.created_at, event.ts),
            )
        case UserProfileUpdated():
            base = old or UserView(user_id=event.user_id, created_at=event.ts)  # parked until registered
            new = msgspec.structs.replace(
                base,
                name=base.name if event.name is None else event.name,
                avatar_url=base.avatar_url if event.avatar_url is None else event.avatar_url,
                bio=base.bio if event.bio is None else event.bio,
            )
    return {} if new == old else {key: new}


def _fold_video(view: ViewReader, event: Event) -> Delta:
    vid_id: str = event.video_id  # type: ignore[union-attr]
    vid = esc(vid_id)
    key = f"v:{vid}"
    old: VideoView | None = view.get(key)
    cur = old or VideoView(video_id=vid_id, created_at=event.ts, status_at=event.ts)
    new = _next(cur, event)
    if new is None or new == old:
        return {}
    ts = event.ts
    new = msgspec.structs.replace(new, updated_at=max(cur.updated_at, ts))
    delta: dict[str, object] = {}
    if old is None or new.status != old.status:
        if old is not None:
            delta[_status_key(old.status, old.status_at, vid)] = None
        new = msgspec.structs.replace(new, status_at=ts)
        delta[_status_key(new.status, ts, vid)] = Listed(vid_id, ts)
    was_listed = old is not None and _listed(old)
    now_listed = _listed(new)
    if was_listed and (not now_listed or new.published_at != old.published_at):  # type: ignore[union-attr]
        delta[f"p:{inv_ts(old.published_at)}:{vid}"] = None  # type: ignore[union-attr, arg-type]
    if now_listed:
        delta[f"p:{inv_ts(new.published_at)}:{vid}"] = Listed(vid_id, new.published_at)  # type: ignore[arg-type]
    delta[key] = new
    return delta


def _listed(v: VideoView) -> bool:
    return v.status == "published" and v.privacy == "public" and v.published_at is not None


def _next(v: VideoView, event: Event) -> VideoView | None:
    """The video after ``event`` (without index bookkeeping), or None when the event changes nothing."""
    replace = msgspec.structs.replace
    status = v.status
    match event:
        case UploadRequested():
            return replace(v, creator_id=v.creator_id or event.creator_id)
        case VideoUploaded():
            return replace(
                v,
                creator_id=v.creator_id or event.creator_id,
                status="processing" if status == "requested" else status,
                created_at=min(v.created_at, event.ts),
            )
        case VideoDetailsSubmitted():
            return replace(
                v,
                creator_id=v.creator_id or event.creator_id,
                caption=event.caption,
                hashtags=normalize_hashtags(event.hashtags),
                sound_id=event.sound_id,
                sound_title=event.sound_title,
                privacy=event.privacy,
            )
        case VideoTranscoded():
            return replace(
                v,
                creator_id=v.creator_id or event.creator_id,
                status="transcoded" if status in _PENDING else status,
                duration_ms=event.duration_ms,
                width=event.width,
                height=event.height,
                master_playlist_key=event.master_playlist_key,
                renditions=event.renditions,
                thumbnail_keys=event.thumbnail_keys,
                failure_reason=None if status in _PENDING else v.failure_reason,
            )
        case TranscodeFailed():
            if status not in _PENDING:
                return None
            return replace(
                v, creator_id=v.creator_id or event.creator_id, status="failed", failure_reason=event.reason
            )
        case ModerationScored():
            return replace(v, status="moderating") if status in _AWAITING_DECISION else None
        case ModerationDecided():
            if status not in _AWAITING_DECISION:
                return replace(v, age_rating=event.age_rating)
            if event.decision == "reject":
                return replace(
                    v,
                    status="rejected",
                    age_rating=event.age_rating,
                    reject_reason=event.reason,
                    reject_category=event.category,
                )
            new_status: Status = "approved" if event.decision == "approve" else "in_review"
            return replace(v, status=new_status, age_rating=event.age_rating)
        case ReviewDecided():
            rating = v.age_rating if event.age_rating is None else event.age_rating
            if status == "removed":
                return replace(v, age_rating=rating)
            if event.decision == "reject":
                return replace(
                    v,
                    status="rejected",
                    age_rating=rating,
                    reject_reason=event.reason,
                    reject_category=v.reject_category or "review",
                )
            approved: Status = "approved" if status in ("in_review", "rejected", "moderating") else status
            return replace(v, status=approved, age_rating=rating, reject_reason=None, reject_category=None)
        case VideoPublished():
            return replace(
                v,
                creator_id=v.creator_id or event.creator_id,
                status="published",
                published_at=v.published_at if v.published_at is not None else event.ts,
                removed_by=None,
            )
        case VideoRemoved():
            return replace(
                v, status="removed", removed_by=event.by, reject_reason=event.reason or v.reject_reason
            )
        case AppealFiled():
            return replace(v, appeal="pending") if v.appeal == "none" else None
        case AppealDecided():
            if v.appeal != "pending":
                return None
            if event.upheld:
                return replace(v, appeal="upheld")
            back: Status = "approved" if status == "rejected" else status
            return replace(v, appeal="overturned", status=back, reject_reason=None, reject_category=None)
        case _:
            return None


PROJECTION = CatalogProjection()


# ------------------------------------------------------------------------------------- queries


def get_video(reader: QueryReader, video_id: str) -> VideoView | None:
    """The video whatever its status (callers show non-published videos to their owner only)."""
    value: VideoView | None = reader.get(f"v:{esc(video_id)}")
    return value


def get_user(reader: QueryReader, user_id: str) -> UserView | None:
    value: UserView | None = reader.get(f"u:{esc(user_id)}")
    return value


def is_visible(
    reader: QueryReader, video: VideoView | str, viewer_id: str | None, *, follows_mutually: bool
) -> bool:
    """May ``viewer_id`` (None: anonymous) see this video in feeds, search and its page?

    Only ``published`` videos are ever visible; ``private`` only to the owner; ``friends`` to the
    owner and to users who follow the owner and are followed back (``follows_mutually``, from the
    social view's ``mutual(owner, viewer)``). Age gating is separate: ``age_allowed``.
    """
    v = get_video(reader, video) if isinstance(video, str) else video
    if v is None or v.status != "published":
        return False
    if v.privacy == "public":
        return True
    owner = viewer_id is not None and viewer_id == v.creator_id
    if v.privacy == "private":
        return owner
    return owner or (viewer_id is not None and follows_mutually)


def age_allowed(video: VideoView, viewer_birth_year: int | None, now_us: int) -> bool:
    """Mature videos reach only viewers known to be 18 or older at ``now_us``."""
    return video.age_rating != "mature" or is_adult(viewer_birth_year, now_us)


def videos_by_status(
    reader: QueryReader, status: Status, limit: int = 100, *, after: Listed | None = None
) -> list[Listed]:
    """Videos currently in ``status``, longest there first (e.g. ``failed`` or ``in_review``);
    ``after``: the last entry of the previous page."""
    prefix = f"s:{status}:"
    start = None if after is None else _status_key(status, after.ts, esc(after.video_id))
    return [value for _, value in reader.scan(prefix, limit, start_after=start)]


def published_videos(
    reader: QueryReader, limit: int = 100, *, since_us: int = 0, after: Listed | None = None
) -> list[Listed]:
    """Published public videos, newest first, published at or after ``since_us`` (the fresh pool);
    ``after``: the last entry of the previous page."""
    start = None if after is None else f"p:{inv_ts(after.ts)}:{esc(after.video_id)}"
    out: list[Listed] = []
    for _, value in reader.scan("p:", limit, start_after=start):
        if value.ts < since_us:
            break
        out.append(value)
    return out
