"""Where user shards get video embeddings: the ``VideoEmbeddings`` port and the content embedding.

The shard only ever calls ``get(video_id)`` and ``refresh()`` on an injected source, so learned
embeddings (published by the trainer as a ``ModelVersionPublished`` event) replace the content
embedding by naming another factory in the shard config — no shard code changes.

Until then, ``ContentEncoder`` is a real feature-hashing encoder (no model): caption words,
hashtags, the sound, the creator and the video id are hashed with a keyed blake2b into signed
buckets of a ``dim``-vector, weighted, and L2-normalised. Videos sharing hashtags, sounds or
creators get similar vectors, so user vectors built from them carry meaning. ``VideoDirectory``
folds catalog events into ``VideoInfo`` (pure; the first ``VideoDetailsSubmitted`` of a video
wins, so a video's embedding never changes under a replay).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

import numpy as np

from events.schema import Event, VideoDetailsSubmitted, VideoPublished
from projections.common import normalize_hashtag

from .user_state import Vector, VideoInfo

__all__ = ["ContentEncoder", "VideoDirectory", "VideoEmbeddings", "is_catalog_event"]

_WORD = re.compile(r"\w+", re.UNICODE)


@runtime_checkable
class VideoEmbeddings(Protocol):
    """A source of video info for the user shards (content-hashed now, learned later).

    Exact recovery needs ``get`` to give a video the same answer whenever it is asked: the content
    source never changes a video's embedding once known. A learned source must keep that promise
    too, e.g. by pinning the model version a shard started with (recorded in its checkpoint) or by
    answering per event time (the version published before ``event.ts``); switching versions is
    then an explicit rebuild of the shards' state, like a projection's version bump.
    """

    def get(self, video_id: str) -> VideoInfo | None:
        """The video's info, or None while the source does not know it (the event is held back)."""
        ...

    async def refresh(self) -> int:
        """Learn what was published since the last call; returns how many videos became known."""
        ...

    def __len__(self) -> int: ...

    async def close(self) -> None: ...


class ContentEncoder:
    """Feature hashing of a video's text and identity into a unit float32 vector."""

    #: (prefix, weight) per feature kind
    WEIGHTS = {"w": 1.0, "h": 2.0, "s": 2.0, "c": 1.0, "v": 0.5}

    def __init__(self, dim: int = 64, *, seed: int = 0, probes: int = 2) -> None:
        if dim < 2 or probes < 1 or probes * 8 > 64:
            raise ValueError("ContentEncoder needs dim >= 2 and 1 <= probes <= 8")
        self.dim = dim
        self.probes = probes
        self._key = seed.to_bytes(8, "little", signed=False)

    def _features(self, video_id: str, creator_id: str, caption: str, hashtags: Iterable[str],
                  sound_id: str | None) -> list[tuple[str, float]]:
        w = self.WEIGHTS
        feats = [("w:" + word, w["w"]) for word in _WORD.findall(caption.lower())]
        feats += [("h:" + normalize_hashtag(t), w["h"]) for t in hashtags if normalize_hashtag(t)]
        if sound_id:
            feats.append(("s:" + sound_id, w["s"]))
        if creator_id:
            feats.append(("c:" + creator_id, w["c"]))
        feats.append(("v:" + video_id, w["v"]))
        return feats

    def encode(self, *, video_id: str, creator_id: str = "", caption: str = "",
               hashtags: Iterable[str] = (), sound_id: str | None = None) -> Vector:
        acc = np.zeros(self.dim, dtype=np.float64)
        for feature, weight in self._features(video_id, creator_id, caption, hashtags, sound_id):
            digest = hashlib.blake2b(feature.encode(), digest_size=8 * self.probes, key=self._key).digest()
            for j in range(self.probes):
                h = int.from_bytes(digest[8 * j: 8 * j + 8], "little")
                acc[(h >> 1) % self.dim] += weight if h & 1 else -weight
        norm = float(np.linalg.norm(acc))
        if norm == 0.0:  # every feature cancelled out: fall back on the id alone
            acc[int.from_bytes(hashlib.blake2b(video_id.encode(), digest_size=8).digest(), "little")
                % self.dim] = 1.0
            norm = 1.0
        return (acc / norm).astype(np.float32)


def is_catalog_event(event: Event) -> bool:
    """Events ``VideoDirectory.observe`` learns from."""
    return isinstance(event, VideoDetailsSubmitted | VideoPublished)


class VideoDirectory:
    """video id -> ``VideoInfo`` folded from catalog events with a ``ContentEncoder`` (pure, in memory)."""

    __slots__ = ("encoder", "videos")

    def __init__(self, encoder: ContentEncoder) -> None:
        self.encoder = encoder
        self.videos: dict[str, VideoInfo] = {}

    def __len__(self) -> int:
        return len(self.videos)

    def get(self, video_id: str) -> VideoInfo | None:
        return self.videos.get(video_id)

    def observe(self, event: Event) -> bool:
        """Learn from one event; True when it made a video known."""
        match event:
            case VideoDetailsSubmitted() if event.video_id not in self.videos:
                emb = self.encoder.encode(video_id=event.video_id, creator_id=event.creator_id,
                                          caption=event.caption, hashtags=event.hashtags,
                                          sound_id=event.sound_id)
                self.videos[event.video_id] = VideoInfo(video_id=event.video_id, embedding=emb,
                                                        creator_id=event.creator_id, sound_id=event.sound_id)
                return True
            case VideoPublished() if event.video_id not in self.videos:
                # published without submitted details (older clients): creator and id only
                emb = self.encoder.encode(video_id=event.video_id, creator_id=event.creator_id)
                self.videos[event.video_id] = VideoInfo(video_id=event.video_id, embedding=emb,
                                                        creator_id=event.creator_id)
                return True
            case _:
                return False
