"""Trending: time-decayed engagement velocity per video, with bounded top-K lists per scope.

Velocity is an exponentially decayed sum of engagement (views weighted by completion and loops,
likes, comments, shares; weights and half-life in ``TrendingConfig``). It is held as a log2-domain
*rank* (``common.decayed_add``): one float encoding score and last-update time, decayed lazily, whose
order equals the order of the scores re-decayed to any common time — so top lists stay sorted as
time passes and ``top`` only decays the scores it returns.

Scopes: ``global``, ``region:XX`` (the *viewer's* region, a separate rank per video and region),
``hashtag:x`` and ``sound:y`` (the video's global rank). Only published, not removed videos are in the
top lists; engagement that arrives before ``VideoPublished`` (partitions interleave) still counts.

Each top list holds exactly the live videos of its scope whose rank is above its ``floor``: a video
is offered whenever its rank grows or it enters the scope, and is added if it beats the floor; once
the list holds more than ``capacity + slack`` entries it is sorted and cut to ``capacity``, and the
floor rises to the best rank cut. Ranks only grow, so nothing outside ever beats the floor without
being offered again — every list is the exact top-n of its scope (n >= capacity unless removals
shrank it), without re-decaying or scanning anything.

"Your video is trending": a video whose global velocity first reaches ``threshold`` while published
gets ``since`` (the event time) here; the notifications view detects the same crossing with the same
pure functions (``engagement_weight``, ``crossed``) over its own state, so each view rebuilds alone.

Keys: ``v:{video}`` -> ``TrendVideo`` (reference data + ranks), ``u:{user}`` -> ``TrendUser``,
``t:{scope}`` -> ``TopList``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import msgspec

from events import (
    Commented,
    Event,
    Liked,
    Shared,
    UserRegistered,
    VideoDetailsSubmitted,
    VideoPublished,
    VideoRemoved,
    VideoUploaded,
    ViewEnded,
)

from .base import Delta, QueryReader, ViewReader
from .common import completion, decayed_add, decayed_value, esc, normalize_hashtag

__all__ = [
    "DEFAULT_CONFIG",
    "PROJECTION",
    "TopList",
    "TrendUser",
    "TrendVideo",
    "TrendingConfig",
    "TrendingItem",
    "TrendingProjection",
    "crossed",
    "engagement_weight",
    "top",
    "trending_since",
    "video_score",
]

_HOUR_US = 3_600_000_000


@dataclass(frozen=True, slots=True)
class TrendingConfig:
    """Weights of each engagement, the decay half-life, the trending threshold and list sizes."""

    half_life_us: int = 6 * _HOUR_US
    w_view: float = 1.0  # times the view's completion (loops included), capped at max_completion
    max_completion: float = 3.0
    w_like: float = 3.0
    w_comment: float = 4.0
    w_share: float = 6.0
    threshold: float = 50.0  # decayed velocity at which a video is "trending"
    capacity: int = 200  # entries a top list is trimmed to ...
    slack: int = 56  # ... once it holds more than capacity + slack (trimming is a sort)
    max_hashtags: int = 10  # scopes per video are bounded


DEFAULT_CONFIG = TrendingConfig()


class TrendVideo(msgspec.Struct, frozen=True, kw_only=True, tag="tv"):
    creator_id: str | None = None
    hashtags: tuple[str, ...] = ()
    sound_id: str | None = None
    published: bool = False
    removed: bool = False
    rank: float | None = None  # global velocity (log2 domain)
    regions: dict[str, float] = {}  # viewer region -> velocity rank
    since: int | None = None  # when it first crossed the trending threshold while published


class TrendUser(msgspec.Struct, frozen=True, kw_only=True, tag="tu"):
    region: str


class TopList(msgspec.Struct, frozen=True, kw_only=True, tag="tt"):
    entries: dict[str, float] = {}  # video -> rank, the exact top-n of the scope
    floor: float | None = None  # >= the rank of every live video of the scope that is not in entries


TrendValue = TrendVideo | TrendUser | TopList


class TrendingItem(msgspec.Struct, frozen=True, kw_only=True):
    video_id: str
    score: float  # decayed velocity at the query's now_us


# ------------------------------------------------------------------------------- shared pure math


def engagement_weight(event: Event, config: TrendingConfig = DEFAULT_CONFIG) -> float:
    """How much one event adds to a video's velocity (0.0 for events that are not engagement)."""
    match event:
        case ViewEnded(watch_ms=w, duration_ms=d, loops=loops):
            return config.w_view * min(completion(w, d, loops), config.max_completion)
        case Liked():
            return config.w_like
        case Shared():
            return config.w_share
        case Commented():
            return config.w_comment
        case _:
            return 0.0


def crossed(rank: float | None, ts_us: int, config: TrendingConfig = DEFAULT_CONFIG) -> bool:
    """Whether a velocity held as ``rank`` is at or over the trending threshold at ``ts_us``."""
    return rank is not None and decayed_value(rank, ts_us, config.half_life_us) >= config.threshold


def _scopes(v: TrendVideo) -> list[str]:
    """The non-regional scopes a live video is listed in."""
    if not v.published or v.removed or v.rank is None:
        return []
    out = ["global"]
    out.extend(f"hashtag:{h}" for h in v.hashtags)
    if v.sound_id is not None:
        out.append(f"sound:{v.sound_id}")
    return out


@lru_cache(maxsize=65_536)
def _scope_keys(hashtags: tuple[str, ...], sound_id: str | None) -> tuple[str, ...]:
    """Keys of the non-regional top lists of a live video with these hashtags and sound."""
    keys = ["t:global", *(f"t:hashtag:{h}" for h in hashtags)]
    if sound_id is not None:
        keys.append(f"t:sound:{sound_id}")
    return tuple(keys)


def _offer(top: TopList | None, vid: str, rank: float, cfg: TrendingConfig) -> TopList | None:
    """The list after ``vid``'s rank grew to ``rank`` (None: unchanged)."""
    if top is None:
        return TopList(entries={vid: rank})
    entries = top.entries
    floor = top.floor
    if vid not in entries and floor is not None and rank <= floor:
        return None
    new = dict(entries)
    new[vid] = rank
    if len(new) > cfg.capacity + cfg.slack:
        ranked = sorted(new.items(), key=lambda kv: (-kv[1], kv[0]))
        cut = ranked[cfg.capacity][1]  # the best of those that leave bounds everything outside
        new = dict(ranked[: cfg.capacity])
        floor = cut if floor is None else max(floor, cut)
    return TopList(entries=new, floor=floor)


def _drop(top: TopList | None, vid: str) -> TopList | None:
    """The list without ``vid`` (None: unchanged); the floor stays, so the list stays exact."""
    if top is None or vid not in top.entries:
        return None
    new = dict(top.entries)
    del new[vid]
    return TopList(entries=new, floor=top.floor)


# ------------------------------------------------------------------------------------- the fold


def _vkey(video_id: str) -> str:
    return "v:" + esc(video_id)


def _ukey(user_id: str) -> str:
    return "u:" + esc(user_id)


def _tkey(scope: str) -> str:
    return "t:" + scope


class TrendingProjection:
    """Fold of the trending view (see the module docstring)."""

    name = "trending"
    version = 1
    value_type: Any = TrendValue

    def __init__(self, config: TrendingConfig = DEFAULT_CONFIG) -> None:
        self.config = config

    def keys(self, event: Event) -> Sequence[str]:
        match event:
            case ViewEnded() | Liked() | Shared() | Commented():
                return (_vkey(event.video_id), _ukey(event.user_id), "t:global")
            case VideoDetailsSubmitted() | VideoUploaded() | VideoPublished() | VideoRemoved():
                return (_vkey(event.video_id),)
            case UserRegistered():
                return (_ukey(event.user_id),)
            case _:
                return ()

    def fold(self, view: ViewReader, event: Event) -> Delta:
        match event:
            case ViewEnded() | Liked() | Shared() | Commented():
                return self._engage(view, event)
            case UserRegistered(user_id=uid, region=region):
                return {_ukey(uid): TrendUser(region=region)}
            case VideoUploaded(video_id=vid, creator_id=cid):
                old = view.get(_vkey(vid)) or TrendVideo()
                if old.creator_id == cid:
                    return {}
                return self._resync(view, vid, old, msgspec.structs.replace(old, creator_id=cid))
            case VideoDetailsSubmitted(video_id=vid):
                old = view.get(_vkey(vid)) or TrendVideo()
                tags = tuple(dict.fromkeys(t for t in map(normalize_hashtag, event.hashtags) if t))
                new = msgspec.structs.replace(
                    old,
                    creator_id=event.creator_id,
                    hashtags=tags[: self.config.max_hashtags],
                    sound_id=event.sound_id,
                )
                return self._resync(view, vid, old, new)
            case VideoPublished(video_id=vid, creator_id=cid):
                old = view.get(_vkey(vid)) or TrendVideo()
                new = msgspec.structs.replace(old, creator_id=cid, published=True)
                if new.since is None and not new.removed and crossed(new.rank, event.ts, self.config):
                    new = msgspec.structs.replace(new, since=event.ts)
                return self._resync(view, vid, old, new)
            case VideoRemoved(video_id=vid):
                old = view.get(_vkey(vid)) or TrendVideo()
                return self._resync(view, vid, old, msgspec.structs.replace(old, removed=True))
            case _:
                return {}

    def _engage(self, view: ViewReader, event: ViewEnded | Liked | Shared | Commented) -> Delta:
        cfg = self.config
        weight = engagement_weight(event, cfg)
        if weight <= 0.0:
            return {}
        vkey = _vkey(event.video_id)
        old: TrendVideo = view.get(vkey) or TrendVideo()
        ts = event.ts
        hl = cfg.half_life_us
        rank = decayed_add(old.rank, ts, weight, hl)
        user = view.get(_ukey(event.user_id))
        regions = old.regions
        region_rank: float | None = None
        if user is not None:
            regions = dict(regions)
            region_rank = regions[user.region] = decayed_add(regions.get(user.region), ts, weight, hl)
        since = old.since
        live = old.published and not old.removed
        if since is None and live and crossed(rank, ts, cfg):
            since = ts
        new = msgspec.structs.replace(old, rank=rank, regions=regions, since=since)
        delta: dict[str, Any] = {vkey: new}
        if live:
            vid = event.video_id
            for tkey in _scope_keys(new.hashtags, new.sound_id):
                changed = _offer(view.get(tkey), vid, rank, cfg)
                if changed is not None:
                    delta[tkey] = changed
            if region_rank is not None and user is not None:
                tkey = _tkey("region:" + user.region)
                changed = _offer(view.get(tkey), vid, region_rank, cfg)
                if changed is not None:
                    delta[tkey] = changed
        return delta

    def _resync(self, view: ViewReader, vid: str, old: TrendVideo, new: TrendVideo) -> Delta:
        """Move a video between top lists after its reference data or status changed."""
        delta: dict[str, Any] = {_vkey(vid): new}
        old_live = old.published and not old.removed
        new_live = new.published and not new.removed
        old_scopes = {s: old.rank for s in _scopes(old)}
        if old_live:
            old_scopes.update((f"region:{r}", rk) for r, rk in old.regions.items())
        new_scopes = {s: new.rank for s in _scopes(new)}
        if new_live:
            new_scopes.update((f"region:{r}", rk) for r, rk in new.regions.items())
        for scope in old_scopes.keys() - new_scopes.keys():
            changed = _drop(view.get(_tkey(scope)), vid)
            if changed is not None:
                delta[_tkey(scope)] = changed
        for scope, rank in new_scopes.items():
            if rank is None or old_scopes.get(scope) == rank:
                continue
            changed = _offer(view.get(_tkey(scope)), vid, rank, self.config)
            if changed is not None:
                delta[_tkey(scope)] = changed
        return delta


PROJECTION = TrendingProjection()


# ------------------------------------------------------------------------------------- queries


def top(
    reader: QueryReader,
    scope: str = "global",
    k: int = 50,
    *,
    now_us: int,
    config: TrendingConfig = DEFAULT_CONFIG,
) -> list[TrendingItem]:
    """The ``k`` fastest-rising live videos of ``scope`` (``global``, ``region:GB``, ``hashtag:cats``,
    ``sound:s1``), best first, with their velocity decayed to ``now_us``."""
    if scope.startswith("hashtag:"):
        scope = "hashtag:" + normalize_hashtag(scope[8:])
    lst: TopList | None = reader.get(_tkey(scope))
    if lst is None:
        return []
    best = sorted(lst.entries.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    hl = config.half_life_us
    return [TrendingItem(video_id=vid, score=decayed_value(rank, now_us, hl)) for vid, rank in best]


def video_score(
    reader: QueryReader,
    video_id: str,
    *,
    now_us: int,
    region: str | None = None,
    config: TrendingConfig = DEFAULT_CONFIG,
) -> float:
    """A video's velocity at ``now_us``: global, or among viewers of ``region``."""
    v: TrendVideo | None = reader.get(_vkey(video_id))
    if v is None:
        return 0.0
    rank = v.rank if region is None else v.regions.get(region)
    return decayed_value(rank, now_us, config.half_life_us)


def trending_since(reader: QueryReader, video_id: str) -> int | None:
    """When the video first crossed the trending threshold (epoch µs), or None."""
    v: TrendVideo | None = reader.get(_vkey(video_id))
    return None if v is None else v.since
