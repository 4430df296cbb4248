"""``GET /feed``: a page of the For You feed from the feed pipeline (``serve.feed.FeedService``).

The pipeline (shard state -> retrieval -> filters -> ranking -> re-rank -> fallbacks) runs in-process
in the ingress replica; this route turns its page into video cards with fresh counters, adds the
prefetch hints (playlist and first segment of each video, in play order) and a ``Server-Timing``
header with each stage's time.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from fastapi import APIRouter, Query, Response

from projections import catalog

from .cards import card, prefetch_hint
from .deps import Caller, Ctx
from .errors import Unavailable

__all__ = ["router", "server_timing"]

router = APIRouter(tags=["feed"])


def server_timing(stages: dict[str, float]) -> str:
    """``Server-Timing`` value from ``{stage: milliseconds}`` (names made token-safe)."""
    parts = []
    for name, ms in stages.items():
        token = "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "stage"
        parts.append(f"{token};dur={ms:.2f}")
    return ", ".join(parts)


def _as_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return obj
    built = msgspec.to_builtins(obj)
    assert isinstance(built, dict)
    return built


@router.get("/feed")
async def feed(response: Response, caller: Caller, ctx: Ctx, count: int = Query(10, ge=1, le=50),
               cursor: str | None = Query(None, max_length=4096)) -> dict[str, Any]:
    """The next ``count`` videos for the caller; pass ``cursor`` back for the page after."""
    if ctx.feed is None:
        raise Unavailable("the feed pipeline is not deployed on this replica", retry_after=5.0)
    t0 = time.perf_counter()
    page = await ctx.feed.get_page(caller.user_id, count, cursor)
    t1 = time.perf_counter()
    raw = _as_dict(page)
    cards: list[dict[str, Any]] = []
    hints: list[dict[str, Any]] = []
    for item in raw.get("videos", ()):
        vid = item if isinstance(item, str) else item["video_id"]
        v = catalog.get_video(ctx.views.catalog, vid)
        if v is None:
            continue
        c = card(ctx, v)
        if not isinstance(item, str):
            for extra in ("source", "score", "position"):
                if extra in item:
                    c[extra] = item[extra]
        cards.append(c)
        hints.append(prefetch_hint(ctx, v))
    stages = {k: float(v) for k, v in (raw.get("timings") or raw.get("stage_ms") or {}).items()}
    stages["hydrate"] = (time.perf_counter() - t1) * 1000
    stages["total"] = (time.perf_counter() - t0) * 1000
    response.headers["Server-Timing"] = server_timing(stages)
    return {
        "videos": cards,
        "cursor": raw.get("cursor"),
        "prefetch": hints,
        "personalized": bool(raw.get("personalized", False)),
        "reason": raw.get("reason") or raw.get("degraded_reason"),
        "user_state_version": raw.get("user_state_version"),
        "request_id": raw.get("request_id"),
    }
