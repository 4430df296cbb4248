"""Upload routes: reserve an upload URL, PUT the bytes (streamed into the blob store), publish, status."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Request

from projections import catalog, moderation

from .cards import can_see, card
from .deps import Caller, Ctx, registered
from .errors import Forbidden, NotFound
from .models import PublishRequest

__all__ = ["UPLOAD_PATH", "router"]

router = APIRouter(tags=["videos"])
UPLOAD_PATH = "/api/v1/uploads/"


async def _video_soon(ctx: Ctx, video_id: str) -> catalog.VideoView | None:
    """The video, waiting (bounded) for the catalog to fold an upload reserved a moment ago."""
    deadline = time.monotonic() + ctx.settings.read_your_writes_s
    while True:
        v = catalog.get_video(ctx.views.catalog, video_id)
        if v is not None or time.monotonic() >= deadline:
            return v
        await asyncio.sleep(0.01)


@router.post("/videos/upload-url", status_code=201)
async def upload_url(request: Request, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """Reserve a video id and a signed upload URL; PUT the file's bytes there."""
    registered(caller)
    ticket = await ctx.uploads.request_upload(caller.user_id)
    return {"video_id": ticket.video_id, "upload_url": UPLOAD_PATH + ticket.token, "method": "PUT",
            "max_bytes": ticket.max_bytes, "expires_at": ticket.expires_at}


@router.put("/uploads/{token}", status_code=201)
async def put_upload(token: str, request: Request, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """The file's bytes (any content type); streamed into the blob store, 413 past the size limit."""
    grant = ctx.uploads.check_token(token)
    if grant.creator_id != caller.user_id:
        raise Forbidden("this upload URL belongs to another user; request your own upload URL")
    event = await ctx.uploads.receive_upload(token, request.stream())
    return {"video_id": event.video_id, "size_bytes": event.size_bytes, "sha256": event.sha256}


@router.post("/videos/{video_id}/publish", status_code=202)
async def publish(video_id: str, body: PublishRequest, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """Caption, hashtags, sound and privacy; processing starts once the bytes are in."""
    registered(caller)
    v = await _video_soon(ctx, video_id)
    if v is None:
        raise NotFound(f"no video {video_id}; request an upload URL first")
    if v.creator_id != caller.user_id:
        raise Forbidden("only the creator of a video can publish it")
    tags = list(body.hashtags)
    tags += [w[1:] for w in body.description.split() if w.startswith("#") and len(w) > 1]
    event = await ctx.uploads.submit_details(
        video_id, caller.user_id, caption=body.description, hashtags=tags[:30],
        sound_id=body.music_id, sound_title=body.music_title or (body.music_id and f"Sound {body.music_id}"),
        privacy=body.privacy)
    return {"video_id": event.video_id, "status": "processing"}


@router.get("/videos/{video_id}")
async def get_video(video_id: str, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """A video's card and status; its owner also sees why processing failed or moderation rejected it."""
    v = catalog.get_video(ctx.views.catalog, video_id)
    if v is None:
        raise NotFound(f"no video {video_id}")
    owner = v.creator_id == caller.user_id
    if not owner and not caller.is_moderator and not can_see(ctx, v, caller.user_id):
        raise NotFound(f"no video {video_id}")
    out = card(ctx, v)
    out["status"] = v.status if owner or caller.is_moderator else "published"
    if owner or caller.is_moderator:
        out["reason"] = v.reject_reason or v.failure_reason
        out["reject_category"] = v.reject_category
        out["appeal"] = v.appeal
        flags = moderation.video_flags(ctx.views.moderation, video_id)
        out["moderation"] = {"demoted": flags.demoted, "reports": flags.reports}
    return out
