"""Typed results of probing: ``ProbeFacts`` (what the worker saw), ``ProbeResult`` (accepted), ``Rejection``.

msgspec Structs, so they cross the sandbox boundary as JSON and can be embedded in events.
"""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = [
    "ProbeFacts",
    "ProbeLimits",
    "ProbeOutcome",
    "ProbeResult",
    "ReasonCode",
    "Rejection",
    "WorkerFailure",
]

ReasonCode = Literal[
    "not_video",
    "no_video_stream",
    "too_short",
    "too_long",
    "too_large",
    "bad_frame_rate",
    "undecodable",
    "worker_crashed",
    "timed_out",
]


class ProbeLimits(msgspec.Struct, frozen=True, kw_only=True):
    """What an upload may be, and what the sandboxed probe may spend finding out."""

    min_duration_s: float = 1.0
    max_duration_s: float = 600.0
    max_long_side: int = 3840
    max_short_side: int = 2160
    min_fps: float = 1.0
    max_fps: float = 240.0
    decode_frames: int = 8
    #: Sources up to this many pixel-frames (width x height x frames) are decoded in full, strictly;
    #: larger ones get their first frames and every keyframe decoded. ~18 s of 720p30 by default.
    full_decode_pixels: int = 500_000_000
    timeout_s: float = 20.0
    cpu_s: int = 15
    address_space_bytes: int = 1536 * 1024 * 1024
    max_open_files: int = 64


class ProbeFacts(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """Everything the sandboxed worker read from the container and the first decoded frames."""

    container: str
    duration_s: float | None
    video_streams: int
    audio_streams: int
    video_codec: str | None = None
    width: int = 0
    height: int = 0
    fps: float | None = None
    video_duration_s: float | None = None
    decoded_frames: int = 0
    decoded_width: int = 0
    decoded_height: int = 0
    rotation: int = 0
    decode_error: str | None = None
    full_decode: bool = False
    video_packets: int = 0
    indexed_packets: int = 0
    last_video_time_s: float | None = None
    truncated: bool = False
    audio_decode_error: str | None = None
    audio_codec: str | None = None
    audio_sample_rate: int | None = None
    audio_channels: int | None = None


class WorkerFailure(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """The worker could not even open the file as the container we named."""

    code: Literal["not_video", "undecodable"]
    message: str


class ProbeResult(msgspec.Struct, frozen=True, kw_only=True):
    """An accepted upload. ``display_*`` is the size after rotation (what a viewer sees)."""

    container: str
    duration_s: float
    width: int
    height: int
    display_width: int
    display_height: int
    rotation: int
    fps: float
    video_codec: str
    has_audio: bool
    audio_codec: str | None = None
    audio_sample_rate: int | None = None
    audio_channels: int | None = None

    @property
    def short_side(self) -> int:
        return min(self.width, self.height)

    @property
    def vertical(self) -> bool:
        return self.display_height > self.display_width


class Rejection(msgspec.Struct, frozen=True, kw_only=True):
    """A refused upload: a stable ``reason_code`` for machines and a ``message`` for the creator."""

    reason_code: ReasonCode
    message: str


ProbeOutcome = ProbeResult | Rejection
