"""One call for the pipeline: transcode + thumbnails + video pHashes in a single decode, plus the audio print.

``process_video(src, out_dir, probe)`` is what a pipeline worker runs after ``media.probe.probe`` accepted
an upload; everything it writes is under ``out_dir`` for the worker to upload to the blob store.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import msgspec

from media.fingerprint import AudioFingerprint, audio_fingerprint
from media.ladder import LadderConfig
from media.results import ProbeResult
from media.thumbnails import ThumbnailCollector, ThumbnailSet
from media.transcode import TranscodeResult, transcode
from media.vfingerprint import VideoHasher

__all__ = ["ProcessedVideo", "process_video"]


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
