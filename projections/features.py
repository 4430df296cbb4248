"""Features: the feature store the ranker reads — per-video engagement, smoothed rates, user affinities.

Per video (``v:{video}`` -> ``VideoStats``, which also holds the creator, hashtags and sound the user
affinities need): impressions, views, completes, skips, likes (net of unlikes), shares, comments,
reports and watch time. Rates are smoothed toward global priors when queried — a Beta(a, b) prior
gives ``(count + a) / (n + a + b)`` — so a video with three views does not look perfect or hopeless.

Per user (``u:{user}`` -> ``UserStats``): views, completes, skips, likes, shares, comments, watch
time, and affinities to creators, hashtags and sounds: exponentially decayed sums of engagement
(completion-weighted views, likes, shares, comments, follows) held as log2-domain ranks
(``common.decayed_add``), bounded to the best ``top_n`` of each kind (trimmed when they pass
``top_n + slack``). ``NotInterested`` drops the creator and sound from the user's affinities.

Every entry carries ``updated_ts``: the newest event time folded into it (its freshness).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from math import log2 as _log2
from typing import Any

import msgspec

from events import (
    Commented,
    Event,
    Followed,
    Impression,
    Liked,
    NotInterested,
    Reported,
    Shared,
    Unliked,
    VideoDetailsSubmitted,
    VideoPublished,
    VideoUploaded,
    ViewEnded,
)

from .base import Delta, QueryReader, ViewReader
from .common import (
    COMPLETE_SHARE,
    SHORT_CLIP_MS,
    SKIP_MIN_MS,
    SKIP_MIN_SHARE,
    decayed_value,
    esc,
    normalize_hashtag,
)

__all__ = [
    "DEFAULT_CONFIG",
    "PROJECTION",
    "CrossFeatures",
    "FeatureConfig",
    "FeaturesProjection",
    "UserFeatures",
    "UserStats",
    "VideoFeatures",
    "VideoStats",
    "cross_features",
    "smoothed",
    "user_features",
    "video_features",
    "video_features_many",
]

_DAY_US = 86_400_000_000


def _default_priors() -> dict[str, tuple[float, float]]:
    return {
        "view": (1.0, 1.0),  # views per impression
        "complete": (3.0, 7.0),
        "like": (1.0, 19.0),
        "share": (1.0, 99.0),
        "comment": (1.0, 49.0),
        "skip": (4.0, 6.0),
    }


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    """Beta priors (a, b) per rate, affinity weights, half-life and bounds."""

    priors: dict[str, tuple[float, float]] = field(default_factory=_default_priors)
    half_life_us: int = 14 * _DAY_US
    w_view: float = 1.0  # times completion (loops included), capped at max_completion
    max_completion: float = 2.0
    w_like: float = 2.0
    w_share: float = 3.0
    w_comment: float = 2.0
    w_follow: float = 4.0
    top_n: int = 50
    slack: int = 16
    max_hashtags: int = 10


DEFAULT_CONFIG = FeatureConfig()


class VideoStats(msgspec.Struct, frozen=True, kw_only=True, tag="fv"):
    creator_id: str | None = None
    hashtags: tuple[str, ...] = ()
    sound_id: str | None = None
    impressions: int = 0
    views: int = 0
    completes: int = 0
    skips: int = 0
    likes: int = 0
    shares: int = 0
    comments: int = 0
    reports: int = 0
    watch_ms: int = 0
    updated_ts: int = 0


class UserStats(msgspec.Struct, frozen=True, kw_only=True, tag="fu"):
    views: int = 0
    completes: int = 0
    skips: int = 0
    likes: int = 0
    shares: int = 0
    comments: int = 0
    watch_ms: int = 0
    creators: dict[str, float] = {}  # id -> affinity rank (log2 domain)
    hashtags: dict[str, float] = {}
    sounds: dict[str, float] = {}
    updated_ts: int = 0


FeatureValue = VideoStats | UserStats

_replace = msgspec.structs.replace
_EMPTY_VIDEO = VideoStats()
_EMPTY_USER = UserStats()


def _vkey(video_id: str) -> str:
    return "v:" + esc(video_id)


def _ukey(user_id: str) -> str:
    return "u:" + esc(user_id)


def _bump(ranks: dict[str, float], keys: Iterable[str], point: float, cfg: FeatureConfig) -> dict[str, float]:
    """``ranks`` with ``keys`` bumped by a weight given as ``point`` = log2(weight) + ts / half-life
    (``common.decayed_add`` inlined: it runs for every view); trimmed to ``top_n`` past ``top_n + slack``."""
    new = dict(ranks)
    for k in keys:
        r = new.get(k)
        if r is None:
            new[k] = point
        elif r >= point:
            new[k] = r + _log2(1.0 + 2.0 ** (point - r))
        else:
            new[k] = point + _log2(1.0 + 2.0 ** (r - point))
    if len(new) > cfg.top_n + cfg.slack:
        new = dict(sorted(new.items(), key=lambda kv: (-kv[1], kv[0]))[: cfg.top_n])
    return new


def _point(ts: int, weight: float, cfg: FeatureConfig) -> float:
    return ts / cfg.half_life_us + _log2(weight)


class FeaturesProjection:
    """Fold of the feature store (see the module docstring)."""

    name = "features"
    version = 1
    value_type: Any = FeatureValue

    def __init__(self, config: FeatureConfig = DEFAULT_CONFIG) -> None:
        self.config = config

    def keys(self, event: Event) -> Sequence[str]:
        match event:
            case Impression() | Reported():
                return (_vkey(event.video_id),)
            case ViewEnded() | Liked() | Unliked() | Shared() | Commented() | NotInterested():
                return (_vkey(event.video_id), _ukey(event.user_id))
            case Followed():
                return (_ukey(event.user_id),)
            case VideoUploaded() | VideoDetailsSubmitted() | VideoPublished():
                return (_vkey(event.video_id),)
            case _:
                return ()

    def fold(self, view: ViewReader, event: Event) -> Delta:
        match event:
            case Impression(video_id=vid, ts=ts):
                key = _vkey(vid)
                v: VideoStats = view.get(key) or _EMPTY_VIDEO
                return {
                    key: msgspec.structs.replace(
                        v, impressions=v.impressions + 1, updated_ts=max(v.updated_ts, ts)
                    )
                }
            case ViewEnded():
                return self._view(view, event)
            case Liked() | Shared() | Commented():
                return self._engage(view, event)
            case Unliked(video_id=vid, ts=ts):
                key = _vkey(vid)
                v = view.get(key) or _EMPTY_VIDEO
                return {
                    key: msgspec.structs.replace(
                        v, likes=max(0, v.likes - 1), updated_ts=max(v.updated_ts, ts)
                    )
                }
            case Reported(video_id=vid, ts=ts):
                key = _vkey(vid)
                v = view.get(key) or _EMPTY_VIDEO
                return {
                    key: msgspec.structs.replace(v, reports=v.reports + 1, updated_ts=max(v.updated_ts, ts))
                }
            case Followed(user_id=uid, creator_id=cid, ts=ts):
                if uid == cid:
                    return {}
                key = _ukey(uid)
                u: UserStats = view.get(key) or _EMPTY_USER
                point = _point(ts, self.config.w_follow, self.config)
                creators = _bump(u.creators, (cid,), point, self.config)
                return {key: msgspec.structs.replace(u, creators=creators, updated_ts=max(u.updated_ts, ts))}
            case NotInterested():
                return self._not_interested(view, event)
            case VideoUploaded(video_id=vid, creator_id=cid) | VideoPublished(video_id=vid, creator_id=cid):
                key = _vkey(vid)
                v = view.get(key) or _EMPTY_VIDEO
                return {} if v.creator_id == cid else {key: msgspec.structs.replace(v, creator_id=cid)}
            case VideoDetailsSubmitted(video_id=vid):
                key = _vkey(vid)
                v = view.get(key) or _EMPTY_VIDEO
                tags = tuple(dict.fromkeys(t for t in map(normalize_hashtag, event.hashtags) if t))
                return {
                    key: msgspec.structs.replace(
                        v,
                        creator_id=event.creator_id,
                        hashtags=tags[: self.config.max_hashtags],
                        sound_id=event.sound_id,
                    )
                }
            case _:
                return {}

    def _view(self, view: ViewReader, event: ViewEnded) -> Delta:
        cfg = self.config
        ts, watch, dur, loops = event.ts, event.watch_ms, event.duration_ms, event.loops
        # common.is_skip / is_complete / completion, inlined: this is the hottest path of the fold
        if loops:
            skip, complete, share = False, True, loops + min(watch / dur, 1.0)
        else:
            skip = watch < SKIP_MIN_MS or (dur <= SHORT_CLIP_MS and watch < SKIP_MIN_SHARE * dur)
            complete = watch >= COMPLETE_SHARE * dur
            share = watch / dur
        vkey, ukey = _vkey(event.video_id), _ukey(event.user_id)
        v: VideoStats = view.get(vkey) or _EMPTY_VIDEO
        u: UserStats = view.get(ukey) or _EMPTY_USER
        new_v = _replace(
            v,
            views=v.views + 1,
            completes=v.completes + complete,
            skips=v.skips + skip,
            watch_ms=v.watch_ms + watch,
            updated_ts=ts if ts > v.updated_ts else v.updated_ts,
        )
        creators, hashtags, sounds = u.creators, u.hashtags, u.sounds
        if not skip:
            w = cfg.w_view * min(share, cfg.max_completion)
            if w > 0.0:
                creators, hashtags, sounds = self._affinities(u, v, ts, w)
        new_u = _replace(
            u,
            views=u.views + 1,
            completes=u.completes + complete,
            skips=u.skips + skip,
            watch_ms=u.watch_ms + watch,
            creators=creators,
            hashtags=hashtags,
            sounds=sounds,
            updated_ts=ts if ts > u.updated_ts else u.updated_ts,
        )
        return {vkey: new_v, ukey: new_u}

    def _affinities(
        self, u: UserStats, v: VideoStats, ts: int, w: float
    ) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
        cfg = self.config
        p = _point(ts, w, cfg)
        creators = u.creators if v.creator_id is None else _bump(u.creators, (v.creator_id,), p, cfg)
        hashtags = _bump(u.hashtags, v.hashtags, p, cfg) if v.hashtags else u.hashtags
        sounds = u.sounds if v.sound_id is None else _bump(u.sounds, (v.sound_id,), p, cfg)
        return creators, hashtags, sounds

    def _engage(self, view: ViewReader, event: Liked | Shared | Commented) -> Delta:
        cfg = self.config
        ts = event.ts
        vkey, ukey = _vkey(event.video_id), _ukey(event.user_id)
        v: VideoStats = view.get(vkey) or _EMPTY_VIDEO
        u: UserStats = view.get(ukey) or _EMPTY_USER
        match event:
            case Liked():
                w = cfg.w_like
                new_v = msgspec.structs.replace(v, likes=v.likes + 1)
                u = msgspec.structs.replace(u, likes=u.likes + 1)
            case Shared():
                w = cfg.w_share
                new_v = msgspec.structs.replace(v, shares=v.shares + 1)
                u = msgspec.structs.replace(u, shares=u.shares + 1)
            case Commented():
                w = cfg.w_comment
                new_v = msgspec.structs.replace(v, comments=v.comments + 1)
                u = msgspec.structs.replace(u, comments=u.comments + 1)
        creators, hashtags, sounds = self._affinities(u, v, ts, w)
        new_u = msgspec.structs.replace(
            u, creators=creators, hashtags=hashtags, sounds=sounds, updated_ts=max(u.updated_ts, ts)
        )
        return {vkey: msgspec.structs.replace(new_v, updated_ts=max(v.updated_ts, ts)), ukey: new_u}

    def _not_interested(self, view: ViewReader, event: NotInterested) -> Delta:
        ukey = _ukey(event.user_id)
        u: UserStats | None = view.get(ukey)
        if u is None:
            return {}
        v: VideoStats = view.get(_vkey(event.video_id)) or _EMPTY_VIDEO
        creator = event.creator_id or v.creator_id
        sound = event.sound_id or v.sound_id
        creators = {k: r for k, r in u.creators.items() if k != creator}
        sounds = {k: r for k, r in u.sounds.items() if k != sound}
        return {
            ukey: msgspec.structs.replace(
                u, creators=creators, sounds=sounds, updated_ts=max(u.updated_ts, event.ts)
            )
        }


PROJECTION = FeaturesProjection()


# ------------------------------------------------------------------------------------- queries


def smoothed(count: int, n: int, prior: tuple[float, float]) -> float:
    """The Beta(a, b)-smoothed rate ``(count + a) / (n + a + b)``."""
    a, b = prior
    return (count + a) / (n + a + b)


class VideoFeatures(msgspec.Struct, frozen=True, kw_only=True):
    video_id: str
    known: bool  # False: nothing folded yet, every rate is its prior
    creator_id: str | None
    hashtags: tuple[str, ...]
    sound_id: str | None
    impressions: int
    views: int
    completes: int
    skips: int
    likes: int
    shares: int
    comments: int
    reports: int
    mean_watch_ms: float
    view_rate: float  # views per impression, smoothed
    completion_rate: float  # the rates below are per view, smoothed
    like_rate: float
    share_rate: float
    comment_rate: float
    skip_rate: float
    updated_ts: int


class UserFeatures(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    known: bool
    views: int
    completes: int
    skips: int
    likes: int
    shares: int
    comments: int
    mean_watch_ms: float
    creators: dict[str, float]  # id -> affinity score at ``now_us``, best first
    hashtags: dict[str, float]
    sounds: dict[str, float]
    updated_ts: int


def _video_features(video_id: str, v: VideoStats | None, cfg: FeatureConfig) -> VideoFeatures:
    s = v or _EMPTY_VIDEO
    p = cfg.priors
    n = s.views
    return VideoFeatures(
        video_id=video_id,
        known=v is not None,
        creator_id=s.creator_id,
        hashtags=s.hashtags,
        sound_id=s.sound_id,
        impressions=s.impressions,
        views=n,
        completes=s.completes,
        skips=s.skips,
        likes=s.likes,
        shares=s.shares,
        comments=s.comments,
        reports=s.reports,
        mean_watch_ms=s.watch_ms / n if n else 0.0,
        view_rate=smoothed(min(n, s.impressions), s.impressions, p["view"]),
        completion_rate=smoothed(s.completes, n, p["complete"]),
        like_rate=smoothed(min(s.likes, n), n, p["like"]),
        share_rate=smoothed(min(s.shares, n), n, p["share"]),
        comment_rate=smoothed(min(s.comments, n), n, p["comment"]),
        skip_rate=smoothed(s.skips, n, p["skip"]),
        updated_ts=s.updated_ts,
    )


def video_features(
    reader: QueryReader, video_id: str, *, config: FeatureConfig = DEFAULT_CONFIG
) -> VideoFeatures:
    """A video's features with smoothed rates (priors only for a video nothing is known about)."""
    return _video_features(video_id, reader.get(_vkey(video_id)), config)


def video_features_many(
    reader: QueryReader, video_ids: Sequence[str], *, config: FeatureConfig = DEFAULT_CONFIG
) -> list[VideoFeatures]:
    """Features of many videos in one read (the ranker's batch), in the order of ``video_ids``."""
    keys = [_vkey(v) for v in video_ids]
    get_many = getattr(reader, "get_many", None)
    found: dict[str, Any] = get_many(keys) if get_many is not None else {k: reader.get(k) for k in keys}
    return [_video_features(vid, found.get(k), config) for vid, k in zip(video_ids, keys, strict=True)]


def _scores(ranks: dict[str, float], now_us: int, hl: int, k: int) -> dict[str, float]:
    best = sorted(ranks.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    return {key: decayed_value(rank, now_us, hl) for key, rank in best}


def user_features(
    reader: QueryReader,
    user_id: str,
    *,
    now_us: int | None = None,
    k: int | None = None,
    config: FeatureConfig = DEFAULT_CONFIG,
) -> UserFeatures:
    """A user's long-term aggregates and top-``k`` affinities (default ``top_n``), scores decayed to
    ``now_us`` (default: the user's freshness time)."""
    u: UserStats | None = reader.get(_ukey(user_id))
    s = u or _EMPTY_USER
    now = s.updated_ts if now_us is None else now_us
    k = config.top_n if k is None else k
    hl = config.half_life_us
    return UserFeatures(
        user_id=user_id,
        known=u is not None,
        views=s.views,
        completes=s.completes,
        skips=s.skips,
        likes=s.likes,
        shares=s.shares,
        comments=s.comments,
        mean_watch_ms=s.watch_ms / s.views if s.views else 0.0,
        creators=_scores(s.creators, now, hl, k),
        hashtags=_scores(s.hashtags, now, hl, k),
        sounds=_scores(s.sounds, now, hl, k),
        updated_ts=s.updated_ts,
    )


class CrossFeatures(msgspec.Struct, frozen=True, kw_only=True):
    """How much a user likes what a video is made of (0.0 where the user has no affinity)."""

    creator: float
    hashtag_max: float
    hashtag_sum: float
    sound: float


def cross_features(user: UserFeatures, video: VideoFeatures) -> CrossFeatures:
    """The ranker's user x video features: the user's affinity to the video's creator, hashtags, sound."""
    tags = [user.hashtags.get(h, 0.0) for h in video.hashtags]
    return CrossFeatures(
        creator=user.creators.get(video.creator_id, 0.0) if video.creator_id is not None else 0.0,
        hashtag_max=max(tags, default=0.0),
        hashtag_sum=sum(tags),
        sound=user.sounds.get(video.sound_id, 0.0) if video.sound_id is not None else 0.0,
    )
