"""Playback URLs: a video's HLS master playlist and thumbnails under the configured CDN base URL; pure.

``cdn_base_url`` (``REEL_CDN_BASE_URL``) is where the blob store's keys are served from: a CDN in
front of the S3 bucket in production, or the ingress's local blob route (default ``/media``).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from .keys import check_key

__all__ = ["Playback", "blob_url", "playback"]

import msgspec


class Playback(msgspec.Struct, frozen=True, kw_only=True):
    hls_url: str | None
    thumbnail_urls: tuple[str, ...]

    @property
    def thumbnail_url(self) -> str | None:
        """The large thumbnail (the first key is the largest)."""
        return self.thumbnail_urls[0] if self.thumbnail_urls else None


def blob_url(cdn_base_url: str, key: str) -> str:
    """``{cdn_base_url}/{key}`` for a valid key (no caller text can smuggle a path in)."""
    return f"{cdn_base_url.rstrip('/')}/{quote(check_key(key), safe='/')}"


def playback(
    cdn_base_url: str, master_playlist_key: str | None, thumbnail_keys: Sequence[str] = ()
) -> Playback:
    """URLs for a video's master playlist and thumbnails (``None`` until it is transcoded)."""
    return Playback(
        hls_url=blob_url(cdn_base_url, master_playlist_key) if master_playlist_key else None,
        thumbnail_urls=tuple(blob_url(cdn_base_url, k) for k in thumbnail_keys),
    )
