"""Perceptual video fingerprint: a 64-bit pHash of one frame per interval, and a near-duplicate distance.

Re-uploads survive re-encoding, rescaling and trimming a few seconds: ``video_distance`` searches offsets
and averages Hamming distances over the overlap.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import av
import imagehash
import numpy as np
from PIL import Image

from media.frames import TimedSampler, sample_file
from media.results import ProbeResult

__all__ = ["VideoHasher", "is_near_duplicate", "video_distance", "video_fingerprint"]

HASH_SIDE = 128
NEAR_DUPLICATE = 0.18


class VideoHasher:
    """Frame tap: one pHash (hex) at each ``interval_s``."""

    def __init__(self, duration_s: float, interval_s: float = 1.0) -> None:
        n = max(1, int(duration_s / interval_s))
        self.hashes: list[str] = []
        self.sampler = TimedSampler([i * interval_s + interval_s / 2 for i in range(n)], self._keep)

    def __call__(self, t: float, frame: av.VideoFrame) -> None:
        self.sampler(t, frame)

    def _keep(self, t: float, frame: av.VideoFrame) -> None:
        gray = frame.reformat(HASH_SIDE, HASH_SIDE, "gray").to_ndarray()
        self.hashes.append(str(imagehash.phash(Image.fromarray(gray))))


def video_fingerprint(src: str | Path, probe: ProbeResult, interval_s: float = 1.0) -> tuple[str, ...]:
    """Decode ``src`` and return its per-interval pHashes (hex strings)."""
    hasher = VideoHasher(probe.duration_s, interval_s)
    sample_file(src, probe, [hasher.sampler])
    return tuple(hasher.hashes)


def _bits(hashes: Sequence[str]) -> np.ndarray:
    return np.array([[int(c, 16) for c in h] for h in hashes], dtype=np.uint8)


_NIBBLE_POP = np.array([bin(i).count("1") for i in range(16)], dtype=np.uint8)


def video_distance(a: Sequence[str], b: Sequence[str], max_offset: int = 5, min_overlap: int = 3) -> float:
    """Mean normalised Hamming distance at the best offset, in [0, 1]: 0 identical, ~0.5 unrelated; pure."""
    if not a or not b:
        return 1.0
    na, nb = _bits(a), _bits(b)
    need = min(min_overlap, len(a), len(b))
    best = 1.0
    for off in range(-max_offset, max_offset + 1):
        a0, b0 = (off, 0) if off >= 0 else (0, -off)
        n = min(len(a) - a0, len(b) - b0)
        if n < need:
            continue
        diff = _NIBBLE_POP[np.bitwise_xor(na[a0 : a0 + n], nb[b0 : b0 + n])]
        best = min(best, float(diff.sum()) / (64 * n))
    return best


def is_near_duplicate(a: Sequence[str], b: Sequence[str], threshold: float = NEAR_DUPLICATE) -> bool:
    return video_distance(a, b) <= threshold
