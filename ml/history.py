"""Interactions as compact records and per-(user, video) outcomes: what every model here learns from.

``Interaction`` is one engagement event reduced to what training needs; ``outcomes`` folds records
(in time order) into one ``Outcome`` per (user, video) pair. Positives are completed, liked or shared
views that were not marked "not interested"; hard negatives are skips and "not interested".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from events import Commented, Event, Followed, Liked, NotInterested, Shared, Unliked, ViewEnded
from projections.common import is_complete, is_skip

__all__ = ["ENGAGEMENT_WEIGHTS", "Interaction", "Outcome", "interactions", "outcomes"]

VIEW, LIKE, HATE, SHARE, COMMENT, FOLLOW, UNLIKE = range(7)
ENGAGEMENT_WEIGHTS = {"complete": 1.0, "like": 2.0, "share": 3.0, "comment": 1.0, "follow": 2.0}


@dataclass(frozen=True, slots=True)
class Interaction:
    ts: int
    user_id: str
    video_id: str  # the creator id for a follow
    kind: int
    watch_ms: int = 0
    duration_ms: int = 0


def interactions(events: Iterable[Event]) -> list[Interaction]:
    """The interaction events among ``events`` as records, sorted by time."""
    out = []
    for e in events:
        match e:
            case ViewEnded():
                out.append(Interaction(e.ts, e.user_id, e.video_id, VIEW, e.watch_ms, e.duration_ms))
            case Liked():
                out.append(Interaction(e.ts, e.user_id, e.video_id, LIKE))
            case Unliked():
                out.append(Interaction(e.ts, e.user_id, e.video_id, UNLIKE))
            case NotInterested():
                out.append(Interaction(e.ts, e.user_id, e.video_id, HATE))
            case Shared():
                out.append(Interaction(e.ts, e.user_id, e.video_id, SHARE))
            case Commented():
                out.append(Interaction(e.ts, e.user_id, e.video_id, COMMENT))
            case Followed():
                out.append(Interaction(e.ts, e.user_id, e.creator_id, FOLLOW))
            case _:
                pass
    out.sort(key=lambda r: r.ts)
    return out


@dataclass(slots=True)
class Outcome:
    """Everything one user did with one video (within the records folded)."""

    first_ts: int = 0
    last_ts: int = 0
    viewed: bool = False
    complete: bool = False
    skip: bool = False
    liked: bool = False
    hated: bool = False
    shared: bool = False
    commented: bool = False
    watch_ms: int = 0

    @property
    def positive(self) -> bool:
        return (self.liked or self.shared or self.complete) and not self.hated

    @property
    def negative(self) -> bool:
        return self.hated or (self.skip and not (self.liked or self.shared))

    @property
    def weight(self) -> float:
        w = ENGAGEMENT_WEIGHTS
        return (
            w["complete"] * self.complete
            + w["like"] * self.liked
            + w["share"] * self.shared
            + w["comment"] * self.commented
        ) or 1.0


def outcomes(records: Iterable[Interaction]) -> dict[tuple[str, str], Outcome]:
    """(user, video) -> ``Outcome`` over ``records`` (follows are per creator and skipped here)."""
    out: dict[tuple[str, str], Outcome] = {}
    for r in records:
        if r.kind == FOLLOW:
            continue
        o = out.get((r.user_id, r.video_id))
        if o is None:
            o = out[(r.user_id, r.video_id)] = Outcome(first_ts=r.ts)
        o.last_ts = max(o.last_ts, r.ts)
        if r.kind == VIEW:
            o.viewed = True
            o.watch_ms += r.watch_ms
            o.complete |= is_complete(r.watch_ms, r.duration_ms)
            o.skip |= is_skip(r.watch_ms, r.duration_ms)
        elif r.kind == LIKE:
            o.liked = True
        elif r.kind == UNLIKE:
            o.liked = False
        elif r.kind == HATE:
            o.hated = True
        elif r.kind == SHARE:
            o.shared = True
        elif r.kind == COMMENT:
            o.commented = True
    return out
