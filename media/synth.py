"""Synthetic test clips: real H.264/AAC mp4 files with moving shapes and a melody, varied by seed.

Used by tests, benchmarks and ``reel up --demo``; thumbnails and fingerprints get real content to chew on.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import numpy as np
import numpy.typing as npt

__all__ = ["SAMPLE_RATE", "Pattern", "make_clip", "melody", "mux_melody"]

Pattern = Literal["shapes", "gradient", "black", "dark-start"]

_SAMPLE_RATE = 44100
SAMPLE_RATE = _SAMPLE_RATE  #: of the melody audio ``mux_melody`` writes
_SCALE = (0, 2, 4, 5, 7, 9, 11, 12)  # major scale in semitones


def melody(seconds: float, seed: int = 0, sample_rate: int = _SAMPLE_RATE) -> npt.NDArray[np.float32]:
    """A mono melody (notes of 0.25-0.5 s over a two-note chord), deterministic per ``seed``; in [-1, 1]."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    out = np.zeros(n, dtype=np.float32)
    base = 196.0 * 2 ** (rng.integers(0, 12) / 12)
    pos = 0
    while pos < n:
        length = int(sample_rate * rng.choice([0.25, 0.375, 0.5]))
        end = min(n, pos + length)
        t = np.arange(end - pos, dtype=np.float32) / sample_rate
        f1 = base * 2 ** (_SCALE[rng.integers(0, len(_SCALE))] / 12) * 2
        f2 = base * 2 ** (_SCALE[rng.integers(0, len(_SCALE))] / 12)
        env = np.minimum(1.0, t * 40) * np.exp(-2.5 * t)
        note = 0.5 * np.sin(2 * np.pi * f1 * t) + 0.3 * np.sin(2 * np.pi * f2 * t)
        note += 0.15 * np.sin(2 * np.pi * 3 * f1 * t)
        out[pos:end] = (note * env).astype(np.float32)
        pos = end
    return out


def mux_melody(out: av.container.OutputContainer, stream: av.audio.stream.AudioStream, seconds: float, *,
               seed: int = 0) -> None:
    """Encode the seed's stereo ``melody`` into the ``stream`` (AAC at the module's sample rate) and flush it."""
    mono = melody(seconds, seed=seed)
    stereo = np.stack([mono, np.roll(mono, 64) * 0.8]).astype(np.float32)
    chunk = 1024
    for k in range(math.ceil(stereo.shape[1] / chunk)):
        part = np.ascontiguousarray(stereo[:, k * chunk : (k + 1) * chunk])
        af = av.AudioFrame.from_ndarray(part, format="fltp", layout="stereo")
        af.sample_rate = _SAMPLE_RATE
        af.pts = k * chunk
        af.time_base = Fraction(1, _SAMPLE_RATE)
        out.mux(stream.encode(af))
    out.mux(stream.encode(None))


def _background(width: int, height: int, rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :, None]
    c0 = rng.uniform(30, 120, size=3).astype(np.float32)
    c1 = rng.uniform(120, 230, size=3).astype(np.float32)
    bg = c0 * (1 - y) * (1 - x * 0.5) + c1 * y * (0.5 + x * 0.5)
    # fine checker texture so frames are sharp (thumbnail scoring looks at edges)
    yy, xx = np.mgrid[0:height, 0:width]
    checker = (((yy // 16) + (xx // 16)) % 2).astype(np.float32)[:, :, None] * 24.0
    out: npt.NDArray[np.uint8] = np.clip(bg + checker, 0, 255).astype(np.uint8)
    return out


def _frame(
    i: int,
    fps: float,
    width: int,
    height: int,
    bg: npt.NDArray[np.uint8],
    shapes: list[tuple[float, float, float, float, float, npt.NDArray[np.uint8]]],
    pattern: Pattern,
) -> npt.NDArray[np.uint8]:
    t = i / fps
    if pattern == "black" or (pattern == "dark-start" and t < 1.0):
        return np.full((height, width, 3), 4, dtype=np.uint8)
    shift = int(t * 40) % 64
    img = np.roll(bg, shift, axis=1) if pattern == "gradient" else bg.copy()
    if pattern != "gradient":
        for cx, cy, vx, vy, size, colour in shapes:
            x = (cx + vx * t) % 1.0
            y = (cy + vy * t) % 1.0
            s = int(size * min(width, height))
            x0, y0 = int(x * (width - s)), int(y * (height - s))
            img[y0 : y0 + s, x0 : x0 + s] = colour
    return img


def make_clip(
    path: str | Path,
    seconds: float,
    width: int,
    height: int,
    fps: float = 30,
    audio: bool = True,
    pattern: Pattern = "shapes",
    seed: int = 0,
    preset: str = "veryfast",
    gop: int | None = None,
) -> Path:
    """Write a real H.264 (+ AAC stereo melody) mp4 of ``seconds`` at ``width`` x ``height``; return its path.

    ``pattern``: ``shapes`` (moving squares over a textured gradient), ``gradient`` (scrolling texture),
    ``black`` (all near-black) or ``dark-start`` (black first second, then shapes).
    """
    out_path = Path(path)
    rng = np.random.default_rng(seed)
    bg = _background(width, height, rng)
    shapes = [
        (
            float(rng.random()),
            float(rng.random()),
            float(rng.uniform(-0.3, 0.3)),
            float(rng.uniform(-0.3, 0.3)),
            float(rng.uniform(0.08, 0.25)),
            rng.uniform(0, 255, size=3).astype(np.uint8),
        )
        for _ in range(4)
    ]
    rate = Fraction(fps).limit_denominator(1001)
    n_frames = max(1, round(seconds * float(rate)))
    with av.open(str(out_path), "w", format="mp4") as out:
        vs = out.add_stream("libx264", rate=rate)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        vs.options = {"preset": preset, "crf": "23"}
        if gop is not None:
            vs.codec_context.gop_size = gop
        as_ = None
        if audio:
            as_ = out.add_stream("aac", rate=_SAMPLE_RATE)
            as_.layout = "stereo"
            as_.bit_rate = 128_000
        for i in range(n_frames):
            frame = av.VideoFrame.from_ndarray(
                _frame(i, float(rate), width, height, bg, shapes, pattern), "rgb24"
            )
            frame.pts = i
            frame.time_base = 1 / rate
            out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
        if as_ is not None:
            mux_melody(out, as_, seconds, seed=seed)
    return out_path
