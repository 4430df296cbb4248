"""The HLS bitrate ladder, planned from the probed display size; pure.

Rungs are named by the short side (a 720x1280 vertical clip tops out at "720p"), never upscale, keep the
aspect ratio with even dimensions, and share one fixed GOP so keyframes align across renditions.
"""

from __future__ import annotations

import math

import msgspec

__all__ = ["DEFAULT_RUNGS", "LadderConfig", "Rung", "gop_frames", "plan_ladder"]

#: short side → video bitrate (kbit/s) at 30 fps; scaled up a little for higher frame rates.
DEFAULT_RUNGS: dict[int, int] = {360: 800, 540: 1600, 720: 2800, 1080: 5000}


class LadderConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Ladder shape and encoder settings shared by our transcoder and the ffmpeg CLI baseline."""

    rungs: dict[int, int] = msgspec.field(default_factory=lambda: dict(DEFAULT_RUNGS))
    segment_s: float = 2.0
    audio_bitrate_kbps: int = 128
    maxrate_factor: float = 1.1
    bufsize_factor: float = 2.0
    encoder: str = "auto"  # "auto" | "libx264" | "h264_nvenc"
    preset: str = "veryfast"
    threads: int = 0  # per encoder; 0 lets libx264 decide
    max_fps: float = 60.0
    strict_decode: bool = True  # a bitstream error in the source fails the transcode instead of concealing


class Rung(msgspec.Struct, frozen=True, kw_only=True):
    """One rendition: its name ("720p"), output size and rate control in kbit/s."""

    name: str
    width: int
    height: int
    bitrate_kbps: int
    maxrate_kbps: int
    bufsize_kbps: int


def _even(x: float) -> int:
    return max(2, round(x / 2) * 2)


def gop_frames(fps: float, segment_s: float) -> int:
    """Frames per GOP so every segment starts on a keyframe."""
    return max(1, round(fps * segment_s))


def plan_ladder(display_width: int, display_height: int, fps: float, config: LadderConfig) -> list[Rung]:
    """The rungs for a source of this displayed size, smallest first; at least one rung."""
    short = min(display_width, display_height)
    long_ = max(display_width, display_height)
    vertical = display_height > display_width
    wanted = sorted(r for r in config.rungs if r <= short)
    fps_scale = 1.0 if fps <= 30.5 else math.sqrt(fps / 30.0)
    if not wanted:  # tiny source: one rung at its own size (rounded down to even)
        wanted = [max(2, short // 2 * 2)]
    out: list[Rung] = []
    for rung in wanted:
        s = _even(rung)
        lng = min(_even(long_ * s / short), max(2, long_ // 2 * 2))
        w, h = (s, lng) if vertical else (lng, s)
        base = config.rungs.get(rung) or min(config.rungs.values()) * rung / min(config.rungs)
        kbps = int(base * fps_scale)
        out.append(
            Rung(
                name=f"{rung}p",
                width=w,
                height=h,
                bitrate_kbps=kbps,
                maxrate_kbps=int(kbps * config.maxrate_factor),
                bufsize_kbps=int(kbps * config.bufsize_factor),
            )
        )
    return out
