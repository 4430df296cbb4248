"""Thumbnails: score candidate frames by brightness and sharpness, keep the best, write JPEGs at two sizes.

Scoring is pure numpy (Laplacian variance on a small grey copy); collecting rides on the transcode's
decoded frames through ``ThumbnailCollector`` or decodes the file itself (``make_thumbnails``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import av
import msgspec
import numpy as np
import numpy.typing as npt
from PIL import Image

from media.frames import TimedSampler, sample_file
from media.results import ProbeResult

__all__ = [
    "FrameScore",
    "Thumbnail",
    "ThumbnailCollector",
    "ThumbnailSet",
    "candidate_times",
    "make_thumbnails",
    "score_gray",
]

DARK, BRIGHT, FLAT = 28.0, 235.0, 6.0
SCORE_WIDTH = 320


class FrameScore(msgspec.Struct, frozen=True, kw_only=True):
    t: float
    brightness: float
    contrast: float
    sharpness: float
    usable: bool

    @property
    def rank(self) -> tuple[bool, float]:
        return (self.usable, self.sharpness)


class Thumbnail(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    long_side: int
    width: int
    height: int


class ThumbnailSet(msgspec.Struct, frozen=True, kw_only=True):
    """The chosen time, the JPEGs (largest first) and every candidate's score."""

    chosen_t: float
    files: tuple[Thumbnail, ...]
    candidates: tuple[FrameScore, ...]


def candidate_times(duration_s: float, count: int = 8) -> list[float]:
    """``count`` times spread over the clip, avoiding the very first and last moments."""
    return [duration_s * (i + 0.5) / count for i in range(count)]


def score_gray(t: float, gray: npt.NDArray[np.uint8]) -> FrameScore:
    """Brightness (mean), contrast (std) and sharpness (variance of the 4-neighbour Laplacian)."""
    g = gray.astype(np.float32)
    lap = -4 * g[1:-1, 1:-1] + g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:]
    brightness, contrast = float(g.mean()), float(g.std())
    usable = DARK <= brightness <= BRIGHT and contrast >= FLAT
    return FrameScore(
        t=t, brightness=brightness, contrast=contrast, sharpness=float(lap.var()), usable=usable
    )


class ThumbnailCollector:
    """Keeps candidate frames as they go by; ``write`` picks the best and saves the JPEGs."""

    def __init__(self, duration_s: float, count: int = 8, max_long_side: int = 720) -> None:
        self.candidates: list[tuple[FrameScore, Image.Image]] = []
        self.max_long_side = max_long_side  # candidates are kept no larger than the biggest JPEG
        self.sampler = TimedSampler(candidate_times(duration_s, count), self._keep)

    def __call__(self, t: float, frame: av.VideoFrame) -> None:
        self.sampler(t, frame)

    def _keep(self, t: float, frame: av.VideoFrame) -> None:
        h = max(2, round(frame.height * SCORE_WIDTH / frame.width))
        gray = np.asarray(frame.reformat(SCORE_WIDTH, h, "gray").to_ndarray(), dtype=np.uint8)
        scale = min(1.0, self.max_long_side / max(frame.width, frame.height))
        if scale < 1.0:
            w, h = max(2, round(frame.width * scale)), max(2, round(frame.height * scale))
            frame = frame.reformat(w, h, interpolation="AREA")
        self.candidates.append((score_gray(t, gray), frame.to_image()))  # type: ignore[no-untyped-call]

    def write(
        self, out_dir: str | Path, sizes: Sequence[int] = (720, 240), quality: int = 85
    ) -> ThumbnailSet:
        if not self.candidates:
            raise ValueError("no frames were collected; was the collector used as a transcode tap?")
        best_score, best = max(self.candidates, key=lambda c: c[0].rank)
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        files = []
        for long_side in sorted(sizes, reverse=True):
            scale = min(1.0, long_side / max(best.size))
            w, h = max(2, round(best.width * scale)), max(2, round(best.height * scale))
            path = out / f"thumb_{long_side}.jpg"
            best.resize((w, h), Image.Resampling.LANCZOS).save(path, "JPEG", quality=quality, optimize=True)
            files.append(Thumbnail(path=str(path), long_side=long_side, width=w, height=h))
        return ThumbnailSet(
            chosen_t=best_score.t, files=tuple(files), candidates=tuple(c[0] for c in self.candidates)
        )


def make_thumbnails(
    src: str | Path,
    probe: ProbeResult,
    out_dir: str | Path,
    count: int = 8,
    sizes: Sequence[int] = (720, 240),
) -> ThumbnailSet:
    """Decode ``src`` and write its thumbnails (when no transcode pass is running to tap)."""
    collector = ThumbnailCollector(probe.duration_s, count, max(sizes))
    sample_file(src, probe, [collector.sampler])
    return collector.write(out_dir, sizes)
