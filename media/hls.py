"""HLS text: parse a media playlist's segments and write the master playlist; pure."""

from __future__ import annotations

import msgspec

__all__ = [
    "MasterEntry",
    "Segment",
    "avc_codec_string",
    "master_playlist",
    "parse_media_playlist",
    "peak_bitrate",
]


class Segment(msgspec.Struct, frozen=True, kw_only=True):
    uri: str
    duration_s: float


class MasterEntry(msgspec.Struct, frozen=True, kw_only=True):
    uri: str
    bandwidth: int
    average_bandwidth: int
    width: int
    height: int
    codecs: str
    frame_rate: float


def parse_media_playlist(text: str) -> list[Segment]:
    """The segments of a media playlist, in order."""
    segs: list[Segment] = []
    pending: float | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#EXTINF:"):
            pending = float(line[len("#EXTINF:") :].split(",", 1)[0])
        elif line and not line.startswith("#") and pending is not None:
            segs.append(Segment(uri=line, duration_s=pending))
            pending = None
    return segs


def peak_bitrate(sizes_bytes: list[int], durations_s: list[float]) -> tuple[int, int]:
    """(peak, average) bits per second over segments, as BANDWIDTH / AVERAGE-BANDWIDTH want them."""
    if not sizes_bytes:
        return 0, 0
    peak = max(8 * b / max(d, 1e-3) for b, d in zip(sizes_bytes, durations_s, strict=True))
    avg = 8 * sum(sizes_bytes) / max(sum(durations_s), 1e-3)
    return int(peak), int(avg)


def avc_codec_string(annexb: bytes) -> str:
    """RFC 6381 ``avc1.PPCCLL`` from the first SPS in an Annex-B H.264 stream; ``avc1.640028`` if none."""
    i = 0
    while True:
        i = annexb.find(b"\x00\x00\x01", i)
        if i < 0 or i + 6 >= len(annexb):
            return "avc1.640028"
        nal = annexb[i + 3]
        if nal & 0x1F == 7:
            return f"avc1.{annexb[i + 4]:02x}{annexb[i + 5]:02x}{annexb[i + 6]:02x}"
        i += 3


def master_playlist(entries: list[MasterEntry]) -> str:
    """A master playlist listing every rendition, smallest first."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for e in sorted(entries, key=lambda e: e.bandwidth):
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={e.bandwidth},AVERAGE-BANDWIDTH={e.average_bandwidth},"
            f'RESOLUTION={e.width}x{e.height},FRAME-RATE={e.frame_rate:.3f},CODECS="{e.codecs}"'
        )
        lines.append(e.uri)
    return "\n".join(lines) + "\n"
