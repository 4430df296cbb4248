"""Video cards: what clients get for a video (creator, caption, sound, stats, playback URLs), from the views.

``visible_cards`` hydrates a list of video ids for a viewer and drops what that viewer may not see
(unpublished, removed, private or friends-only, age-gated), so every listing route shares one rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from blobs.playback import blob_url, playback
from events.ids import now_us
from projections import catalog, counters, social

from .context import ApiContext

__all__ = ["can_see", "card", "prefetch_hint", "user_card", "visible_cards"]


def user_card(ctx: ApiContext, user_id: str | None) -> dict[str, Any]:
    u = catalog.get_user(ctx.views.catalog, user_id) if user_id else None
    return {
        "id": user_id,
        "name": (u.name if u and u.name else (user_id or "")),
        "avatar": u.avatar_url if u else None,
    }


def card(ctx: ApiContext, v: catalog.VideoView) -> dict[str, Any]:
    stats = counters.video_stats(ctx.views.counters, v.video_id) or counters.VideoCounts()
    pb = playback(ctx.settings.cdn_base_url, v.master_playlist_key, v.thumbnail_keys)
    return {
        "video_id": v.video_id,
        "creator": user_card(ctx, v.creator_id),
        "description": v.caption,
        "hashtags": list(v.hashtags),
        "music": {"id": v.sound_id, "title": v.sound_title} if v.sound_id else None,
        "stats": {"plays": stats.plays, "likes": stats.likes, "comments": stats.comments,
                  "shares": stats.shares},
        "hls_url": pb.hls_url,
        "thumbnail_url": pb.thumbnail_url,
        "duration_sec": round(v.duration_ms / 1000.0, 3),
        "created_at": v.created_at,
        "published_at": v.published_at,
        "privacy": v.privacy,
    }


def prefetch_hint(ctx: ApiContext, v: catalog.VideoView) -> dict[str, Any]:
    """The playlist and first segment a client should fetch before the video comes up."""
    pb = playback(ctx.settings.cdn_base_url, v.master_playlist_key, ())
    first_segment = None
    playlist: str | None = pb.hls_url
    if v.renditions:
        low = min(v.renditions, key=lambda r: r.height)
        base = low.playlist_key.rsplit("/", 1)[0]
        first_segment = blob_url(ctx.settings.cdn_base_url, f"{base}/seg_00000.ts")
        playlist = blob_url(ctx.settings.cdn_base_url, low.playlist_key)
    return {"video_id": v.video_id, "playlist_url": playlist, "master_url": pb.hls_url,
            "first_segment_url": first_segment}


def can_see(ctx: ApiContext, v: catalog.VideoView, viewer_id: str | None, birth_year: int | None = None,
            *, check_age: bool = True) -> bool:
    owner = v.creator_id or ""
    mutual = (v.privacy == "friends" and viewer_id is not None and owner != viewer_id
              and social.mutual(ctx.views.social, owner, viewer_id))
    if not catalog.is_visible(ctx.views.catalog, v, viewer_id, follows_mutually=mutual):
        return False
    if check_age and v.age_rating == "mature":
        if birth_year is None and viewer_id is not None:
            u = catalog.get_user(ctx.views.catalog, viewer_id)
            birth_year = u.birth_year if u else None
        return catalog.age_allowed(v, birth_year, now_us())
    return True


def visible_cards(ctx: ApiContext, video_ids: Sequence[str], viewer_id: str | None) -> list[dict[str, Any]]:
    out = []
    for vid in video_ids:
        v = catalog.get_video(ctx.views.catalog, vid)
        if v is not None and can_see(ctx, v, viewer_id):
            out.append(card(ctx, v))
    return out
