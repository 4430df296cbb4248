"""Moderation: the human review queue (oldest first, with scores), reports per video, flags, appeals.

- ``ModerationDecided(decision="review")`` holds a video for review; ``ReviewDecided`` takes it off.
- Reports count once per (user, video). More than ``demote_after`` (10) → ``demoted`` (ranking
  demotes it); more than ``remove_after`` (50) → ``removed_by_reports`` (feeds drop it) and the video
  is queued for review. A reviewer's approval clears both flags; reports after that count afresh.
- A creator's first ``AppealFiled`` queues the video for a second reviewer; later appeals are
  ignored. ``AppealDecided`` records the outcome (``upheld``: the rejection stands) and dequeues.

The thresholds are constructor arguments: ``ModerationProjection(demote_after=10, remove_after=50)``;
changing them changes the view's meaning, so bump ``version`` (and rebuild) when the defaults change.

Keys (ids escaped with ``common.esc``):

- ``v:{video}``                      -> ``ModVideo``
- ``r:{video}:{user}``               -> ``ReportMark`` (the user's report counted)
- ``q:{queued_at:017d}:{video}``     -> ``QueueEntry`` (the review queue, oldest first)
- ``qs``                             -> ``QueueSize``
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
    Reported,
    ReviewDecided,
    VideoPublished,
    VideoRemoved,
)

from .base import Delta, QueryReader, ViewReader
from .common import esc

__all__ = [
    "DEMOTE_AFTER",
    "PROJECTION",
    "REMOVE_AFTER",
    "ModVideo",
    "ModerationProjection",
    "QueueEntry",
    "QueueSize",
    "QueueStats",
    "ReportMark",
    "ReviewItem",
    "VideoFlags",
    "appeal_status",
    "get_moderation",
    "queue_stats",
    "review_queue",
    "video_flags",
]

#: More reports than this demote a video in ranking.
DEMOTE_AFTER = 10
#: More reports than this remove it from feeds and queue it for review.
REMOVE_AFTER = 50

QueueReason = Literal["review", "reports", "appeal"]
Appeal = Literal["none", "pending", "upheld", "overturned"]


class ModVideo(msgspec.Struct, frozen=True, kw_only=True, tag="mv"):
    video_id: str
    scores: dict[str, float | None] = {}
    max_score: float | None = None
    category: str | None = None
    decision: Literal["approve", "review", "reject"] | None = None
    review: Literal["approve", "reject"] | None = None
    mature: bool = False
    reports: int = 0
    #: Reports a reviewer has already cleared; thresholds apply to ``reports - cleared_reports``.
    cleared_reports: int = 0
    demoted: bool = False
    removed_by_reports: bool = False
    removed: bool = False
    queued_at: int | None = None
    queue_reason: QueueReason | None = None
    appeal: Appeal = "none"
    #: The moderator of the last ``ReviewDecided`` (an appeal must go to someone else).
    reviewed_by: str | None = None


class ReportMark(msgspec.Struct, frozen=True, tag="mr"):
    ts: int


class QueueEntry(msgspec.Struct, frozen=True, kw_only=True, tag="mq"):
    video_id: str
    reason: QueueReason
    queued_at: int


class QueueSize(msgspec.Struct, frozen=True, kw_only=True, tag="ms"):
    size: int = 0


ModerationValue = ModVideo | ReportMark | QueueEntry | QueueSize


#: Event types this view folds; the rest are skipped with one set lookup before any ``match``.
_HANDLED: frozenset[type] = frozenset(
    (
        Reported,
        ModerationScored,
        ModerationDecided,
        ReviewDecided,
        AppealFiled,
        AppealDecided,
        VideoRemoved,
        VideoPublished,
    )
)


class ModerationProjection:
    name = "moderation"
    version = 1
    value_type = ModerationValue

    def __init__(self, demote_after: int = DEMOTE_AFTER, remove_after: int = REMOVE_AFTER) -> None:
        self.demote_after = demote_after
        self.remove_after = remove_after

    def keys(self, event: Event) -> Sequence[str]:
        if type(event) not in _HANDLED:
            return ()
        match event:
            case Reported():
                vid = esc(event.video_id)
                return (f"r:{vid}:{esc(event.user_id)}", f"v:{vid}")
            case (
                ModerationScored()
                | ModerationDecided()
                | ReviewDecided()
                | AppealFiled()
                | AppealDecided()
                | VideoRemoved()
                | VideoPublished()
            ):
                return (f"v:{esc(event.video_id)}", "qs")
            case _:
                return ()

    def fold(self, view: ViewReader, event: Event) -> Delta:
        if type(event) not in _HANDLED:
            return {}
        match event:
            case Reported():
                return self._report(view, event)
            case (
                ModerationScored()
                | ModerationDecided()
                | ReviewDecided()
                | AppealFiled()
                | AppealDecided()
                | VideoRemoved()
                | VideoPublished()
            ):
                vkey = f"v:{esc(event.video_id)}"
                old: ModVideo | None = view.get(vkey)
                cur = old or ModVideo(video_id=event.video_id)
                new, queue = _next(cur, event)
                return _commit(view, vkey, old, new, queue, event.ts)
            case _:
                return {}

    def _report(self, view: ViewReader, event: Reported) -> Delta:
        vid = esc(event.video_id)
        rkey = f"r:{vid}:{esc(event.user_id)}"
        if view.get(rkey) is not None:
            return {}
        vkey = f"v:{vid}"
        old: ModVideo | None = view.get(vkey)
        cur = old or ModVideo(video_id=event.video_id)
        reports = cur.reports + 1
        live = reports - cur.cleared_reports
        new = msgspec.structs.replace(
            cur,
            reports=reports,
            demoted=cur.demoted or live > self.demote_after,
            removed_by_reports=cur.removed_by_reports or live > self.remove_after,
        )
        queue: QueueReason | None = (
            "reports" if new.removed_by_reports and not cur.removed_by_reports else None
        )
        delta = dict(_commit(view, vkey, old, new, queue, event.ts))
        delta[rkey] = ReportMark(event.ts)
        return delta


#: ``_next`` returns (new video, queue action): a reason queues the video, "" dequeues it, None leaves it.
QueueAction = QueueReason | Literal[""] | None


def _cleared(v: ModVideo) -> ModVideo:
    return msgspec.structs.replace(v, cleared_reports=v.reports, demoted=False, removed_by_reports=False)


def _next(v: ModVideo, event: Event) -> tuple[ModVideo, QueueAction]:
    replace = msgspec.structs.replace
    match event:
        case ModerationScored():
            known = [s for s in event.scores.values() if s is not None]
            return replace(v, scores=dict(event.scores), max_score=max(known) if known else v.max_score), None
        case ModerationDecided():
            new = replace(
                v,
                decision=event.decision,
                category=event.category,
                max_score=v.max_score if event.max_score is None else event.max_score,
                mature=event.age_rating == "mature",
            )
            return new, "review" if event.decision == "review" else None
        case ReviewDecided():
            new = replace(
                v,
                review=event.decision,
                reviewed_by=event.moderator_id,
                mature=v.mature if event.age_rating is None else event.age_rating == "mature",
            )
            return (_cleared(new) if event.decision == "approve" else new), ""
        case AppealFiled():
            if v.appeal != "none":
                return v, None  # one appeal per video
            return replace(v, appeal="pending"), "appeal"
        case AppealDecided():
            if v.appeal != "pending":
                return v, None
            if event.upheld:
                return replace(v, appeal="upheld"), ""
            return _cleared(replace(v, appeal="overturned")), ""
        case VideoRemoved():
            return replace(v, removed=True), ("" if event.by == "creator" else None)
        case VideoPublished():
            return replace(v, removed=False), None
        case _:
            return v, None


def _queue_key(queued_at: int, vid: str) -> str:
    return f"q:{queued_at:017d}:{vid}"


def _commit(
    view: ViewReader, vkey: str, old: ModVideo | None, new: ModVideo, queue: QueueAction, ts: int
) -> Delta:
    """The delta for ``old -> new`` plus the queue change: enqueue (kept in place if already
    queued, with the new reason) or dequeue, keeping ``qs`` in step."""
    vid = vkey[2:]
    delta: dict[str, object] = {}
    if queue:  # enqueue
        if new.queued_at is None:
            new = msgspec.structs.replace(new, queued_at=ts, queue_reason=queue)
            _resize(view, delta, +1)
        else:
            new = msgspec.structs.replace(new, queue_reason=queue)
        delta[_queue_key(new.queued_at, vid)] = QueueEntry(  # type: ignore[arg-type]
            video_id=new.video_id,
            reason=queue,
            queued_at=new.queued_at,  # type: ignore[arg-type]
        )
    elif queue == "" and new.queued_at is not None:  # dequeue
        delta[_queue_key(new.queued_at, vid)] = None
        new = msgspec.structs.replace(new, queued_at=None, queue_reason=None)
        _resize(view, delta, -1)
    if new != old:
        delta[vkey] = new
    return delta


def _resize(view: ViewReader, delta: dict[str, object], step: int) -> None:
    size: QueueSize = view.get("qs") or QueueSize()
    delta["qs"] = QueueSize(size=size.size + step)


PROJECTION = ModerationProjection()


# ------------------------------------------------------------------------------------- queries


class ReviewItem(msgspec.Struct, frozen=True, kw_only=True):
    """One video in the review queue, with what the reviewer needs to decide."""

    video_id: str
    reason: QueueReason
    queued_at: int
    scores: dict[str, float | None]
    max_score: float | None
    category: str | None
    reports: int
    appeal: Appeal


class VideoFlags(msgspec.Struct, frozen=True, kw_only=True):
    """For the feed's safety filter: drop ``removed_by_reports``, demote ``demoted``, gate ``mature``."""

    demoted: bool = False
    removed_by_reports: bool = False
    mature: bool = False
    reports: int = 0


class QueueStats(msgspec.Struct, frozen=True, kw_only=True):
    size: int
    #: Age of the oldest queued item at ``now_us`` (0 when the queue is empty); the SLA metric.
    oldest_age_us: int


def get_moderation(reader: QueryReader, video_id: str) -> ModVideo | None:
    value: ModVideo | None = reader.get(f"v:{esc(video_id)}")
    return value


def review_queue(reader: QueryReader, limit: int = 50) -> list[ReviewItem]:
    """Videos waiting for a human, oldest first."""
    items: list[ReviewItem] = []
    for _, entry in reader.scan("q:", limit):
        v = get_moderation(reader, entry.video_id) or ModVideo(video_id=entry.video_id)
        items.append(
            ReviewItem(
                video_id=entry.video_id,
                reason=entry.reason,
                queued_at=entry.queued_at,
                scores=v.scores,
                max_score=v.max_score,
                category=v.category,
                reports=v.reports,
                appeal=v.appeal,
            )
        )
    return items


def queue_stats(reader: QueryReader, now_us: int) -> QueueStats:
    size: QueueSize = reader.get("qs") or QueueSize()
    oldest = reader.scan("q:", 1)
    age = max(0, now_us - oldest[0][1].queued_at) if oldest else 0
    return QueueStats(size=size.size, oldest_age_us=age)


def video_flags(reader: QueryReader, video_id: str) -> VideoFlags:
    """Flags of a video (all clear when the view knows nothing about it)."""
    v = get_moderation(reader, video_id)
    if v is None:
        return VideoFlags()
    return VideoFlags(
        demoted=v.demoted, removed_by_reports=v.removed_by_reports, mature=v.mature, reports=v.reports
    )


def appeal_status(reader: QueryReader, video_id: str) -> Appeal:
    v = get_moderation(reader, video_id)
    return "none" if v is None else v.appeal
