"""One user's live state and the pure update ``apply(state, event, video, params)`` the shard actor calls.

No Ray, no IO, no clock: time comes from ``event.ts`` only, and every float operation runs in the
same order on the same code path, so folding a log twice (live, after a restart, or in a test)
gives the same state to float tolerance — which is what makes shard recovery exact.

The state holds, in the video-embedding space:

- ``short``: the session vector. Each event first decays it toward zero with the event time since
  the user's previous event (half-life ``short_half_life_s``), then moves it by ``short_lr * w * e``;
- ``long``: the long-term vector, moved by ``long_lr * w * e`` with no decay;

where ``e`` is the video's (unit) embedding and ``w`` the engagement weight of the event: the
completion ratio of a watch (loops count more than once), positive constants for like, share,
comment and follow, negative ones for a skip, an unlike, "not interested" and a report. Both
vectors are clipped to norm ``max_norm``. Besides vectors: a bounded seen set (``SeenSet``),
explicit negatives, follows, counters for cold start and the registration facts.

``apply`` updates ``state`` in place and returns it (the caller owns it; copying 2 x dim floats per
event would halve the shard's throughput for no gain). Events that need a video embedding the
caller does not have yet are held back by ``actors.fold``, not here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import msgspec
import numpy as np
import numpy.typing as npt

from events.schema import (
    Commented,
    Event,
    Followed,
    Impression,
    Liked,
    NotInterested,
    Reported,
    Shared,
    Unfollowed,
    Unliked,
    UserProfileUpdated,
    UserRegistered,
    ViewEnded,
)
from projections.common import age_band, completion, is_complete, is_skip

from .seen import SeenSet

__all__ = [
    "USER_EVENTS",
    "Counts",
    "StateParams",
    "UserState",
    "Vector",
    "VideoInfo",
    "apply",
    "engagement_weight",
    "new_state",
    "personalisation",
    "video_needed",
]

Vector = npt.NDArray[np.float32]

#: Events keyed by user id: the only ones a user's state folds (a shard skips the rest).
USER_EVENTS = (UserRegistered, UserProfileUpdated, Impression, ViewEnded, Liked, Unliked, Shared,
               Commented, Followed, Unfollowed, NotInterested, Reported)


class StateParams(msgspec.Struct, frozen=True, kw_only=True):
    """Every constant of the update; the shard's config carries one (and it is part of its checkpoint)."""

    dim: int = 64
    short_lr: float = 0.35
    long_lr: float = 0.05
    short_half_life_s: float = 600.0
    max_norm: float = 1.0
    max_completion: float = 3.0  # a watch weighs its completion ratio, loops included, capped here
    like_w: float = 1.0
    share_w: float = 1.5
    comment_w: float = 1.2
    follow_w: float = 1.0
    unlike_w: float = -0.5
    skip_w: float = -0.5
    not_interested_w: float = -1.5
    report_w: float = -2.0
    seen_ring: int = 256
    bloom_bits: int = 32_768
    bloom_hashes: int = 4
    warm_after: int = 30  # engaged interactions after which the user counts as fully personalised
    max_held: int = 64  # held-back events per user before the oldest is applied without embedding
    hold_window_s: float = 600.0  # ... or once the newest held event is this much younger (event time)


class VideoInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What the user state needs to know about a video: its unit embedding, creator and sound."""

    video_id: str
    embedding: Vector
    creator_id: str = ""
    sound_id: str | None = None


class Counts(msgspec.Struct, kw_only=True):
    """Interaction counters (cold start, personalisation level, analytics of the session)."""

    impressions: int = 0
    views: int = 0
    completes: int = 0
    skips: int = 0
    likes: int = 0
    shares: int = 0
    comments: int = 0
    follows: int = 0
    not_interested: int = 0
    reports: int = 0
    positives: int = 0  # completes + likes + shares + comments + follows
    unembedded: int = 0  # events applied without a video embedding (held too long)


@dataclass(slots=True, eq=False)
class UserState:
    """The live state of one user (owned and mutated by exactly one shard)."""

    user_id: str
    short: Vector
    long: Vector
    seen: SeenSet
    version: int = 0  # number of events applied: the feed returns it as ``user_state_version``
    last_ts: int = 0  # newest event time seen (µs)
    registered: bool = False
    region: str = "ZZ"
    language: str = "en"
    birth_year: int | None = None
    counts: Counts = field(default_factory=Counts)
    neg_creators: set[str] = field(default_factory=set)
    neg_sounds: set[str] = field(default_factory=set)
    following: set[str] = field(default_factory=set)
    last_video_id: str | None = None
    last_creator_id: str | None = None
    held: list[Event] = field(default_factory=list)  # events waiting for a video embedding, in order

    @property
    def age_band(self) -> str:
        return age_band(self.birth_year, self.last_ts)


def new_state(user_id: str, params: StateParams) -> UserState:
    """The default cold-start state (also what an event for an unknown user starts from)."""
    return UserState(
        user_id=user_id,
        short=np.zeros(params.dim, dtype=np.float32),
        long=np.zeros(params.dim, dtype=np.float32),
        seen=SeenSet(params.seen_ring, params.bloom_bits, params.bloom_hashes),
    )


def personalisation(state: UserState, params: StateParams) -> float:
    """0.0 for a cold-start user, rising to 1.0 after ``warm_after`` engaged interactions."""
    c = state.counts
    engaged = (c.views - c.skips) + (c.likes + c.shares + c.comments + c.follows) + c.not_interested
    return min(1.0, max(0, engaged) / params.warm_after)


#: Interactions whose signal is about their ``video_id`` (they need its embedding).
_ON_VIDEO = frozenset({ViewEnded, Liked, Unliked, Shared, Commented, NotInterested, Reported})
#: Constant weights by event type, as ``StateParams`` field names.
_WEIGHT_FIELD = {Liked: "like_w", Unliked: "unlike_w", Shared: "share_w", Commented: "comment_w",
                 Followed: "follow_w", NotInterested: "not_interested_w", Reported: "report_w"}


def video_needed(state: UserState, event: Event) -> str | None:
    """The video whose embedding ``apply`` needs for this event (None: it needs none)."""
    kind = type(event)
    if kind in _ON_VIDEO:
        return event.video_id  # type: ignore[union-attr]
    if kind is Followed and state.last_creator_id == event.creator_id:  # type: ignore[union-attr]
        return state.last_video_id  # following right after watching: a boost toward that video
    return None


def engagement_weight(event: Event, params: StateParams) -> float:
    """Signed weight of an event's signal (0.0: it does not move the vectors)."""
    if isinstance(event, ViewEnded):
        w, d, n = event.watch_ms, event.duration_ms, event.loops
        if is_skip(w, d, n):
            return params.skip_w
        return min(completion(w, d, n), params.max_completion)
    field = _WEIGHT_FIELD.get(type(event))
    return 0.0 if field is None else float(getattr(params, field))


def _clip(v: Vector, max_norm: float) -> None:
    sq = float(v.dot(v))
    if sq > max_norm * max_norm:
        v *= max_norm / math.sqrt(sq)


def _move(state: UserState, event: Event, video: VideoInfo | None, params: StateParams) -> None:
    """Decay the session vector to this event's time, then move both vectors by the event's signal.

    Python floats times float32 arrays stay float32 (NEP 50), in place: few numpy calls per event.
    """
    last = state.last_ts
    if last and event.ts > last:
        state.short *= 0.5 ** ((event.ts - last) / (params.short_half_life_s * 1e6))
    if video is None:
        return
    w = engagement_weight(event, params)
    if w == 0.0:
        return
    e = video.embedding
    state.short += (params.short_lr * w) * e
    state.long += (params.long_lr * w) * e
    _clip(state.short, params.max_norm)
    _clip(state.long, params.max_norm)


def _count(state: UserState, event: Event, video: VideoInfo | None) -> None:
    c = state.counts
    seen_video = getattr(event, "video_id", None)  # any interaction with a video means it was seen
    if seen_video is not None:
        state.seen.add(seen_video)
    match event:
        case Impression():
            c.impressions += 1
        case ViewEnded(watch_ms=w, duration_ms=d, loops=n):
            c.views += 1
            if is_skip(w, d, n):
                c.skips += 1
            elif is_complete(w, d, n):
                c.completes += 1
                c.positives += 1
            state.last_video_id = event.video_id
            state.last_creator_id = video.creator_id if video is not None else None
        case Liked():
            c.likes += 1
            c.positives += 1
        case Unliked():
            c.likes = max(0, c.likes - 1)
        case Shared():
            c.shares += 1
            c.positives += 1
        case Commented():
            c.comments += 1
            c.positives += 1
        case Followed():
            c.follows += 1
            c.positives += 1
            state.following.add(event.creator_id)
        case Unfollowed():
            state.following.discard(event.creator_id)
        case NotInterested():
            c.not_interested += 1
            creator = event.creator_id
            sound = event.sound_id
            if creator is None and sound is None and video is not None:
                creator, sound = video.creator_id or None, video.sound_id  # "not interested" in this video
            if creator:
                state.neg_creators.add(creator)
            if sound:
                state.neg_sounds.add(sound)
        case Reported():
            c.reports += 1
        case UserRegistered():
            state.registered = True
            state.region = event.region
            state.language = event.language
            state.birth_year = event.birth_year
        case UserProfileUpdated():
            pass
        case _:
            pass


def apply(state: UserState, event: Event, video: VideoInfo | None, params: StateParams) -> UserState:
    """Apply one event of this user (``video``: the info of ``video_needed(state, event)``, if any)."""
    if video is None and video_needed(state, event) is not None:
        state.counts.unembedded += 1
    _move(state, event, video, params)
    _count(state, event, video)
    if event.ts > state.last_ts:
        state.last_ts = event.ts
    state.version += 1
    return state
