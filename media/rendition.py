"""One HLS rendition (scaler, H.264 encoder, muxer), fed by its own thread so the ladder's rungs overlap.

The ffmpeg CLI calls every encoder from one thread, so it waits on one rung's encoder while the others idle.
Here each rung scales, encodes and muxes on its own thread: PyAV releases the GIL in swscale, libavcodec
and the muxer, and libx264 keeps its own frame threads, so the rungs overlap instead of taking turns
(most visibly when the encoders are flushed at the end). The thread only ever touches its own rung's
objects; decoded frames are shared read-only (the caller stamps ``pts``/``pict_type`` before handing them
over), and audio packets arrive ready-encoded: the clip's audio is encoded once, not once per rung, on an
``AudioWorker`` thread, which keeps the AAC encoder off the decoding thread that feeds every rung.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from av.video.reformatter import VideoReformatter

from media.encoders import encoder_options
from media.hls import avc_codec_string
from media.ladder import LadderConfig, Rung

__all__ = ["AudioWorker", "Rendition", "RenditionWorker", "Worker"]

#: Frames (or audio packets) waiting per rung; bounds memory when one rung's encoder falls behind.
QUEUE_DEPTH = 8


class Rendition:
    """A rung's output: ``index.m3u8`` and ``seg_NNNNN.ts`` under ``out_dir/<rung name>``."""

    def __init__(
        self,
        rung: Rung,
        out_dir: Path,
        fps: Fraction,
        gop: int,
        encoder: str,
        config: LadderConfig,
        audio_rate: int | None,
    ) -> None:
        self.rung = rung
        self.dir = out_dir / rung.name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.container = av.open(
            str(self.dir / "index.m3u8"),
            "w",
            format="hls",
            options={
                "hls_time": f"{config.segment_s:g}",
                "hls_playlist_type": "vod",
                "hls_list_size": "0",
                "hls_segment_filename": str(self.dir / "seg_%05d.ts"),
                "hls_flags": "independent_segments",
                # The ffmpeg CLI's default -muxdelay (0.7 s): MPEG-TS then packs several AAC frames per PES
                # packet; without it every ~370-byte AAC frame gets its own PES, padded to whole 188-byte TS
                # packets (about 45 kbit/s more per rendition for nothing).
                "max_delay": "700000",
            },
        )
        video = self.container.add_stream(encoder, rate=fps, options=encoder_options(encoder, rung, gop, config))
        assert isinstance(video, av.VideoStream)
        self.video = video
        # PyAV defaults to slice threads; libx264 then cuts every frame into slices (bigger, slower).
        # FRAME|SLICE makes libx264 use frame threads, as the ffmpeg CLI does.
        video.codec_context.thread_type = "AUTO"
        video.width, video.height, video.pix_fmt = rung.width, rung.height, "yuv420p"
        video.codec_context.time_base = 1 / fps
        self.audio: av.AudioStream | None = None
        if audio_rate is not None:
            self.audio = self.container.add_stream("aac", rate=audio_rate)
            self.audio.layout = "stereo"
            self.audio.bit_rate = config.audio_bitrate_kbps * 1000
        self.codecs = ""
        # One scaler kept for the whole clip: ``frame.reformat`` hangs a fresh SwsContext on every decoded
        # frame (set up again for each size, with its own thread pool), which cost more CPU than the scaling.
        # One thread per scaler, as the ffmpeg CLI's scale filter.
        self.scaler = VideoReformatter()

    def start(self) -> None:
        """Open the encoders and write the header, on the caller's thread, before any worker runs."""
        self.container.start_encoding()

    def encode_video(self, frame: av.VideoFrame | None) -> None:
        """Scale (unless the frame already has this rung's size and format), encode and mux; None flushes."""
        if frame is not None and (
            (frame.width, frame.height) != (self.rung.width, self.rung.height) or frame.format.name != "yuv420p"
        ):
            scaled = self.scaler.reformat(
                frame, self.rung.width, self.rung.height, "yuv420p", interpolation="BICUBIC", threads=1
            )
            scaled.pts, scaled.time_base, scaled.pict_type = frame.pts, frame.time_base, frame.pict_type
            frame = scaled
        for pkt in self.video.encode(frame):
            if not self.codecs:
                self.codecs = avc_codec_string(self.video.codec_context.extradata or bytes(pkt))
            self.container.mux(pkt)

    def mux_audio(self, pkt: av.Packet[av.AudioStream]) -> None:
        """Mux an AAC packet encoded elsewhere (by the ladder's single audio encoder)."""
        assert self.audio is not None
        if pkt.stream is self.audio:
            self.container.mux(pkt)
            return
        copy = av.Packet(bytes(pkt))
        copy.pts, copy.dts, copy.duration, copy.time_base = pkt.pts, pkt.dts, pkt.duration, pkt.time_base
        copy.is_keyframe = pkt.is_keyframe
        copy.stream = self.audio
        self.container.mux(copy)


_DONE = object()


class Worker:
    """A thread that hands each queued job, in order, to ``handle``; ``None`` is the flush job.

    An error on the thread is kept and raised to the producer at its next ``put`` or at ``finish``; the
    thread keeps draining the queue meanwhile, so a producer never blocks on a dead worker.
    """

    def __init__(self, name: str, handle: Callable[[Any], None]) -> None:
        self.error: BaseException | None = None
        self._handle = handle
        self._jobs: queue.Queue[object] = queue.Queue(maxsize=QUEUE_DEPTH)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, job: object) -> None:
        if self.error is not None:
            raise self.error
        self._jobs.put(job)

    def finish(self, flush: bool) -> None:
        """Run the flush job (when ``flush``), stop the thread, and raise the error it hit, if any."""
        if flush:
            self.put(None)
        self._jobs.put(_DONE)
        self._thread.join()
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is _DONE:
                return
            if self.error is not None:
                continue
            try:
                self._handle(job)
            except BaseException as exc:  # handed to the producer thread, raised there
                self.error = exc


class RenditionWorker(Worker):
    """Runs ``rendition``'s scaling, encoding and muxing on a thread; jobs are taken in order."""

    def __init__(self, rendition: Rendition) -> None:
        self.rendition = rendition
        super().__init__(f"rendition-{rendition.rung.name}", self._job)

    def video(self, frame: av.VideoFrame) -> None:
        """Queue a decoded frame whose ``pts``, ``time_base`` and ``pict_type`` are already set."""
        self.put(frame)

    def audio(self, pkt: av.Packet[av.AudioStream]) -> None:
        self.put(pkt)

    def _job(self, job: object) -> None:
        if isinstance(job, av.Packet):
            self.rendition.mux_audio(job)
        else:
            assert job is None or isinstance(job, av.VideoFrame)
            self.rendition.encode_video(job)


class AudioWorker(Worker):
    """Encodes the clip's audio once, on its own thread, and hands every packet to each rung's worker."""

    def __init__(self, encoder: av.AudioStream, rungs: list[RenditionWorker]) -> None:
        self._encoder = encoder
        self._rungs = rungs
        super().__init__("audio", self._job)

    def _job(self, frame: object) -> None:
        assert frame is None or isinstance(frame, av.AudioFrame)
        for pkt in self._encoder.encode(frame):
            for w in self._rungs:
                w.audio(pkt)
