"""Moderation routes: the review queue and decisions (moderators), appeals (the creator)."""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import APIRouter, Query

from .deps import Caller, Ctx, Moderator, registered
from .models import AppealRequest, DecisionRequest

__all__ = ["router"]

router = APIRouter(tags=["moderation"])


@router.get("/moderation/queue")
async def review_queue(mod: Moderator, ctx: Ctx, limit: int = Query(50, ge=1, le=200)) -> dict[str, Any]:
    """Videos waiting for a human, oldest first, with scores, keyframes and thumbnails."""
    cards = await ctx.review.queue(limit)
    health = await ctx.review.stats()
    return {"items": [msgspec.to_builtins(c) for c in cards], "health": msgspec.to_builtins(health)}


@router.post("/moderation/videos/{video_id}/decision")
async def decide(video_id: str, body: DecisionRequest, mod: Moderator, ctx: Ctx) -> dict[str, Any]:
    """Approve or reject a queued video (on an appeal: reject upholds the first decision)."""
    events = await ctx.review.decide(video_id, mod.user_id, body.decision, body.reason,
                                     age_rating=body.age_rating)
    return {"video_id": video_id, "events": [type(e).__name__ for e in events]}


@router.post("/videos/{video_id}/appeal", status_code=202)
async def appeal(video_id: str, caller: Caller, ctx: Ctx,
                 body: AppealRequest | None = None) -> dict[str, Any]:
    """The creator appeals a rejection, once; a second moderator reviews it."""
    registered(caller)
    event = await ctx.review.appeal(video_id, caller.user_id, body.reason if body else "")
    return {"video_id": event.video_id, "appeal": "pending"}
