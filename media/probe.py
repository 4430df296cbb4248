"""Probe an upload: sniff the container ourselves, read it in a sandboxed child, judge it by ``ProbeLimits``.

``probe(path)`` never raises for the file's sake: it returns a ``ProbeResult`` or a ``Rejection`` with a
reason code. ``evaluate`` is the pure policy, unit-tested apart from any IO.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from media.probe_worker import ProbeRequest
from media.results import ProbeFacts, ProbeLimits, ProbeOutcome, ProbeResult, Rejection, WorkerFailure
from media.sandbox import SandboxLimits, run_sandboxed
from media.sniff import bmff_top_level_problem, sniff_file

__all__ = ["display_size", "evaluate", "probe"]

WORKER_MODULE = "media.probe_worker"


def display_size(width: int, height: int, rotation: int) -> tuple[int, int]:
    """The size a viewer sees once the display matrix rotation is applied."""
    return (height, width) if rotation % 180 in (90, -90) else (width, height)


def evaluate(facts: ProbeFacts, limits: ProbeLimits) -> ProbeOutcome:
    """Accept or reject what the worker saw; pure."""
    if facts.video_streams == 0 or facts.video_codec is None:
        what = "an audio-only file" if facts.audio_streams else "a file without streams"
        return Rejection(reason_code="no_video_stream", message=f"This is {what}; upload a video.")
    width = max(facts.width, facts.decoded_width)
    height = max(facts.height, facts.decoded_height)
    long_side, short_side = max(width, height), min(width, height)
    if long_side > limits.max_long_side or short_side > limits.max_short_side:
        return Rejection(
            reason_code="too_large",
            message=f"The video is {width}x{height}; the largest accepted is "
            f"{limits.max_long_side}x{limits.max_short_side} (4K) in either orientation. Export it smaller.",
        )
    if facts.decoded_frames == 0 or width == 0 or height == 0:
        detail = f" ({facts.decode_error})" if facts.decode_error else ""
        return Rejection(
            reason_code="undecodable",
            message=f"The video stream could not be decoded{detail}; re-export the file and retry.",
        )
    damage = _damage(facts)
    if damage:
        return Rejection(
            reason_code="undecodable", message=f"The file is damaged ({damage}); export or upload it again."
        )
    fps = facts.fps
    if fps is None or not (limits.min_fps <= fps <= limits.max_fps):
        shown = "unknown" if fps is None else f"{fps:.3g}"
        return Rejection(
            reason_code="bad_frame_rate",
            message=f"The frame rate is {shown} fps; accepted is {limits.min_fps:g} to "
            f"{limits.max_fps:g} fps.",
        )
    known = [d for d in (facts.duration_s, facts.video_duration_s) if d is not None and d > 0]
    if not known:
        return Rejection(
            reason_code="undecodable", message="The video has no readable duration; re-export it."
        )
    duration = max(known)
    if duration > limits.max_duration_s:
        return Rejection(
            reason_code="too_long",
            message=f"The video is {duration:.1f} s long; the longest accepted is "
            f"{limits.max_duration_s:g} s. Trim it.",
        )
    if duration < limits.min_duration_s:
        return Rejection(
            reason_code="too_short",
            message=f"The video is {duration:.2f} s long; the shortest accepted is "
            f"{limits.min_duration_s:g} s.",
        )
    rotation = facts.rotation % 360
    dw, dh = display_size(width, height, rotation)
    return ProbeResult(
        container=facts.container,
        duration_s=duration,
        width=width,
        height=height,
        display_width=dw,
        display_height=dh,
        rotation=rotation,
        fps=fps,
        video_codec=facts.video_codec,
        has_audio=facts.audio_streams > 0,
        audio_codec=facts.audio_codec,
        audio_sample_rate=facts.audio_sample_rate,
        audio_channels=facts.audio_channels,
    )


def _damage(facts: ProbeFacts) -> str | None:
    if facts.decode_error:
        return f"video: {facts.decode_error}"
    if facts.audio_decode_error:
        return f"audio: {facts.audio_decode_error}"
    if facts.truncated:
        return "truncated: its index points past the end of the file"
    if facts.container == "mov" and facts.indexed_packets and facts.video_packets < facts.indexed_packets:
        return f"truncated: {facts.video_packets} of {facts.indexed_packets} video frames present"
    declared = facts.video_duration_s or facts.duration_s
    if declared and facts.last_video_time_s is not None and facts.last_video_time_s < 0.9 * declared - 0.5:
        return f"truncated: video stops at {facts.last_video_time_s:.1f} s of {declared:.1f} s"
    return None


def _sandbox_limits(limits: ProbeLimits) -> SandboxLimits:
    return SandboxLimits(
        timeout_s=limits.timeout_s,
        cpu_s=limits.cpu_s,
        address_space_bytes=limits.address_space_bytes,
        max_open_files=limits.max_open_files,
    )


def probe(path: str | Path, limits: ProbeLimits | None = None) -> ProbeOutcome:
    """Probe ``path`` (a local file in the blob store's working area) in a sandboxed child process."""
    limits = limits or ProbeLimits()
    sniffed = sniff_file(path)
    if sniffed.format is None:
        return Rejection(
            reason_code="not_video",
            message=f"This is {sniffed.looks_like}, not an MP4/MOV or WebM/MKV video.",
        )
    if sniffed.format == "mov":
        with open(path, "rb") as fh:
            problem = bmff_top_level_problem(fh, os.fstat(fh.fileno()).st_size)
        if problem:
            return Rejection(
                reason_code="undecodable", message=f"The file is damaged: {problem}. Upload it again."
            )
    request = ProbeRequest(
        path=str(Path(path).resolve()),
        format=sniffed.format,
        decode_frames=limits.decode_frames,
        full_decode_pixels=limits.full_decode_pixels,
    )
    run = run_sandboxed(WORKER_MODULE, msgspec.json.encode(request), _sandbox_limits(limits))
    if run.timed_out:
        return Rejection(
            reason_code="timed_out",
            message=f"Reading the video took longer than {limits.timeout_s:g} s; re-export it.",
        )
    if run.signal is not None or run.returncode != 0:
        how = f"signal {run.signal}" if run.signal is not None else f"exit code {run.returncode}"
        return Rejection(
            reason_code="worker_crashed",
            message=f"The video could not be read safely (reader stopped by {how}); re-export it.",
        )
    try:
        out = msgspec.json.decode(run.stdout, type=ProbeFacts | WorkerFailure)
    except msgspec.DecodeError:
        return Rejection(
            reason_code="worker_crashed", message="The video reader returned garbage; re-export it."
        )
    if isinstance(out, WorkerFailure):
        return Rejection(reason_code=out.code, message=f"This file is not a readable video: {out.message}")
    return evaluate(out, limits)
