"""Discovery and account routes: search, trending, profiles and their videos, notifications, analytics."""

from __future__ import annotations

import datetime as _dt
from typing import Any, Literal

import msgspec
from fastapi import APIRouter, Query

from events.ids import new_event_id, now_us
from events.schema import NotificationsRead
from projections import analytics, catalog, counters, notifications, search, social, trending

from .cards import can_see, card, user_card, visible_cards
from .deps import Caller, Ctx
from .errors import BadRequest, Forbidden, NotFound
from .models import MarkReadRequest

__all__ = ["router"]

router = APIRouter(tags=["discovery"])


@router.get("/search")
async def search_route(caller: Caller, ctx: Ctx, q: str = Query(min_length=1, max_length=200),
                       type: Literal["hashtag", "sound", "user", "video"] = "video",
                       limit: int = Query(20, ge=1, le=50)) -> dict[str, Any]:
    """Hashtags, sounds, users or videos matching ``q``; video hits come as cards."""
    hits = search.search(ctx.views.search, q, type, limit)
    if type == "video":
        ids = [h.video_id for h in hits if isinstance(h, search.VideoHit)]
        return {"type": type, "results": visible_cards(ctx, ids, caller.user_id)}
    if type == "user":
        return {"type": type, "results": [
            {**user_card(ctx, h.user_id), "followers": h.followers}
            for h in hits if isinstance(h, search.UserHit)]}
    return {"type": type, "results": [msgspec.to_builtins(h) for h in hits]}


@router.get("/trending")
async def trending_route(caller: Caller, ctx: Ctx,
                         region: str | None = Query(None, min_length=2, max_length=8),
                         hashtag: str | None = Query(None, min_length=1, max_length=100),
                         sound: str | None = Query(None, min_length=1, max_length=128),
                         limit: int = Query(20, ge=1, le=50)) -> dict[str, Any]:
    """The fastest-rising videos: globally, in a region, under a hashtag or a sound."""
    scope = ("region:" + region.upper() if region else f"hashtag:{hashtag}" if hashtag
             else f"sound:{sound}" if sound else "global")
    now = now_us()
    items = trending.top(ctx.views.trending, scope, limit * 2, now_us=now)
    if not items and scope.startswith("region:"):
        scope = "global"
        items = trending.top(ctx.views.trending, scope, limit * 2, now_us=now)
    scores = {i.video_id: i.score for i in items}
    cards = visible_cards(ctx, [i.video_id for i in items], caller.user_id)[:limit]
    for c in cards:
        c["trend_score"] = round(scores[c["video_id"]], 6)
    return {"scope": scope, "videos": cards}


@router.get("/users/{user_id}")
async def user_profile(user_id: str, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    u = catalog.get_user(ctx.views.catalog, user_id)
    if u is None or not u.registered:
        raise NotFound(f"no user {user_id}")
    fc = social.counts(ctx.views.social, user_id)
    cc = counters.creator_stats(ctx.views.counters, user_id) or counters.CreatorCounts()
    return {**user_card(ctx, user_id), "bio": u.bio, "region": u.region, "followers": fc.followers,
            "following": fc.following, "likes": cc.likes, "plays": cc.plays,
            "you_follow": social.is_following(ctx.views.social, caller.user_id, user_id)}


@router.get("/users/{user_id}/videos")
async def user_videos(user_id: str, caller: Caller, ctx: Ctx, limit: int = Query(30, ge=1, le=100),
                      offset: int = Query(0, ge=0, le=10_000)) -> dict[str, Any]:
    """A creator's published videos that the caller may see, newest first."""
    if catalog.get_user(ctx.views.catalog, user_id) is None:
        raise NotFound(f"no user {user_id}")
    items = social.recent_videos(ctx.views.social, user_id, limit=limit, offset=offset)
    cards = []
    for item in items:
        v = catalog.get_video(ctx.views.catalog, item.video_id)
        if v is not None and can_see(ctx, v, caller.user_id):
            cards.append(card(ctx, v))
    return {"videos": cards, "next_offset": offset + len(items) if len(items) == limit else None}


@router.get("/notifications")
async def list_notifications(caller: Caller, ctx: Ctx, limit: int = Query(20, ge=1, le=100),
                             cursor: str | None = Query(None, max_length=64)) -> dict[str, Any]:
    page = notifications.inbox(ctx.views.notifications, caller.user_id, limit=limit, cursor=cursor)
    return {"items": [{**msgspec.to_builtins(n), "actor": user_card(ctx, n.actor_id) if n.actor_id else None}
                      for n in page.items],
            "cursor": page.next_cursor, "unread": page.unread}


@router.post("/notifications/read")
async def mark_read(caller: Caller, ctx: Ctx, body: MarkReadRequest | None = None) -> dict[str, Any]:
    """Mark notifications read: the given ``ids``, everything up to ``up_to_ts``, or (neither) all."""
    b = body or MarkReadRequest(up_to_ts=None)
    event = NotificationsRead(event_id=new_event_id(), ts=now_us(), user_id=caller.user_id,
                              up_to_ts=b.up_to_ts, ids=tuple(b.ids))
    positions = await ctx.append([event])
    applied = await ctx.applied(positions, ("notifications",))
    return {"applied": applied, "unread": notifications.unread_count(ctx.views.notifications, caller.user_id)}


def _day(us: int) -> str:
    return _dt.datetime.fromtimestamp(us / 1e6, tz=_dt.UTC).date().isoformat()


@router.get("/creators/{creator_id}/analytics")
async def creator_analytics(creator_id: str, caller: Caller, ctx: Ctx,
                            days: int = Query(30, ge=1, le=366),
                            to: str | None = Query(None, pattern=r"^\d{4}-\d{2}-\d{2}$")) -> dict[str, Any]:
    """Per-day views, watch time, completion, likes, shares, follows and audience (the creator only)."""
    if caller.user_id != creator_id and caller.role != "admin":
        raise Forbidden("analytics are visible to the creator only")
    try:
        last = _dt.date.fromisoformat(to) if to else _dt.date.fromisoformat(_day(now_us()))
    except ValueError:
        raise BadRequest(f"invalid day {to!r}: use YYYY-MM-DD") from None
    first = last - _dt.timedelta(days=days - 1)
    rows = analytics.creator_daily(ctx.views.analytics, creator_id, first.isoformat(), last.isoformat())
    totals = counters.creator_stats(ctx.views.counters, creator_id) or counters.CreatorCounts()
    # totals as an object: the stored CreatorCounts is an array-like struct (to_builtins gives a list)
    return {"creator_id": creator_id, "from": first.isoformat(), "to": last.isoformat(),
            "days": [msgspec.to_builtins(r) for r in rows],
            "totals": {f: getattr(totals, f) for f in totals.__struct_fields__}}
