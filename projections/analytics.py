"""Analytics: per video and per creator, one row per UTC day — views, reach, watch time, engagement, audience.

Rows (``AnalyticsDay``) count views, unique viewers, watch time, completion (capped at one clip per
view), likes and unlikes, comments, shares and, for creators, follows gained and lost. Unique viewers
are exact: a marker key per (video, day, viewer), and per (viewer, day) the set of creators they
watched that day (known from the event alone, so the runner prefetches it). The audience split
(region, age band at the time of the view) counts each unique viewer once per day. Viewers' region
and birth year come from ``UserRegistered``; unknown viewers count as ``unknown``. Likes and follows
are idempotent (a marker per liker and per follower), so liking twice is one like.

A view of a video whose creator is not known yet (its lifecycle partition is behind) still counts
for the video; creator rows count what is folded after the creator is known.

Keys: ``v:{video}`` -> ``VideoOwner``, ``u:{user}`` -> ``Viewer``, ``dv:{video}:{day}`` and
``dc:{creator}:{day}`` -> ``AnalyticsDay``, ``ud:{user}:{day}`` -> ``ViewerDay``, markers
``sv:{video}:{day}:{user}``, ``lk:{video}:{user}``, ``fo:{creator}:{user}`` -> ``Mark``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Any

import msgspec

from events import (
    Commented,
    Event,
    Followed,
    Liked,
    Shared,
    Unfollowed,
    Unliked,
    UserRegistered,
    VideoDetailsSubmitted,
    VideoPublished,
    VideoUploaded,
    ViewEnded,
)

from .base import Delta, QueryReader, ViewReader
from .common import age_band, day_of, esc
from .errors import ProjectionsError

__all__ = [
    "PROJECTION",
    "AnalyticsDay",
    "AnalyticsProjection",
    "DailyRow",
    "InvalidDayError",
    "Mark",
    "VideoOwner",
    "Viewer",
    "ViewerDay",
    "creator_daily",
    "video_daily",
]

MAX_DAYS = 400  # longest range one query returns


class VideoOwner(msgspec.Struct, frozen=True, kw_only=True, tag="ao"):
    creator_id: str


class Viewer(msgspec.Struct, frozen=True, kw_only=True, tag="aw"):
    region: str
    birth_year: int | None = None


class Mark(msgspec.Struct, frozen=True, tag="am"):
    """Presence marker (unique viewer of a day, current liker, current follower)."""


class ViewerDay(msgspec.Struct, frozen=True, kw_only=True, tag="ax"):
    """The creators a viewer watched on one day (for exact unique viewers per creator and day)."""

    creators: tuple[str, ...] = ()


class AnalyticsDay(msgspec.Struct, frozen=True, kw_only=True, tag="ad"):
    views: int = 0
    unique_viewers: int = 0
    watch_ms: int = 0
    completion: float = 0.0  # sum over views of min(completion, 1)
    likes: int = 0
    unlikes: int = 0
    comments: int = 0
    shares: int = 0
    follows: int = 0
    unfollows: int = 0
    regions: dict[str, int] = {}  # unique viewers by region
    ages: dict[str, int] = {}  # unique viewers by age band


AnalyticsValue = VideoOwner | Viewer | Mark | AnalyticsDay | ViewerDay

_replace = msgspec.structs.replace
_EMPTY = AnalyticsDay()
_MARK = Mark()
_NO_CREATORS = ViewerDay()
_UNKNOWN = Viewer(region="unknown")


class DailyRow(msgspec.Struct, frozen=True, kw_only=True):
    """One day of a video's or creator's analytics, ready to chart (zero rows fill the gaps)."""

    day: str
    views: int
    unique_viewers: int
    watch_ms: int
    avg_watch_ms: float
    avg_completion: float  # share of the clip watched per view, 0..1
    likes: int
    unlikes: int
    comments: int
    shares: int
    follows: int
    unfollows: int
    audience_regions: dict[str, int]
    audience_ages: dict[str, int]


class InvalidDayError(ProjectionsError, ValueError):
    def __init__(self, *, day: str) -> None:
        self.day = day
        super().__init__(f"invalid day {day!r}: use YYYY-MM-DD (UTC)")


def _vkey(video_id: str) -> str:
    return "v:" + esc(video_id)


def _ukey(user_id: str) -> str:
    return "u:" + esc(user_id)


def _add(d: dict[str, int], key: str) -> dict[str, int]:
    new = dict(d)
    new[key] = new.get(key, 0) + 1
    return new


def _count(day: AnalyticsDay, field: str, by: int = 1) -> AnalyticsDay:
    return msgspec.structs.replace(day, **{field: getattr(day, field) + by})


class AnalyticsProjection:
    """Fold of the analytics view (see the module docstring)."""

    name = "analytics"
    version = 1
    value_type: Any = AnalyticsValue

    def keys(self, event: Event) -> Sequence[str]:
        match event:
            case ViewEnded(user_id=uid, video_id=vid, ts=ts):
                day = day_of(ts)
                v, u = esc(vid), esc(uid)
                return ("v:" + v, "u:" + u, f"dv:{v}:{day}", f"sv:{v}:{day}:{u}", f"ud:{u}:{day}")
            case Liked(user_id=uid, video_id=vid) | Unliked(user_id=uid, video_id=vid):
                v = esc(vid)
                return ("v:" + v, f"lk:{v}:{esc(uid)}", f"dv:{v}:{day_of(event.ts)}")
            case Shared(video_id=vid) | Commented(video_id=vid):
                v = esc(vid)
                return ("v:" + v, f"dv:{v}:{day_of(event.ts)}")
            case Followed(user_id=uid, creator_id=cid) | Unfollowed(user_id=uid, creator_id=cid):
                c = esc(cid)
                return (f"fo:{c}:{esc(uid)}", f"dc:{c}:{day_of(event.ts)}")
            case _:
                return ()

    def fold(self, view: ViewReader, event: Event) -> Delta:
        match event:
            case ViewEnded():
                return self._view(view, event)
            case Liked(user_id=uid, video_id=vid):
                mark = f"lk:{esc(vid)}:{esc(uid)}"
                if view.get(mark) is not None:
                    return {}
                return self._bump(view, vid, event.ts, "likes", {mark: _MARK})
            case Unliked(user_id=uid, video_id=vid):
                mark = f"lk:{esc(vid)}:{esc(uid)}"
                if view.get(mark) is None:
                    return {}
                return self._bump(view, vid, event.ts, "unlikes", {mark: None})
            case Shared(video_id=vid):
                return self._bump(view, vid, event.ts, "shares", {})
            case Commented(video_id=vid):
                return self._bump(view, vid, event.ts, "comments", {})
            case Followed(user_id=uid, creator_id=cid):
                mark = f"fo:{esc(cid)}:{esc(uid)}"
                if uid == cid or view.get(mark) is not None:
                    return {}
                key = f"dc:{esc(cid)}:{day_of(event.ts)}"
                return {mark: _MARK, key: _count(view.get(key) or _EMPTY, "follows")}
            case Unfollowed(user_id=uid, creator_id=cid):
                mark = f"fo:{esc(cid)}:{esc(uid)}"
                if view.get(mark) is None:
                    return {}
                key = f"dc:{esc(cid)}:{day_of(event.ts)}"
                return {mark: None, key: _count(view.get(key) or _EMPTY, "unfollows")}
            case UserRegistered(user_id=uid, region=region, birth_year=by):
                return {_ukey(uid): Viewer(region=region, birth_year=by)}
            case (
                VideoUploaded(video_id=vid, creator_id=cid)
                | VideoDetailsSubmitted(video_id=vid, creator_id=cid)
                | VideoPublished(video_id=vid, creator_id=cid)
            ):
                old = view.get(_vkey(vid))
                if old is not None and old.creator_id == cid:
                    return {}
                return {_vkey(vid): VideoOwner(creator_id=cid)}
            case _:
                return {}

    def _view(self, view: ViewReader, event: ViewEnded) -> Delta:
        ts = event.ts
        day = day_of(ts)
        v, u = esc(event.video_id), esc(event.user_id)
        viewer: Viewer = view.get("u:" + u) or _UNKNOWN
        band = age_band(viewer.birth_year, ts)
        watch = event.watch_ms
        done = 1.0 if event.loops else min(watch / event.duration_ms, 1.0)
        delta: dict[str, Any] = {}
        owner: VideoOwner | None = view.get("v:" + v)
        vkey, seen = f"dv:{v}:{day}", f"sv:{v}:{day}:{u}"
        first = view.get(seen) is None
        if first:
            delta[seen] = _MARK
        targets = [(vkey, first)]
        if owner is not None:
            cid = owner.creator_id
            ukey = f"ud:{u}:{day}"
            today: ViewerDay = view.get(ukey) or _NO_CREATORS
            first_c = cid not in today.creators
            if first_c:
                delta[ukey] = ViewerDay(creators=(*today.creators, cid))
            targets.append((f"dc:{esc(cid)}:{day}", first_c))
        for key, first in targets:
            old: AnalyticsDay = view.get(key) or _EMPTY
            delta[key] = _replace(
                old,
                views=old.views + 1,
                unique_viewers=old.unique_viewers + first,
                watch_ms=old.watch_ms + watch,
                completion=old.completion + done,
                regions=_add(old.regions, viewer.region) if first else old.regions,
                ages=_add(old.ages, band) if first else old.ages,
            )
        return delta

    def _bump(self, view: ViewReader, vid: str, ts: int, field: str, delta: dict[str, Any]) -> Delta:
        day = day_of(ts)
        v = esc(vid)
        key = f"dv:{v}:{day}"
        delta[key] = _count(view.get(key) or _EMPTY, field)
        owner: VideoOwner | None = view.get("v:" + v)
        if owner is not None:
            key = f"dc:{esc(owner.creator_id)}:{day}"
            delta[key] = _count(view.get(key) or _EMPTY, field)
        return delta


PROJECTION = AnalyticsProjection()


# ------------------------------------------------------------------------------------- queries


def _parse_day(day: str) -> _dt.date:
    try:
        return _dt.date.fromisoformat(day)
    except ValueError:
        raise InvalidDayError(day=day) from None


def _row(day: str, d: AnalyticsDay) -> DailyRow:
    n = d.views
    return DailyRow(
        day=day,
        views=n,
        unique_viewers=d.unique_viewers,
        watch_ms=d.watch_ms,
        avg_watch_ms=d.watch_ms / n if n else 0.0,
        avg_completion=d.completion / n if n else 0.0,
        likes=d.likes,
        unlikes=d.unlikes,
        comments=d.comments,
        shares=d.shares,
        follows=d.follows,
        unfollows=d.unfollows,
        audience_regions=dict(sorted(d.regions.items())),
        audience_ages=dict(sorted(d.ages.items())),
    )


def _rows(reader: QueryReader, prefix: str, first: _dt.date, last: _dt.date) -> list[DailyRow]:
    n = (last - first).days + 1
    if n <= 0:
        return []
    days = [(first + _dt.timedelta(days=i)).isoformat() for i in range(min(n, MAX_DAYS))]
    keys = [prefix + d for d in days]
    get_many = getattr(reader, "get_many", None)
    found: dict[str, Any] = get_many(keys) if get_many is not None else {k: reader.get(k) for k in keys}
    return [_row(d, found.get(k) or _EMPTY) for d, k in zip(days, keys, strict=True)]


def video_daily(
    reader: QueryReader, video_id: str, days: int = 30, *, now_us: int | None = None
) -> list[DailyRow]:
    """The last ``days`` days of a video, oldest first, ending today (``now_us``) or, without
    ``now_us``, on the video's latest day with data; days without activity are zero rows."""
    prefix = f"dv:{esc(video_id)}:"
    if now_us is not None:
        last = _parse_day(day_of(now_us))
    else:
        found = [k[len(prefix) :] for k, _ in reader.scan(prefix)]
        if not found:
            return []
        last = _parse_day(max(found))
    days = max(1, min(days, MAX_DAYS))
    return _rows(reader, prefix, last - _dt.timedelta(days=days - 1), last)


def creator_daily(reader: QueryReader, creator_id: str, from_day: str, to_day: str) -> list[DailyRow]:
    """A creator's rows from ``from_day`` to ``to_day`` (``YYYY-MM-DD``, UTC, inclusive), oldest first."""
    return _rows(reader, f"dc:{esc(creator_id)}:", _parse_day(from_day), _parse_day(to_day))
