"""Serve a blob over HTTP without a web framework: status, headers and body for a key and a Range header.

The ingress (Serve issue) mounts ``serve_blob`` for local playback of HLS files and thumbnails; in
production a CDN in front of the blob store does this. ``parse_range`` is pure.
"""

from __future__ import annotations

import msgspec

from .errors import BlobNotFoundError, InvalidBlobKeyError
from .store import BlobStore

__all__ = ["CONTENT_TYPES", "BlobResponse", "content_type", "parse_range", "serve_blob"]

CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".json": "application/json",
}
#: Playlists change never (VOD) but are small; segments and thumbnails are immutable.
CACHE_IMMUTABLE = "public, max-age=31536000, immutable"


class BlobResponse(msgspec.Struct, frozen=True, kw_only=True):
    status: int
    headers: dict[str, str]
    body: bytes = b""


def content_type(key: str) -> str:
    dot = key.rfind(".")
    return (
        CONTENT_TYPES.get(key[dot:].lower(), "application/octet-stream")
        if dot >= 0
        else "application/octet-stream"
    )


def parse_range(header: str | None, size: int) -> tuple[int, int] | bool | None:
    """``(start, end_inclusive)`` of a single ``bytes=`` range; ``None`` for no/ignored header;
    ``False`` when the range cannot be satisfied (HTTP 416)."""
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None  # other units and multi-range: serve the whole object (allowed by RFC 9110)
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if first == "":  # suffix: the last N bytes
            n = int(last)
            if n <= 0:
                return False
            return (max(0, size - n), size - 1) if size else False
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start < 0 or start >= size or end < start:
        return False
    return start, min(end, size - 1)


def serve_blob(store: BlobStore, key: str, range_header: str | None = None) -> BlobResponse:
    """The HTTP answer for ``GET key`` (200, 206, 404 or 416), with content type and caching headers."""
    try:
        size = store.size(key)
    except (BlobNotFoundError, InvalidBlobKeyError):
        return BlobResponse(status=404, headers={"content-type": "text/plain"}, body=b"not found")
    base = {"content-type": content_type(key), "accept-ranges": "bytes", "cache-control": CACHE_IMMUTABLE}
    rng = parse_range(range_header, size)
    if rng is False:
        return BlobResponse(status=416, headers={**base, "content-range": f"bytes */{size}"})
    if rng is None or rng is True:
        body = store.get(key)
        return BlobResponse(status=200, headers={**base, "content-length": str(len(body))}, body=body)
    start, end = rng
    body = store.read_range(key, start, end - start + 1)
    return BlobResponse(
        status=206,
        body=body,
        headers={**base, "content-length": str(len(body)), "content-range": f"bytes {start}-{end}/{size}"},
    )
