"""Sample decoded frames at chosen times, either as a transcode frame tap or by decoding a file directly."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import av

from media.probe_worker import open_options
from media.results import ProbeResult
from media.rotate import Rotator

__all__ = ["TimedSampler", "sample_file"]


class TimedSampler:
    """A frame tap that hands ``keep(t, frame)`` the first frame at or after each of ``times`` (sorted)."""

    def __init__(self, times: Sequence[float], keep: Callable[[float, av.VideoFrame], None]) -> None:
        self.times = sorted(times)
        self.keep = keep
        self._next = 0

    def __call__(self, t: float, frame: av.VideoFrame) -> None:
        fired = False
        while self._next < len(self.times) and t >= self.times[self._next] - 1e-6:
            self._next += 1
            fired = True
        if fired:
            self.keep(t, frame)

    @property
    def done(self) -> bool:
        return self._next >= len(self.times)


def sample_file(src: str | Path, probe: ProbeResult, samplers: Sequence[TimedSampler]) -> None:
    """Decode ``src`` once (upright) and feed every sampler until all are done."""
    rotator = Rotator(probe.rotation)
    with av.open(str(src), format=probe.container, options=open_options(probe.container)) as c:
        v = c.streams.video[0]
        v.codec_context.thread_type = "AUTO"
        for i, frame in enumerate(c.decode(v)):
            t = float(frame.time) if frame.time is not None else i / probe.fps
            upright = rotator(frame)
            for s in samplers:
                s(t, upright)
            if all(s.done for s in samplers):
                break
