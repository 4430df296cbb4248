"""Counters: plays, unique viewers, likes, comments and shares per video and per creator.

Rules: a repeat view of the same video by the same user less than 30 s (by event ``ts``) after the
last *counted* play of that pair is not counted again; like/unlike is idempotent (liking twice is
one like, unliking without a like is a no-op); unique viewers are exact (one key per pair).

Keys (ids escaped with ``common.esc``):

- ``v:{video}``            -> ``VideoCounts`` (plus the video's creator once a lifecycle event named it)
- ``c:{creator}``          -> ``CreatorCounts`` (sums over the creator's videos)
- ``p:{video}:{user}``     -> ``Pair`` (last counted play ts, liked)
- ``cu:{creator}:{user}``  -> ``CreatorViewer`` (the user has viewed some video of the creator)

Interactions on a video whose creator is not known yet are counted on the video; when a lifecycle
event later names the creator, the video's plays/likes/comments/shares are added to the creator's
totals (its unique viewers cannot be, since overlaps with other videos are unknown).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from events import (
    Commented,
    Event,
    Liked,
    Shared,
    Unliked,
    UploadRequested,
    VideoDetailsSubmitted,
    VideoPublished,
    VideoTranscoded,
    VideoUploaded,
    ViewEnded,
)

from .base import Delta, QueryReader, ViewReader
from .common import esc

__all__ = [
    "PROJECTION",
    "REPEAT_WINDOW_US",
    "CountersProjection",
    "CreatorCounts",
    "CreatorViewer",
    "Pair",
    "VideoCounts",
    "creator_stats",
    "has_liked",
    "video_stats",
]

#: A play less than this long after the pair's last counted play is a repeat and is not counted.
REPEAT_WINDOW_US = 30_000_000


class VideoCounts(msgspec.Struct, frozen=True, array_like=True, tag="cv"):
    creator_id: str | None = None
    plays: int = 0
    viewers: int = 0
    likes: int = 0
    comments: int = 0
    shares: int = 0


class CreatorCounts(msgspec.Struct, frozen=True, array_like=True, tag="cc"):
    plays: int = 0
    viewers: int = 0
    likes: int = 0
    comments: int = 0
    shares: int = 0
    videos: int = 0


class Pair(msgspec.Struct, frozen=True, array_like=True, tag="cp"):
    """One (video, user) pair: ``last_play`` is the ts of the last counted play (-1: never viewed)."""

    last_play: int = -1
    liked: bool = False


class CreatorViewer(msgspec.Struct, frozen=True, array_like=True, tag="cu"):
    first_ts: int = 0


CountersValue = VideoCounts | CreatorCounts | Pair | CreatorViewer

_NO_VIDEO = VideoCounts()
_NO_CREATOR = CreatorCounts()
_NO_PAIR = Pair()


#: Event types this view folds; the rest are skipped with one set lookup before any ``match``.
_HANDLED: frozenset[type] = frozenset(
    (
        ViewEnded,
        Liked,
        Unliked,
        Commented,
        Shared,
        VideoUploaded,
        VideoDetailsSubmitted,
        VideoPublished,
        VideoTranscoded,
        UploadRequested,
    )
)


class CountersProjection:
    name = "counters"
    version = 1
    value_type = CountersValue

    def keys(self, event: Event) -> Sequence[str]:
        if type(event) not in _HANDLED:
            return ()
        match event:
            case ViewEnded() | Liked() | Unliked():
                vid = esc(event.video_id)
                return (f"p:{vid}:{esc(event.user_id)}", f"v:{vid}")
            case Commented() | Shared():
                return (f"v:{esc(event.video_id)}",)
            case (
                VideoUploaded()
                | VideoDetailsSubmitted()
                | VideoPublished()
                | VideoTranscoded()
                | UploadRequested()
            ):
                return (f"v:{esc(event.video_id)}", f"c:{esc(event.creator_id)}")
            case _:
                return ()

    def fold(self, view: ViewReader, event: Event) -> Delta:
        if type(event) not in _HANDLED:
            return {}
        match event:
            case ViewEnded():
                return _view_ended(view, event)
            case Liked():
                return _like(view, event.video_id, event.user_id, True)
            case Unliked():
                return _like(view, event.video_id, event.user_id, False)
            case Commented():
                return _bump(view, event.video_id, comments=1)
            case Shared():
                return _bump(view, event.video_id, shares=1)
            case (
                VideoUploaded()
                | VideoDetailsSubmitted()
                | VideoPublished()
                | VideoTranscoded()
                | UploadRequested()
            ):
                return _learn_creator(view, event.video_id, event.creator_id)
            case _:
                return {}


def _view_ended(view: ViewReader, event: ViewEnded) -> Delta:
    vid = esc(event.video_id)
    uid = esc(event.user_id)
    pkey = f"p:{vid}:{uid}"
    pair: Pair = view.get(pkey) or _NO_PAIR
    ts = event.ts
    last = pair.last_play
    new_viewer = last < 0
    if not new_viewer and -REPEAT_WINDOW_US < ts - last < REPEAT_WINDOW_US:
        return {}
    vkey = f"v:{vid}"
    vc: VideoCounts = view.get(vkey) or _NO_VIDEO
    viewers = 1 if new_viewer else 0
    delta: dict[str, object] = {
        pkey: Pair(ts if ts > last else last, pair.liked),
        vkey: VideoCounts(
            vc.creator_id, vc.plays + 1, vc.viewers + viewers, vc.likes, vc.comments, vc.shares
        ),
    }
    creator = vc.creator_id
    if creator is not None:
        cid = esc(creator)
        ckey = f"c:{cid}"
        cc: CreatorCounts = view.get(ckey) or _NO_CREATOR
        if new_viewer:
            cukey = f"cu:{cid}:{uid}"
            if view.get(cukey) is None:
                delta[cukey] = CreatorViewer(ts)
            else:
                viewers = 0
        delta[ckey] = CreatorCounts(
            cc.plays + 1, cc.viewers + viewers, cc.likes, cc.comments, cc.shares, cc.videos
        )
    return delta


def _like(view: ViewReader, video_id: str, user_id: str, like: bool) -> Delta:
    vid = esc(video_id)
    pkey = f"p:{vid}:{esc(user_id)}"
    pair: Pair = view.get(pkey) or _NO_PAIR
    if pair.liked == like:
        return {}
    delta: dict[str, object] = {pkey: Pair(pair.last_play, like)}
    delta.update(_bump(view, video_id, likes=1 if like else -1))
    return delta


def _bump(view: ViewReader, video_id: str, *, likes: int = 0, comments: int = 0, shares: int = 0) -> Delta:
    vkey = f"v:{esc(video_id)}"
    vc: VideoCounts = view.get(vkey) or _NO_VIDEO
    delta: dict[str, object] = {
        vkey: VideoCounts(
            vc.creator_id, vc.plays, vc.viewers, vc.likes + likes, vc.comments + comments, vc.shares + shares
        )
    }
    if vc.creator_id is not None:
        ckey = f"c:{esc(vc.creator_id)}"
        cc: CreatorCounts = view.get(ckey) or _NO_CREATOR
        delta[ckey] = CreatorCounts(
            cc.plays, cc.viewers, cc.likes + likes, cc.comments + comments, cc.shares + shares, cc.videos
        )
    return delta


def _learn_creator(view: ViewReader, video_id: str, creator_id: str) -> Delta:
    vkey = f"v:{esc(video_id)}"
    vc: VideoCounts | None = view.get(vkey)
    if vc is not None and vc.creator_id is not None:
        return {}  # a video's creator never changes: the first lifecycle event that named it wins
    vc = vc or _NO_VIDEO
    ckey = f"c:{esc(creator_id)}"
    cc: CreatorCounts = view.get(ckey) or _NO_CREATOR
    return {
        vkey: msgspec.structs.replace(vc, creator_id=creator_id),
        # back-fill what was counted while the creator was unknown (viewers: overlap unknown)
        ckey: CreatorCounts(
            cc.plays + vc.plays,
            cc.viewers,
            cc.likes + vc.likes,
            cc.comments + vc.comments,
            cc.shares + vc.shares,
            cc.videos + 1,
        ),
    }


PROJECTION = CountersProjection()


# ------------------------------------------------------------------------------------- queries


def video_stats(reader: QueryReader, video_id: str) -> VideoCounts | None:
    """The video's counts, or None if nothing was ever counted or learned for it."""
    value: VideoCounts | None = reader.get(f"v:{esc(video_id)}")
    return value


def creator_stats(reader: QueryReader, creator_id: str) -> CreatorCounts | None:
    """Totals over the creator's videos (``videos``: how many of their videos the view knows)."""
    value: CreatorCounts | None = reader.get(f"c:{esc(creator_id)}")
    return value


def has_liked(reader: QueryReader, video_id: str, user_id: str) -> bool:
    pair: Pair | None = reader.get(f"p:{esc(video_id)}:{esc(user_id)}")
    return pair is not None and pair.liked
