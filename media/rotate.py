"""Turn decoded frames upright by the source's display matrix, as the ffmpeg CLI's autorotate does.

PyAV's ``frame.rotation`` is in degrees counterclockwise; a test checks the result against ffmpeg.
"""

from __future__ import annotations

from fractions import Fraction

import av
from av.filter import Graph

__all__ = ["Rotator"]

_FILTERS = {90: [("transpose", "cclock")], 180: [("hflip", ""), ("vflip", "")], 270: [("transpose", "clock")]}


class Rotator:
    """``Rotator(rotation)(frame)`` returns the frame as a viewer should see it; identity for 0."""

    def __init__(self, rotation: int) -> None:
        self.rotation = rotation % 360
        self._graph: Graph | None = None
        self._push: object = None

    def _build(self, frame: av.VideoFrame) -> None:
        graph = Graph()
        node = graph.add_buffer(
            width=frame.width,
            height=frame.height,
            format=frame.format,
            time_base=frame.time_base or Fraction(1, 1000),
        )
        src = node
        for name, arg in _FILTERS[self.rotation]:
            nxt = graph.add(name, arg) if arg else graph.add(name)
            node.link_to(nxt)
            node = nxt
        sink = graph.add("buffersink")
        node.link_to(sink)
        graph.configure()
        self._graph = graph
        self._push = src

    def __call__(self, frame: av.VideoFrame) -> av.VideoFrame:
        if self.rotation not in _FILTERS:
            return frame
        if self._graph is None:
            self._build(frame)
        assert self._graph is not None
        self._graph.push(frame)
        out = self._graph.pull()
        assert isinstance(out, av.VideoFrame)
        return out
