"""What the feed returns: ``FeedPage`` (items, cursor, prefetch hints, degradation, timings)."""

from __future__ import annotations

import msgspec

__all__ = ["FeedItem", "FeedPage"]


class FeedItem(msgspec.Struct, frozen=True, kw_only=True):
    video_id: str
    creator_id: str | None
    sound_id: str | None
    hashtags: tuple[str, ...]
    position: int  # position in the user's feed session (page * count + index)
    source: str  # ann | following | affinity | trending | fresh | last_feed | trending_region | ...
    score: float
    explore: bool = False  # shown in an exploration slot
    retrieval: float = 0.0  # the candidate source's score (logged with the Impression)


class FeedPage(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    user_id: str
    items: list[FeedItem]
    cursor: str | None  # pass back for the next page
    prefetch: list[str]  # video ids likely at the top of the next page (prefetch their first segments)
    personalized: bool
    reason: str | None  # why not personalised (None when it is)
    user_state_version: int | None  # events the user's shard had applied (None: shard unavailable)
    timings_ms: dict[str, float]
    experiment: dict[str, str] = {}

    def server_timing(self) -> str:
        """The ``Server-Timing`` header value: one ``stage;dur=ms`` per stage."""
        return ", ".join(f"{k};dur={v:.2f}" for k, v in self.timings_ms.items())
