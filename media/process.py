"""One call for the pipeline: transcode + thumbnails + video pHashes in a single decode, plus the audio print.

``process_video(src, out_dir, probe)`` is what a pipeline worker runs after ``media.probe.probe`` accepted
an upload; everything it writes is under ``out_dir`` for the worker to upload to the blob store.
``process_video_sandboxed`` does the same in a resource-limited child process, so a libav crash on a
crafted file becomes a ``TranscodeError`` instead of taking the caller down.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import msgspec

from media.errors import EncoderUnavailableError, TranscodeError
from media.fingerprint import AudioFingerprint, audio_fingerprint
from media.ladder import LadderConfig
from media.results import ProbeResult
from media.sandbox import SandboxLimits, run_sandboxed
from media.thumbnails import ThumbnailCollector, ThumbnailSet
from media.transcode import TranscodeResult, transcode
from media.vfingerprint import VideoHasher

__all__ = ["ProcessedVideo", "process_limits", "process_video", "process_video_sandboxed"]


class ProcessedVideo(msgspec.Struct, frozen=True, kw_only=True):
    """Everything derived from one upload: HLS ladder (under ``out_dir/hls``), thumbnails, fingerprints."""

    transcode: TranscodeResult
    thumbnails: ThumbnailSet
    audio_fingerprint: AudioFingerprint | None
    video_fingerprint: tuple[str, ...]


def process_video(
    src: str | Path,
    out_dir: str | Path,
    probe: ProbeResult,
    config: LadderConfig | None = None,
    thumbnail_sizes: Sequence[int] = (720, 240),
    thumbnail_candidates: int = 8,
    hash_interval_s: float = 1.0,
) -> ProcessedVideo:
    """Transcode ``src`` and derive thumbnails and fingerprints; raises ``media.errors.TranscodeError``."""
    out = Path(out_dir)
    thumbs = ThumbnailCollector(probe.duration_s, thumbnail_candidates, max(thumbnail_sizes))
    hasher = VideoHasher(probe.duration_s, hash_interval_s)
    result = transcode(src, out / "hls", probe, config, taps=[thumbs, hasher])
    thumbnails = thumbs.write(out / "thumbs", thumbnail_sizes)
    audio = (
        audio_fingerprint(src, probe.container, max_seconds=probe.duration_s + 1) if probe.has_audio else None
    )
    return ProcessedVideo(
        transcode=result,
        thumbnails=thumbnails,
        audio_fingerprint=audio,
        video_fingerprint=tuple(hasher.hashes),
    )


def process_limits(probe: ProbeResult) -> SandboxLimits:
    """Generous limits for one upload: time and CPU scale with its duration; output files up to 4 GiB."""
    return SandboxLimits(
        timeout_s=max(120.0, 20.0 * probe.duration_s),
        cpu_s=int(max(120.0, 20.0 * probe.duration_s)),
        address_space_bytes=6 * 1024**3,
        max_open_files=256,
        max_file_bytes=4 * 1024**3,
    )


def process_video_sandboxed(
    src: str | Path,
    out_dir: str | Path,
    probe: ProbeResult,
    config: LadderConfig | None = None,
    limits: SandboxLimits | None = None,
    thumbnail_sizes: Sequence[int] = (720, 240),
    thumbnail_candidates: int = 8,
    hash_interval_s: float = 1.0,
) -> ProcessedVideo:
    """``process_video`` in a sandboxed child; raises ``TranscodeError`` (or ``EncoderUnavailableError``)."""
    from media.process_worker import ProcessFailed, ProcessOk, ProcessRequest

    request = ProcessRequest(
        src=str(Path(src).resolve()),
        out_dir=str(Path(out_dir).resolve()),
        probe=probe,
        config=config or LadderConfig(),
        thumbnail_sizes=tuple(thumbnail_sizes),
        thumbnail_candidates=thumbnail_candidates,
        hash_interval_s=hash_interval_s,
    )
    run = run_sandboxed("media.process_worker", msgspec.json.encode(request), limits or process_limits(probe))
    if run.timed_out:
        raise TranscodeError(path=str(src), stage="processing", detail="the worker ran out of time")
    if run.signal is not None or run.returncode != 0:
        how = f"signal {run.signal}" if run.signal is not None else f"exit code {run.returncode}"
        raise TranscodeError(path=str(src), stage="processing", detail=f"the worker died ({how})")
    try:
        out = msgspec.json.decode(run.stdout, type=ProcessOk | ProcessFailed)
    except msgspec.DecodeError as exc:
        raise TranscodeError(path=str(src), stage="processing", detail="the worker answered garbage") from exc
    if isinstance(out, ProcessFailed):
        if out.kind == "encoder":
            raise EncoderUnavailableError(encoder=request.config.encoder, reason=out.detail)
        raise TranscodeError(path=str(src), stage=out.stage, detail=out.detail)
    return msgspec.json.decode(out.result, type=ProcessedVideo)
