"""Human review and appeals: the queue for moderators, their decisions, creators' appeals (service functions).

Writes are events appended through an ``Appender``; reads come from the ``catalog`` and ``moderation``
views (``refresh`` brings them up to date first when given). HTTP routes and the moderator role check
come with the Serve ingress.

- ``queue`` lists waiting videos oldest first with their scores, the keyframes the models saw (kept
  under ``videos/{id}/moderation/``) and thumbnails; ``stats`` gives the queue size and the age of the
  oldest item (the SLA metric, 2 h by default).
- ``decide``: approve/reject with a reason -> ``ReviewDecided``. The pipeline publishes an approved
  video once its outputs check out; a video removed by report thresholds is restored here with
  ``VideoPublished``. On an appealed video the decision is an ``AppealDecided`` (reject = upheld) and
  the moderator who made the appealed decision may not make it (``ReviewerConflictError``).
- ``appeal``: the creator of a rejected video, once (``AppealAlreadyFiledError`` after that) ->
  ``AppealFiled``, which queues the video again for a second reviewer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

import msgspec

from blobs import BlobStore
from blobs.playback import blob_url
from events.ids import new_event_id, now_us
from events.schema import AppealDecided, AppealFiled, Event, ReviewDecided, VideoPublished
from pipeline.uploads import Appender
from projections import catalog
from projections import moderation as mod
from projections.base import QueryReader

from .errors import AppealAlreadyFiledError, AppealNotAllowedError, NotInReviewError, ReviewerConflictError

__all__ = ["REVIEW_SLA_S", "QueueHealth", "ReviewCard", "ReviewService"]

#: Every queued video should get a human decision within this many seconds.
REVIEW_SLA_S = 2 * 3600


class ReviewCard(msgspec.Struct, frozen=True, kw_only=True):
    video_id: str
    reason: str  # review | reports | appeal
    queued_at: int
    age_s: float
    creator_id: str | None
    caption: str
    status: str
    scores: dict[str, float | None]
    max_score: float | None
    category: str | None
    reports: int
    appeal: str
    keyframe_urls: tuple[str, ...]
    thumbnail_urls: tuple[str, ...]


class QueueHealth(msgspec.Struct, frozen=True, kw_only=True):
    size: int
    oldest_age_s: float
    sla_s: float
    sla_breached: bool


class ReviewService:
    def __init__(
        self,
        appender: Appender,
        catalog_view: QueryReader,
        moderation_view: QueryReader,
        *,
        blobs: BlobStore | None = None,
        cdn_base_url: str = "/media",
        refresh: Callable[[], Awaitable[object]] | None = None,
        sla_s: float = REVIEW_SLA_S,
    ) -> None:
        self.appender = appender
        self.catalog = catalog_view
        self.moderation = moderation_view
        self.blobs = blobs
        self.cdn = cdn_base_url
        self._refresh = refresh
        self.sla_s = sla_s

    async def refresh(self) -> None:
        if self._refresh is not None:
            await self._refresh()

    # -- moderators -------------------------------------------------------------------------------

    async def queue(self, limit: int = 50, now: int | None = None) -> list[ReviewCard]:
        """Waiting videos, oldest first, with what a reviewer needs to decide."""
        await self.refresh()
        now = now_us() if now is None else now
        cards = []
        for item in mod.review_queue(self.moderation, limit):
            video = catalog.get_video(self.catalog, item.video_id)
            keyframes: list[str] = []
            if self.blobs is not None:
                keyframes = sorted(self.blobs.list(f"videos/{item.video_id}/moderation/"))
            cards.append(
                ReviewCard(
                    video_id=item.video_id,
                    reason=item.reason,
                    queued_at=item.queued_at,
                    age_s=max(0, now - item.queued_at) / 1e6,
                    creator_id=video.creator_id if video else None,
                    caption=video.caption if video else "",
                    status=video.status if video else "unknown",
                    scores=item.scores,
                    max_score=item.max_score,
                    category=item.category,
                    reports=item.reports,
                    appeal=item.appeal,
                    keyframe_urls=tuple(blob_url(self.cdn, k) for k in keyframes),
                    thumbnail_urls=tuple(
                        blob_url(self.cdn, k) for k in (video.thumbnail_keys if video else ())
                    ),
                )
            )
        return cards

    async def stats(self, now: int | None = None) -> QueueHealth:
        await self.refresh()
        s = mod.queue_stats(self.moderation, now_us() if now is None else now)
        age = s.oldest_age_us / 1e6
        return QueueHealth(size=s.size, oldest_age_s=age, sla_s=self.sla_s, sla_breached=age > self.sla_s)

    async def decide(
        self,
        video_id: str,
        moderator_id: str,
        decision: Literal["approve", "reject"],
        reason: str,
        *,
        age_rating: Literal["general", "mature"] | None = None,
    ) -> list[Event]:
        """A moderator's decision on a queued video; returns the events appended."""
        await self.refresh()
        m = mod.get_moderation(self.moderation, video_id)
        if m is None or m.queued_at is None:
            raise NotInReviewError(video_id=video_id)
        ts = now_us()
        events: list[Event] = []
        if m.queue_reason == "appeal":
            if m.reviewed_by is not None and m.reviewed_by == moderator_id:
                raise ReviewerConflictError(video_id=video_id, moderator_id=moderator_id)
            events.append(
                AppealDecided(
                    event_id=new_event_id(),
                    ts=ts,
                    video_id=video_id,
                    moderator_id=moderator_id,
                    upheld=decision == "reject",
                    reason=reason,
                )
            )
        else:
            events.append(
                ReviewDecided(
                    event_id=new_event_id(),
                    ts=ts,
                    video_id=video_id,
                    moderator_id=moderator_id,
                    decision=decision,
                    reason=reason,
                    age_rating=age_rating,
                )
            )
            video = catalog.get_video(self.catalog, video_id)
            if (
                decision == "approve"
                and video is not None
                and video.creator_id
                and video.status == "removed"
                and video.removed_by == "reports"
            ):
                events.append(
                    VideoPublished(
                        event_id=new_event_id(), ts=ts, video_id=video_id, creator_id=video.creator_id
                    )
                )
        await self.appender.append(events)
        return events

    # -- creators ---------------------------------------------------------------------------------

    async def appeal(self, video_id: str, creator_id: str, reason: str = "") -> AppealFiled:
        """The creator appeals a rejection (once); the video goes back to the queue for another reviewer."""
        await self.refresh()
        video = catalog.get_video(self.catalog, video_id)
        if video is None or video.creator_id != creator_id:
            raise AppealNotAllowedError(video_id=video_id, reason="only its creator can appeal it")
        status = mod.appeal_status(self.moderation, video_id)
        if status != "none" or video.appeal != "none":
            raise AppealAlreadyFiledError(
                video_id=video_id, status=status if status != "none" else video.appeal
            )
        if video.status != "rejected" and not (video.status == "removed" and video.removed_by == "moderator"):
            raise AppealNotAllowedError(
                video_id=video_id, reason=f"it is {video.status}; only rejected videos can be appealed"
            )
        event = AppealFiled(
            event_id=new_event_id(), ts=now_us(), video_id=video_id, creator_id=creator_id, reason=reason
        )
        await self.appender.append([event])
        return event
