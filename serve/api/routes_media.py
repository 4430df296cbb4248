"""``GET /media/{key}``: HLS playlists, segments and thumbnails from the blob store with Range support.

The local CDN: used when ``REEL_CDN_BASE_URL`` is the default ``/media``; with a real CDN configured
the playback URLs point there and this route is not needed (it still answers). Blob keys are
unguessable per video (server-generated ids), like a CDN's public objects.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response

from blobs.http import serve_blob

from .deps import Ctx, limit_address
from .errors import NotFound

__all__ = ["router"]

router = APIRouter(tags=["media"])


@router.get("/media/{key:path}", include_in_schema=False)
async def media(key: str, request: Request, ctx: Ctx) -> Response:
    limit_address(request, ctx)
    answer = await asyncio.to_thread(serve_blob, ctx.blobs, key, request.headers.get("range"))
    if answer.status == 404:
        raise NotFound(f"no media object {key}")
    return Response(content=answer.body, status_code=answer.status, headers=answer.headers)
