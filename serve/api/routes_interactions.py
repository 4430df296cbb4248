"""Interaction routes: client events, like/unlike, comments, share, follow/unfollow, not interested, report.

Each appends its typed event (the server sets ``event_id``, ``ts`` and ``user_id`` from the token) and
then waits, bounded, until the views the caller reads next and the caller's shard have applied it
(``ApiContext.applied``): a like is in the counters and in the next feed's ``user_state_version``
by the time the response arrives (``applied: false`` says the bound was hit; the write still stands).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from events.ids import new_event_id, now_us
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
    ViewEnded,
)
from projections import catalog, counters, social

from .cards import can_see, user_card
from .context import ApiContext
from .deps import Caller, Ctx, registered
from .errors import BadRequest, Conflict, NotFound
from .models import CommentRequest, EventsRequest, NotInterestedRequest, ReportRequest, ShareRequest

__all__ = ["router"]

router = APIRouter(tags=["interactions"])


def _video(ctx: ApiContext, video_id: str, viewer: str) -> catalog.VideoView:
    v = catalog.get_video(ctx.views.catalog, video_id)
    if v is None or not can_see(ctx, v, viewer, check_age=False):
        raise NotFound(f"no video {video_id} (or it is not visible to you)")
    return v


async def _write(ctx: ApiContext, events: list[Event], views: tuple[str, ...],
                 user_id: str) -> dict[str, Any]:
    positions = await ctx.append(events)
    applied = await ctx.applied(positions, views, user_id)
    return {"accepted": len(events), "applied": applied}


def _stats(ctx: ApiContext, video_id: str) -> dict[str, int]:
    s = counters.video_stats(ctx.views.counters, video_id) or counters.VideoCounts()
    return {"plays": s.plays, "likes": s.likes, "comments": s.comments, "shares": s.shares}


@router.post("/events", status_code=202)
async def client_events(body: EventsRequest, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """A batch of impressions and view-ended events (watch_ms of duration_ms, loops)."""
    ts = now_us()
    events: list[Event] = []
    for e in body.events:
        if e.type == "impression":
            events.append(Impression(event_id=new_event_id(), ts=ts, user_id=caller.user_id,
                                     video_id=e.video_id, request_id=e.request_id or "client",
                                     position=e.position, source=e.source))
        else:
            if e.watch_ms > e.duration_ms * (e.loops + 1) + 1000:
                raise BadRequest("watch_ms exceeds duration_ms x (loops + 1): send the time actually watched")
            events.append(ViewEnded(event_id=new_event_id(), ts=ts, user_id=caller.user_id,
                                    video_id=e.video_id, watch_ms=e.watch_ms, duration_ms=e.duration_ms,
                                    loops=e.loops, request_id=e.request_id))
    return await _write(ctx, events, ("counters", "features"), caller.user_id)


@router.post("/videos/{video_id}/like")
async def like(video_id: str, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    registered(caller)
    _video(ctx, video_id, caller.user_id)
    async with ctx.toggles.hold(f"like:{caller.user_id}:{video_id}"):  # a double tap appends one Liked
        if counters.has_liked(ctx.views.counters, video_id, caller.user_id):
            raise Conflict("you already like this video", code="already_liked")
        out = await _write(ctx, [Liked(event_id=new_event_id(), ts=now_us(), user_id=caller.user_id,
                                       video_id=video_id)], ("counters",), caller.user_id)
    return {**out, "liked": True, "stats": _stats(ctx, video_id)}


@router.delete("/videos/{video_id}/like")
async def unlike(video_id: str, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    registered(caller)
    _video(ctx, video_id, caller.user_id)
    async with ctx.toggles.hold(f"like:{caller.user_id}:{video_id}"):
        if not counters.has_liked(ctx.views.counters, video_id, caller.user_id):
            raise Conflict("you do not like this video", code="not_liked")
        out = await _write(ctx, [Unliked(event_id=new_event_id(), ts=now_us(), user_id=caller.user_id,
                                         video_id=video_id)], ("counters",), caller.user_id)
    return {**out, "liked": False, "stats": _stats(ctx, video_id)}


@router.post("/videos/{video_id}/comments", status_code=201)
async def comment(video_id: str, body: CommentRequest, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    registered(caller)
    _video(ctx, video_id, caller.user_id)
    cid = new_event_id()
    out = await _write(ctx, [Commented(event_id=cid, ts=now_us(), user_id=caller.user_id, video_id=video_id,
                                       comment_id=cid, text=body.text)], ("social", "counters"),
                       caller.user_id)
    return {**out, "comment_id": cid}


@router.get("/videos/{video_id}/comments")
async def list_comments(video_id: str, caller: Caller, ctx: Ctx,
                        limit: int = Query(20, ge=1, le=100),
                        offset: int = Query(0, ge=0, le=10_000)) -> dict[str, Any]:
    _video(ctx, video_id, caller.user_id)
    items = social.comments(ctx.views.social, video_id, limit=limit, offset=offset)
    return {"comments": [{"comment_id": c.comment_id, "user": user_card(ctx, c.user_id), "text": c.text,
                          "ts": c.ts} for c in items],
            "next_offset": offset + len(items) if len(items) == limit else None}


@router.post("/videos/{video_id}/share")
async def share(video_id: str, caller: Caller, ctx: Ctx, body: ShareRequest | None = None) -> dict[str, Any]:
    registered(caller)
    _video(ctx, video_id, caller.user_id)
    out = await _write(ctx, [Shared(event_id=new_event_id(), ts=now_us(), user_id=caller.user_id,
                                    video_id=video_id, channel=(body.channel if body else "link"))],
                       ("counters",), caller.user_id)
    return {**out, "stats": _stats(ctx, video_id)}


@router.post("/videos/{video_id}/not-interested")
async def not_interested(video_id: str, caller: Caller, ctx: Ctx,
                         body: NotInterestedRequest | None = None) -> dict[str, Any]:
    v = _video(ctx, video_id, caller.user_id)
    b = body or NotInterestedRequest()
    return await _write(ctx, [NotInterested(event_id=new_event_id(), ts=now_us(), user_id=caller.user_id,
                                            video_id=video_id, creator_id=v.creator_id if b.creator else None,
                                            sound_id=v.sound_id if b.sound else None)], (), caller.user_id)


@router.post("/videos/{video_id}/report", status_code=202)
async def report(video_id: str, body: ReportRequest, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    registered(caller)
    _video(ctx, video_id, caller.user_id)
    return await _write(ctx, [Reported(event_id=new_event_id(), ts=now_us(), user_id=caller.user_id,
                                       video_id=video_id, reason=body.reason)], ("moderation",),
                        caller.user_id)


@router.post("/users/{user_id}/follow")
async def follow(user_id: str, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    registered(caller)
    if user_id == caller.user_id:
        raise BadRequest("you cannot follow yourself")
    if catalog.get_user(ctx.views.catalog, user_id) is None:
        raise NotFound(f"no user {user_id}")
    async with ctx.toggles.hold(f"follow:{caller.user_id}:{user_id}"):  # a double tap appends one Followed
        if social.is_following(ctx.views.social, caller.user_id, user_id):
            raise Conflict("you already follow this user", code="already_following")
        out = await _write(ctx, [Followed(event_id=new_event_id(), ts=now_us(), user_id=caller.user_id,
                                          creator_id=user_id)], ("social",), caller.user_id)
    return {**out, "following": True}


@router.delete("/users/{user_id}/follow")
async def unfollow(user_id: str, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    registered(caller)
    async with ctx.toggles.hold(f"follow:{caller.user_id}:{user_id}"):
        if not social.is_following(ctx.views.social, caller.user_id, user_id):
            raise Conflict("you do not follow this user", code="not_following")
        out = await _write(ctx, [Unfollowed(event_id=new_event_id(), ts=now_us(), user_id=caller.user_id,
                                            creator_id=user_id)], ("social",), caller.user_id)
    return {**out, "following": False}
