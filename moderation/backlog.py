"""The moderation backlog for operators: videos waiting for an automated decision, and the review queue.

Videos wait in ``transcoded`` (not scored yet) or ``moderating`` (scored, no decision) while the
moderation service is down or slow (fail closed); the review queue holds videos for humans. Pure over
the ``catalog`` and ``moderation`` views; ``reel moderation backlog`` prints it.
"""

from __future__ import annotations

import msgspec

from projections import catalog
from projections import moderation as mod
from projections.base import QueryReader

from .review import REVIEW_SLA_S

__all__ = ["Backlog", "Waiting", "backlog"]


class Waiting(msgspec.Struct, frozen=True, kw_only=True):
    video_id: str
    status: str
    since_us: int
    waiting_s: float


class Backlog(msgspec.Struct, frozen=True, kw_only=True):
    waiting: list[Waiting]  # oldest first
    waiting_count: int
    review_queue: int
    oldest_review_age_s: float
    review_sla_s: float
    sla_breached: bool


def backlog(
    catalog_view: QueryReader,
    moderation_view: QueryReader,
    now_us: int,
    limit: int = 100,
    sla_s: float = REVIEW_SLA_S,
) -> Backlog:
    waiting = [
        Waiting(video_id=x.video_id, status=status, since_us=x.ts, waiting_s=max(0, now_us - x.ts) / 1e6)
        for status in ("transcoded", "moderating")
        for x in catalog.videos_by_status(catalog_view, status, limit)
    ]
    waiting.sort(key=lambda w: w.since_us)
    q = mod.queue_stats(moderation_view, now_us)
    age = q.oldest_age_us / 1e6
    return Backlog(
        waiting=waiting[:limit],
        waiting_count=len(waiting),
        review_queue=q.size,
        oldest_review_age_s=age,
        review_sla_s=sla_s,
        sla_breached=age > sla_s,
    )
