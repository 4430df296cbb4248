"""Keyframes for the image model: decoded from a video file or from a rendition's HLS segments.

The pipeline's renditions have a keyframe at every 2 s segment boundary, so the first frame of each
segment is a keyframe and decoding it costs one intra frame: ``keyframes_from_hls`` takes up to
``max_frames`` segments spread over the video (from the lowest rendition) and decodes only that frame.
``keyframes_from_file`` decodes only key frames (``skip_frame=NONKEY``) of a file and spreads the pick.
Frames are scaled so their long side is ``side`` px (the detector's input is 320x320).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np

from blobs import BlobStore
from events.schema import Rendition, VideoTranscoded
from media.hls import parse_media_playlist

from .inputs import Frame

__all__ = ["keyframes_from_file", "keyframes_from_hls", "lowest_rendition", "spread"]


def spread(n: int, k: int) -> list[int]:
    """``k`` indices spread evenly over ``range(n)`` (all of them when ``n <= k``); pure."""
    if n <= k:
        return list(range(n))
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)}) if k > 1 else [n // 2]


def _scaled(frame: av.VideoFrame, side: int) -> np.ndarray:
    w, h = frame.width, frame.height
    scale = min(1.0, side / max(w, h))
    tw, th = max(2, int(w * scale) // 2 * 2), max(2, int(h * scale) // 2 * 2)
    return frame.reformat(tw, th, "rgb24").to_ndarray()


def keyframes_from_file(src: str | Path | bytes, max_frames: int = 8, side: int = 320) -> tuple[Frame, ...]:
    """Up to ``max_frames`` key frames of ``src`` (a path, or the bytes of a file), evenly spread."""
    source: str | io.BytesIO = io.BytesIO(src) if isinstance(src, bytes) else str(src)
    frames: list[tuple[float, av.VideoFrame]] = []
    with av.open(source, "r") as c:
        if not c.streams.video:
            return ()
        stream = c.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        for i, frame in enumerate(c.decode(stream)):
            frames.append((float(frame.time) if frame.time is not None else float(i), frame))
    return tuple(
        Frame.from_array(frames[i][0], _scaled(frames[i][1], side)) for i in spread(len(frames), max_frames)
    )


def lowest_rendition(renditions: Sequence[Rendition]) -> Rendition | None:
    return min(renditions, key=lambda r: (r.height, r.bitrate_kbps), default=None)


def _first_frame(data: bytes, side: int) -> np.ndarray | None:
    with av.open(io.BytesIO(data), "r", format="mpegts") as c:
        if not c.streams.video:
            return None
        stream = c.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        for frame in c.decode(stream):
            return _scaled(frame, side)
    return None


def keyframes_from_hls(
    store: BlobStore, video: VideoTranscoded, max_frames: int = 8, side: int = 320
) -> tuple[Frame, ...]:
    """The first (key) frame of up to ``max_frames`` segments of the lowest rendition, evenly spread."""
    rendition = lowest_rendition(video.renditions)
    if rendition is None:
        return ()
    segments = parse_media_playlist(store.get(rendition.playlist_key).decode("utf-8", "replace"))
    base = rendition.playlist_key.rsplit("/", 1)[0]
    starts = np.cumsum([0.0] + [s.duration_s for s in segments])
    out: list[Frame] = []
    for i in spread(len(segments), max_frames):
        rgb = _first_frame(store.get(f"{base}/{segments[i].uri}"), side)
        if rgb is not None:
            out.append(Frame.from_array(float(starts[i]), rgb))
    return tuple(out)
