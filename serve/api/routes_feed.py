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
from .errors import BadRequest, Unavailable

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


_EXPERIMENTS: dict[str, Any] = {}


def _arm_overrides(ctx: Ctx, user_id: str) -> dict[str, Any]:
    """The caller's experiment arms and their feed overrides (``sim.experiments``: the data dir's
    ``experiments.json``, re-read when it changes, so arms ramp or roll back without a restart)."""
    from serve.feed.config import FeedContext
    from sim.experiments import ExperimentStore

    store = _EXPERIMENTS.get(ctx.settings.data_dir)
    if store is None:
        store = _EXPERIMENTS[ctx.settings.data_dir] = ExperimentStore(ctx.settings.data_dir)
    fields = set(FeedContext.__struct_fields__)
    return {k: v for k, v in store.overrides_for(user_id).items() if k in fields}


def _context(ctx: Ctx, user_id: str) -> Any:
    """The feed's request context: the viewer's facts from the catalog (age gate, region) and the
    overrides of the caller's experiment arms."""
    from serve.feed.config import FeedContext

    arms = _arm_overrides(ctx, user_id)
    u = catalog.get_user(ctx.views.catalog, user_id)
    if u is None:
        return FeedContext(**arms)
    return FeedContext(region=u.region if u.region != "ZZ" else None, birth_year=u.birth_year,
                       language=u.language, **arms)


@router.get("/feed")
async def feed(response: Response, caller: Caller, ctx: Ctx, count: int = Query(10, ge=1, le=50),
               cursor: str | None = Query(None, max_length=4096)) -> dict[str, Any]:
    """The next ``count`` videos for the caller; pass ``cursor`` back for the page after.

    ``prefetch`` lists the playlist and first-segment URLs of the next videos to play (this page's
    first ones, then the likely top of the next page); ``personalized`` is false when the pipeline
    degraded (``reason`` says why); ``user_state_version`` counts the caller's events the shard has
    applied. ``Server-Timing`` carries each stage's time.
    """
    if ctx.feed is None:
        raise Unavailable("the feed pipeline is not deployed on this replica", retry_after=5.0)
    t0 = time.perf_counter()
    try:
        page = await ctx.feed.get_page(caller.user_id, count, cursor, context=_context(ctx, caller.user_id))
    except ValueError as exc:  # serve.feed.errors.BadCursorError
        raise BadRequest(str(exc), code="bad_cursor") from None
    t1 = time.perf_counter()
    raw = _as_dict(page)
    cards: list[dict[str, Any]] = []
    views: dict[str, catalog.VideoView] = {}
    for item in raw.get("items", ()):
        v = catalog.get_video(ctx.views.catalog, item["video_id"])
        if v is None:
            continue
        views[v.video_id] = v
        c = card(ctx, v)
        c["source"] = item.get("source")
        c["position"] = item.get("position")
        cards.append(c)
    hints = []
    upcoming = [c["video_id"] for c in cards[:3]]
    upcoming += [vid for vid in raw.get("prefetch", ()) if vid not in views]
    for vid in upcoming:
        v = views.get(vid) or catalog.get_video(ctx.views.catalog, vid)
        if v is not None and v.master_playlist_key:
            hints.append(prefetch_hint(ctx, v))
    stages = {k: float(v) for k, v in (raw.get("timings_ms") or {}).items()}
    stages["feed"] = (t1 - t0) * 1000
    stages["hydrate"] = (time.perf_counter() - t1) * 1000
    response.headers["Server-Timing"] = server_timing(stages)
    return {
        "videos": cards,
        "cursor": raw.get("cursor"),
        "prefetch": hints,
        "personalized": bool(raw.get("personalized", False)),
        "reason": raw.get("reason"),
        "user_state_version": raw.get("user_state_version"),
        "request_id": raw.get("request_id"),
        "experiment": raw.get("experiment") or {},
    }
