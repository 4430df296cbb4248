"""Social: the follow graph (followers, following, counts, mutual follows), creators' published videos
and the comments under each video.

Follows are idempotent (following twice is one edge, unfollowing a non-edge is a no-op) and a
self-follow is ignored. Mutual follows decide ``friends`` privacy (see ``catalog.is_visible``).

Keys (ids escaped with ``common.esc``; one key per edge so lists page by ``scan``):

- ``f:{user}:{creator}``                  -> ``Edge`` (user follows creator)
- ``r:{creator}:{user}``                  -> ``Edge`` (creator is followed by user)
- ``n:{user}``                            -> ``FollowCounts``
- ``v:{video}``                           -> ``VideoRef`` (creator, privacy, current publication)
- ``pv:{creator}:{inv_ts(published)}:{video}`` -> ``CreatorVideo`` (published videos, newest first)
- ``cm:{video}:{inv_ts(ts)}:{comment}``  -> ``Comment`` (a video's comments, newest first; a
  repeated ``comment_id`` at the same time is one comment)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import msgspec

from events import (
    Commented,
    Event,
    Followed,
    Unfollowed,
    UploadRequested,
    VideoDetailsSubmitted,
    VideoPublished,
    VideoRemoved,
    VideoUploaded,
)

from .base import Delta, QueryReader, ViewReader
from .common import esc, inv_ts

__all__ = [
    "PROJECTION",
    "Comment",
    "CreatorVideo",
    "Edge",
    "FollowCounts",
    "SocialProjection",
    "VideoRef",
    "comments",
    "counts",
    "followers",
    "following",
    "is_following",
    "mutual",
    "recent_videos",
]

Privacy = Literal["public", "friends", "private"]


class Edge(msgspec.Struct, frozen=True, array_like=True, tag="se"):
    since: int


class FollowCounts(msgspec.Struct, frozen=True, array_like=True, tag="sn"):
    followers: int = 0
    following: int = 0


class VideoRef(msgspec.Struct, frozen=True, array_like=True, tag="sv"):
    creator_id: str | None = None
    privacy: Privacy = "public"
    #: ts of the publication the ``pv:`` entry is filed under; None while not published (or removed).
    published_at: int | None = None


class CreatorVideo(msgspec.Struct, frozen=True, array_like=True, tag="sp"):
    video_id: str
    published_at: int
    privacy: Privacy = "public"


class Comment(msgspec.Struct, frozen=True, array_like=True, tag="sc"):
    comment_id: str
    user_id: str
    text: str
    ts: int


SocialValue = Edge | FollowCounts | VideoRef | CreatorVideo | Comment

_ZERO = FollowCounts()
_NO_REF = VideoRef()


#: Event types this view folds; the rest are skipped with one set lookup before any ``match``.
_HANDLED: frozenset[type] = frozenset(
    (
        Commented,
        Followed,
        Unfollowed,
        VideoPublished,
        VideoRemoved,
        VideoDetailsSubmitted,
        VideoUploaded,
        UploadRequested,
    )
)


class SocialProjection:
    name = "social"
    version = 1
    value_type = SocialValue

    def keys(self, event: Event) -> Sequence[str]:
        if type(event) not in _HANDLED:
            return ()
        match event:
            case Followed() | Unfollowed():
                a, b = esc(event.user_id), esc(event.creator_id)
                return (f"f:{a}:{b}", f"n:{a}", f"n:{b}")
            case (
                VideoPublished()
                | VideoRemoved()
                | VideoDetailsSubmitted()
                | VideoUploaded()
                | UploadRequested()
            ):
                return (f"v:{esc(event.video_id)}",)
            case _:
                return ()  # Commented: a blind write, nothing to read

    def fold(self, view: ViewReader, event: Event) -> Delta:
        if type(event) not in _HANDLED:
            return {}
        match event:
            case Followed():
                return _follow(view, event.user_id, event.creator_id, event.ts, True)
            case Unfollowed():
                return _follow(view, event.user_id, event.creator_id, event.ts, False)
            case VideoUploaded() | UploadRequested():
                return _learn(view, event.video_id, event.creator_id, None)
            case VideoDetailsSubmitted():
                return _learn(view, event.video_id, event.creator_id, event.privacy)
            case VideoPublished():
                return _publish(view, event)
            case VideoRemoved():
                return _unpublish(view, event.video_id)
            case Commented():
                key = f"cm:{esc(event.video_id)}:{inv_ts(event.ts)}:{esc(event.comment_id)}"
                return {key: Comment(event.comment_id, event.user_id, event.text, event.ts)}
            case _:
                return {}


def _follow(view: ViewReader, user: str, creator: str, ts: int, on: bool) -> Delta:
    if user == creator:
        return {}
    a, b = esc(user), esc(creator)
    fkey = f"f:{a}:{b}"
    if (view.get(fkey) is not None) == on:
        return {}
    na, nb = f"n:{a}", f"n:{b}"
    ca: FollowCounts = view.get(na) or _ZERO
    cb: FollowCounts = view.get(nb) or _ZERO
    step = 1 if on else -1
    edge = Edge(ts) if on else None
    return {
        fkey: edge,
        f"r:{b}:{a}": edge,
        na: FollowCounts(ca.followers, ca.following + step),
        nb: FollowCounts(cb.followers + step, cb.following),
    }


def _entry_key(creator: str, published_at: int, video_id: str) -> str:
    return f"pv:{esc(creator)}:{inv_ts(published_at)}:{esc(video_id)}"


def _learn(view: ViewReader, video_id: str, creator_id: str, privacy: Privacy | None) -> Delta:
    vkey = f"v:{esc(video_id)}"
    old: VideoRef | None = view.get(vkey)
    ref = old or _NO_REF
    new = VideoRef(ref.creator_id or creator_id, privacy or ref.privacy, ref.published_at)
    if new == old:
        return {}
    delta: dict[str, object] = {vkey: new}
    if new.published_at is not None and new.creator_id is not None and new.privacy != ref.privacy:
        delta[_entry_key(new.creator_id, new.published_at, video_id)] = CreatorVideo(
            video_id, new.published_at, new.privacy
        )
    return delta


def _publish(view: ViewReader, event: VideoPublished) -> Delta:
    vkey = f"v:{esc(event.video_id)}"
    ref: VideoRef = view.get(vkey) or _NO_REF
    if ref.published_at is not None:
        return {}  # already listed; a repeated publication keeps its first place
    creator = ref.creator_id or event.creator_id
    return {
        vkey: VideoRef(creator, ref.privacy, event.ts),
        _entry_key(creator, event.ts, event.video_id): CreatorVideo(event.video_id, event.ts, ref.privacy),
    }


def _unpublish(view: ViewReader, video_id: str) -> Delta:
    vkey = f"v:{esc(video_id)}"
    ref: VideoRef | None = view.get(vkey)
    if ref is None or ref.published_at is None or ref.creator_id is None:
        return {}
    return {
        vkey: VideoRef(ref.creator_id, ref.privacy, None),
        _entry_key(ref.creator_id, ref.published_at, video_id): None,
    }


PROJECTION = SocialProjection()


# ------------------------------------------------------------------------------------- queries


def _page(
    reader: QueryReader, prefix: str, limit: int, offset: int, after: str | None
) -> list[tuple[str, Any]]:
    """A page of ``prefix``'s entries: after the key suffix ``after`` (keyset paging, O(limit)) or,
    without a cursor, skipping ``offset`` entries."""
    if after is not None:
        return reader.scan(prefix, limit, start_after=prefix + after)
    return reader.scan(prefix, offset + limit)[offset:]


def _unesc(part: str) -> str:
    return part.replace("%3A", ":").replace("%25", "%") if "%" in part else part


def followers(
    reader: QueryReader, user_id: str, *, limit: int = 50, after: str | None = None, offset: int = 0
) -> list[str]:
    """Who follows ``user_id``, a page in id order; ``after``: the last id of the previous page."""
    prefix = f"r:{esc(user_id)}:"
    cursor = None if after is None else esc(after)
    return [_unesc(key[len(prefix) :]) for key, _ in _page(reader, prefix, limit, offset, cursor)]


def following(
    reader: QueryReader, user_id: str, *, limit: int = 50, after: str | None = None, offset: int = 0
) -> list[str]:
    """Whom ``user_id`` follows, a page in id order; ``after``: the last id of the previous page."""
    prefix = f"f:{esc(user_id)}:"
    cursor = None if after is None else esc(after)
    return [_unesc(key[len(prefix) :]) for key, _ in _page(reader, prefix, limit, offset, cursor)]


def counts(reader: QueryReader, user_id: str) -> FollowCounts:
    value: FollowCounts | None = reader.get(f"n:{esc(user_id)}")
    return value or _ZERO


def is_following(reader: QueryReader, user_id: str, creator_id: str) -> bool:
    return reader.get(f"f:{esc(user_id)}:{esc(creator_id)}") is not None


def mutual(reader: QueryReader, a: str, b: str) -> bool:
    """``a`` and ``b`` follow each other (what ``friends`` privacy requires)."""
    return a != b and is_following(reader, a, b) and is_following(reader, b, a)


def recent_videos(
    reader: QueryReader,
    creator_id: str,
    *,
    limit: int = 30,
    after: CreatorVideo | None = None,
    offset: int = 0,
) -> list[CreatorVideo]:
    """The creator's published (not removed) videos, newest first, any privacy (filter with the
    catalog); ``after``: the last video of the previous page."""
    cursor = None if after is None else f"{inv_ts(after.published_at)}:{esc(after.video_id)}"
    return [value for _, value in _page(reader, f"pv:{esc(creator_id)}:", limit, offset, cursor)]


def comments(
    reader: QueryReader, video_id: str, *, limit: int = 20, after: Comment | None = None, offset: int = 0
) -> list[Comment]:
    """Comments under a video, newest first (show them only where the video is visible);
    ``after``: the last comment of the previous page."""
    cursor = None if after is None else f"{inv_ts(after.ts)}:{esc(after.comment_id)}"
    return [value for _, value in _page(reader, f"cm:{esc(video_id)}:", limit, offset, cursor)]
