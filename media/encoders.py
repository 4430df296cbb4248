"""Pick the H.264 encoder (``h264_nvenc`` on a GPU, ``libx264`` otherwise) and its options for a rung."""

from __future__ import annotations

import functools
from fractions import Fraction
from pathlib import Path

import av

from media.errors import EncoderUnavailableError
from media.ladder import LadderConfig, Rung

__all__ = ["encoder_options", "nvenc_usable", "pick_encoder"]


@functools.cache
def nvenc_usable() -> bool:
    """True when libav has ``h264_nvenc`` and a CUDA device actually opens it."""
    if "h264_nvenc" not in av.codecs_available or not Path("/dev/nvidiactl").exists():
        return False
    try:
        ctx = av.CodecContext.create("h264_nvenc", "w")
        ctx.width, ctx.height, ctx.pix_fmt = 256, 256, "yuv420p"
        ctx.time_base = Fraction(1, 30)
        ctx.open()
    except (av.FFmpegError, ValueError, OSError):
        return False
    return True


def pick_encoder(preference: str) -> str:
    """``auto`` → nvenc when usable else libx264; an explicit name must be usable."""
    if preference == "auto":
        return "h264_nvenc" if nvenc_usable() else "libx264"
    if preference == "h264_nvenc" and not nvenc_usable():
        raise EncoderUnavailableError(encoder=preference, reason="no CUDA device or libav without NVENC")
    if preference not in av.codecs_available:
        raise EncoderUnavailableError(encoder=preference, reason="libav has no such encoder")
    return preference


def encoder_options(encoder: str, rung: Rung, gop: int, config: LadderConfig) -> dict[str, str]:
    """libav option names, so the ffmpeg CLI baseline can be given exactly the same ones."""
    common = {
        "b": f"{rung.bitrate_kbps}k",
        "maxrate": f"{rung.maxrate_kbps}k",
        "bufsize": f"{rung.bufsize_kbps}k",
        "g": str(gop),
        "keyint_min": str(gop),
    }
    if encoder == "h264_nvenc":
        return {**common, "preset": "p4", "rc": "vbr", "forced-idr": "1", "no-scenecut": "1", "bf": "2"}
    opts = {**common, "preset": config.preset, "sc_threshold": "0", "forced-idr": "1"}
    if config.threads:
        opts["threads"] = str(config.threads)
    return opts
