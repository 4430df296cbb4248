"""A rung's worker thread: jobs are encoded and muxed in order, and a libav error on the thread reaches the
producer (who stops feeding) instead of hanging it or being lost."""

from __future__ import annotations

import itertools
import threading
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from media.hls import parse_media_playlist
from media.ladder import LadderConfig, plan_ladder
from media.rendition import QUEUE_DEPTH, Rendition, RenditionWorker

CONFIG = LadderConfig(encoder="libx264", preset="ultrafast")
FPS = Fraction(30)


def _rendition(out: Path) -> Rendition:
    rung = plan_ladder(320, 240, float(FPS), CONFIG)[0]
    r = Rendition(rung, out, FPS, 60, "libx264", CONFIG, None)
    r.start()
    return r


def _frame(pts: int) -> av.VideoFrame:
    img = np.full((240, 320, 3), (pts * 7) % 255, np.uint8)
    f = av.VideoFrame.from_ndarray(img, "rgb24")  # not yuv420p: the worker converts it
    f.pts, f.time_base = pts, 1 / FPS
    return f


def test_frames_are_encoded_in_order(tmp_path: Path) -> None:
    r = _rendition(tmp_path)
    w = RenditionWorker(r)
    try:
        for i in range(90):  # many times the queue's depth
            w.video(_frame(i))
        w.finish(flush=True)
    finally:
        r.container.close()
    segs = parse_media_playlist((r.dir / "index.m3u8").read_text())
    assert [round(s.duration_s, 2) for s in segs] == [2.0, 1.0]
    with av.open(str(r.dir / segs[0].uri), format="mpegts") as c:
        levels = [float(f.to_ndarray(format="gray").mean()) for f in c.decode(video=0)]
    assert len(levels) == 60
    assert all(b > a for a, b in itertools.pairwise(levels[:37]))  # brightness = 7 * frame number


def test_an_error_on_the_thread_reaches_the_producer(tmp_path: Path) -> None:
    r = _rendition(tmp_path)
    w = RenditionWorker(r)
    raised: list[BaseException] = []

    def produce() -> None:
        try:
            for _ in range(10 * QUEUE_DEPTH):
                w.video(_frame(5))  # the same pts again and again: the muxer refuses it
            w.finish(flush=True)
        except av.FFmpegError as exc:
            raised.append(exc)
            with pytest.raises(av.FFmpegError):
                w.finish(flush=False)  # still stops the thread, and says why once more

    producer = threading.Thread(target=produce)
    producer.start()
    producer.join(timeout=30)
    r.container.close()
    assert not producer.is_alive(), "the producer hung on a dead worker"
    assert raised and "Invalid argument" in str(raised[0])
