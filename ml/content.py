"""Content features of a video, known the moment it is published (so a new video is retrievable at once).

``VideoCatalog`` folds catalog events (details, transcoded, published, removed) into ``VideoContent``;
``content_matrix`` turns videos into one float32 row each: the MiniLM embedding of caption + hashtags,
hashed creator and sound buckets, log duration, aspect ratio and the hashtag count (the simple
visual/audio metadata the pipeline records). The two-tower's video tower projects that row to the
shared 64-d space and adds the learned ID embedding (``two_tower.VideoTower``).

``LearnedVideoEmbeddings`` implements the user shards' ``VideoEmbeddings`` port from a trained
tower, so it replaces ``actors.embeddings.ContentEncoder`` without touching shard code.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from events import Event, VideoDetailsSubmitted, VideoPublished, VideoRemoved, VideoTranscoded

__all__ = ["HASH_BUCKETS", "TextEncoder", "VideoCatalog", "VideoContent", "content_dim", "content_matrix"]

HASH_BUCKETS = 16  # per hashed field (creator, sound)


class TextEncoder(Protocol):
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class VideoContent:
    video_id: str
    creator_id: str = ""
    sound_id: str | None = None
    caption: str = ""
    hashtags: tuple[str, ...] = ()
    duration_ms: int = 0
    width: int = 0
    height: int = 0
    published_ts: int | None = None
    removed: bool = False


class VideoCatalog:
    """video id -> ``VideoContent`` (a pure fold of the catalog events)."""

    def __init__(self) -> None:
        self.videos: dict[str, VideoContent] = {}

    def observe(self, event: Event) -> None:
        match event:
            case VideoDetailsSubmitted():
                v = self.videos.get(event.video_id, VideoContent(event.video_id))
                self.videos[event.video_id] = replace(
                    v,
                    creator_id=event.creator_id,
                    sound_id=event.sound_id,
                    caption=event.caption,
                    hashtags=event.hashtags,
                )
            case VideoTranscoded():
                v = self.videos.get(event.video_id, VideoContent(event.video_id, creator_id=event.creator_id))
                self.videos[event.video_id] = replace(
                    v, duration_ms=event.duration_ms, width=event.width, height=event.height
                )
            case VideoPublished():
                v = self.videos.get(event.video_id, VideoContent(event.video_id, creator_id=event.creator_id))
                if v.published_ts is None:
                    self.videos[event.video_id] = replace(v, published_ts=event.ts)
            case VideoRemoved() if event.video_id in self.videos:
                self.videos[event.video_id] = replace(self.videos[event.video_id], removed=True)
            case _:
                pass

    def observe_all(self, events: Iterable[Event]) -> VideoCatalog:
        for e in events:
            self.observe(e)
        return self


def _bucket(field: str, value: str | None) -> int:
    if not value:
        return -1
    return (
        int.from_bytes(hashlib.blake2b(f"{field}:{value}".encode(), digest_size=4).digest(), "little")
        % HASH_BUCKETS
    )


def content_dim(text_dim: int) -> int:
    return text_dim + 2 * HASH_BUCKETS + 4


def content_matrix(videos: Sequence[VideoContent], text: TextEncoder) -> np.ndarray:
    """One content row per video: [text | creator buckets | sound buckets | log duration, aspect ratio,
    hashtag count, has text]."""
    from .text_encoder import video_text

    texts = [video_text(v.caption, v.hashtags) for v in videos]
    out = np.zeros((len(videos), content_dim(text.dim)), dtype=np.float32)
    if not videos:
        return out
    out[:, : text.dim] = text.encode(texts)
    base = text.dim
    for i, v in enumerate(videos):
        c, s = _bucket("c", v.creator_id), _bucket("s", v.sound_id)
        if c >= 0:
            out[i, base + c] = 1.0
        if s >= 0:
            out[i, base + HASH_BUCKETS + s] = 1.0
        tail = base + 2 * HASH_BUCKETS
        out[i, tail] = math.log1p(v.duration_ms / 1000.0) / 5.0
        out[i, tail + 1] = (v.width / v.height - 0.75) if v.width and v.height else 0.0
        out[i, tail + 2] = min(len(v.hashtags), 10) / 10.0
        out[i, tail + 3] = 1.0 if texts[i] else 0.0
    return out
