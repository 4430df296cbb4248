"""Transcode a probed upload into an H.264/AAC HLS ladder with PyAV, decoding the source once.

Every decoded frame goes to each rung's thread (``media.rendition``), which scales it once (a scaler kept
per rung), encodes and muxes it, so the rungs' encoders overlap; audio is encoded once and the same AAC
packets are muxed into every rendition; each rendition is its own ``hls`` muxer (MPEG-TS segments of
``segment_s``). Keyframes are forced at every segment boundary and the
GOP is fixed, so segments align across renditions. Frame taps see each decoded source frame (thumbnails
and fingerprints ride along without a second decode).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import msgspec
from av.video.frame import PictureType

from media.encoders import pick_encoder
from media.errors import TranscodeError
from media.hls import MasterEntry, master_playlist, parse_media_playlist, peak_bitrate
from media.ladder import LadderConfig, gop_frames, plan_ladder
from media.probe_worker import STRICT_DECODE, open_options
from media.rendition import AudioWorker, Rendition, RenditionWorker, Worker
from media.results import ProbeResult
from media.rotate import Rotator

__all__ = ["FrameTap", "RenditionOutput", "TranscodeResult", "transcode"]

FrameTap = Callable[[float, av.VideoFrame], None]
MASTER_NAME = "master.m3u8"
AUDIO_CODECS = "mp4a.40.2"


class RenditionOutput(msgspec.Struct, frozen=True, kw_only=True):
    """One rendition on disk; paths are relative to ``TranscodeResult.out_dir``."""

    name: str
    width: int
    height: int
    bitrate_kbps: int
    bandwidth: int
    average_bandwidth: int
    codecs: str
    playlist: str
    segments: tuple[str, ...]


class TranscodeResult(msgspec.Struct, frozen=True, kw_only=True):
    """The ladder: master playlist, renditions (smallest first), the encoder used, frames decoded."""

    out_dir: str
    master_playlist: str
    renditions: tuple[RenditionOutput, ...]
    encoder: str
    frames: int
    duration_s: float
    fps: float

    def files(self) -> list[str]:
        """Every file to upload, relative to ``out_dir``."""
        out = [self.master_playlist]
        for r in self.renditions:
            out.append(r.playlist)
            out.extend(f"{r.name}/{s}" for s in r.segments)
        return out


def _output(r: Rendition, out_dir: Path) -> RenditionOutput:
    playlist = r.dir / "index.m3u8"
    segs = parse_media_playlist(playlist.read_text())
    sizes = [(r.dir / s.uri).stat().st_size for s in segs]
    peak, avg = peak_bitrate(sizes, [s.duration_s for s in segs])
    codecs = f"{r.codecs or 'avc1.640028'},{AUDIO_CODECS}" if r.audio is not None else (r.codecs or "avc1.640028")
    return RenditionOutput(
        name=r.rung.name,
        width=r.rung.width,
        height=r.rung.height,
        bitrate_kbps=r.rung.bitrate_kbps,
        bandwidth=peak,
        average_bandwidth=avg,
        codecs=codecs,
        playlist=str(playlist.relative_to(out_dir)),
        segments=tuple(s.uri for s in segs),
    )


def transcode(
    src: str | Path,
    out_dir: str | Path,
    probe: ProbeResult,
    config: LadderConfig | None = None,
    taps: Sequence[FrameTap] = (),
) -> TranscodeResult:
    """Write the HLS ladder for ``src`` (already accepted by ``media.probe.probe``) under ``out_dir``."""
    config = config or LadderConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    encoder = pick_encoder(config.encoder)
    fps = Fraction(min(probe.fps, config.max_fps)).limit_denominator(1001)
    rungs = plan_ladder(probe.display_width, probe.display_height, float(fps), config)
    gop = gop_frames(float(fps), config.segment_s)
    try:
        src_c = av.open(str(src), format=probe.container, options=open_options(probe.container))
    except (av.FFmpegError, OSError) as exc:
        raise TranscodeError(path=str(src), stage="opening", detail=str(exc)) from exc
    frames = 0
    with src_c:
        vin = src_c.streams.video[0]
        vin.codec_context.thread_type = "AUTO"
        ain = src_c.streams.audio[0] if src_c.streams.audio else None
        if config.strict_decode:
            for s in (vin, ain):
                if s is not None:
                    s.codec_context.options = dict(STRICT_DECODE)
        arate = None
        if ain is not None:
            arate = ain.codec_context.sample_rate if ain.codec_context.sample_rate in (44100, 48000) else 48000
        rends = [Rendition(r, out, fps, gop, encoder, config, arate) for r in rungs]
        audio_enc = rends[0].audio
        workers: list[RenditionWorker] = []
        audio: AudioWorker | None = None
        rotator = Rotator(probe.rotation)
        next_key = 0.0
        last_pts = -(2**62)
        decoded = 0
        ok = False
        try:
            for r in rends:
                r.start()
            workers = [RenditionWorker(r) for r in rends]
            audio = AudioWorker(audio_enc, workers) if audio_enc is not None else None
            for packet in src_c.demux(*(s for s in (vin, ain) if s is not None)):
                for frame in packet.decode():
                    if isinstance(frame, av.AudioFrame):
                        frame.pts = None  # let the encoder count samples
                        if audio is not None:
                            audio.put(frame)
                        continue
                    assert isinstance(frame, av.VideoFrame)
                    t = float(frame.time) if frame.time is not None else decoded / float(fps)
                    decoded += 1
                    upright = rotator(frame)
                    for tap in taps:
                        tap(t, upright)
                    pts = math.floor(t * fps + 1e-3)
                    if pts <= last_pts:
                        continue  # above the output rate (or a duplicate timestamp): drop, as ffmpeg -r does
                    last_pts = pts
                    key = t >= next_key - 0.5 / float(fps)
                    while next_key <= t + 0.5 / float(fps):
                        next_key += config.segment_s
                    # Stamped here, once, before the rungs' threads see the (shared, read-only) frame.
                    upright.pts, upright.time_base = pts, 1 / fps
                    upright.pict_type = PictureType.I if key else PictureType.NONE
                    for w in workers:
                        w.video(upright)
                    frames += 1
            ok = True
        except av.FFmpegError as exc:
            raise TranscodeError(path=str(src), stage="encoding", detail=str(exc)) from exc
        finally:
            try:
                errors: list[BaseException] = []
                stopping: list[Worker] = [audio] if audio is not None else []
                for worker in [*stopping, *workers]:  # the audio first: its flush still feeds the rungs
                    try:
                        worker.finish(flush=ok)
                    except BaseException as exc:  # the first one is raised below
                        errors.append(exc)
            finally:
                for r in rends:
                    r.container.close()
            if errors and ok:
                first = errors[0]
                if isinstance(first, av.FFmpegError):
                    raise TranscodeError(path=str(src), stage="encoding", detail=str(first)) from first
                raise first
    outputs = [_output(r, out) for r in rends]
    entries = [
        MasterEntry(
            uri=o.playlist,
            bandwidth=o.bandwidth,
            average_bandwidth=o.average_bandwidth,
            width=o.width,
            height=o.height,
            codecs=o.codecs,
            frame_rate=float(fps),
        )
        for o in outputs
    ]
    (out / MASTER_NAME).write_text(master_playlist(entries))
    return TranscodeResult(
        out_dir=str(out),
        master_playlist=MASTER_NAME,
        renditions=tuple(outputs),
        encoder=encoder,
        frames=frames,
        duration_s=probe.duration_s,
        fps=float(fps),
    )
