"""The transcode benchmark's ffmpeg CLI reference makes the same ladder as ours: same rungs, segments, x264
settings (read back from each stream's x264 SEI), keyframes, AAC audio packed the same way into MPEG-TS."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path

import av
import pytest

from bench.transcode import ffmpeg_ladder_command, ffmpeg_ladder_dirs
from media.hls import parse_media_playlist
from media.ladder import LadderConfig
from media.probe import probe
from media.results import ProbeResult
from media.synth import make_clip
from media.transcode import TranscodeResult, transcode

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the Debian ffmpeg CLI")

CONFIG = LadderConfig(encoder="libx264", preset="ultrafast")
TS_PACKET = 188


def _x264_options(segment: Path) -> str:
    """The ``options: ...`` string libx264 writes into its SEI, read from the segment's H.264 stream."""
    with av.open(str(segment), format="mpegts") as c:
        for pkt in c.demux(c.streams.video[0]):
            data = bytes(pkt)
            at = data.find(b"options: ")
            if at >= 0:
                return data[at : data.index(b"\x00", at)].decode()
    raise AssertionError(f"no x264 SEI in {segment}")


def _pes_starts(segment: Path) -> Counter[int]:
    """PES packets started per PID (TS packets with payload_unit_start_indicator)."""
    data = segment.read_bytes()
    starts: Counter[int] = Counter()
    for i in range(0, len(data) - TS_PACKET + 1, TS_PACKET):
        if data[i + 1] & 0x40:
            starts[((data[i + 1] & 0x1F) << 8) | data[i + 2]] += 1
    return starts


def _keyframes(rung_dir: Path, segments: tuple[str, ...]) -> list[list[int]]:
    """Per segment, its keyframes' pts (90 kHz) counted from the rendition's first frame."""
    out: list[list[int]] = []
    base: int | None = None
    for seg in segments:
        with av.open(str(rung_dir / seg), format="mpegts") as c:
            pts = [(p.pts, p.is_keyframe) for p in c.demux(c.streams.video[0]) if p.size and p.pts is not None]
        base = min(t for t, _ in pts) if base is None else base
        out.append([t - base for t, key in pts if key])
    return out


@pytest.fixture(scope="module")
def ladders(tmp_path_factory: pytest.TempPathFactory) -> tuple[TranscodeResult, Path]:
    d = tmp_path_factory.mktemp("bench-ref")
    src = make_clip(d / "src.mp4", 5, 960, 540, fps=30, audio=True, preset="ultrafast", seed=21)
    pr = probe(src)
    assert isinstance(pr, ProbeResult), pr
    ours = transcode(src, d / "ours", pr, CONFIG)
    cli = d / "cli"
    for rung_dir in ffmpeg_ladder_dirs(cli, pr, CONFIG):
        rung_dir.mkdir(parents=True)
    cmd = ffmpeg_ladder_command(src, cli, pr, CONFIG)
    assert cmd.count("0:a:0") == 1  # the audio is encoded once, as ours
    subprocess.run(cmd, check=True)
    return ours, cli


def test_same_rungs_and_segments(ladders: tuple[TranscodeResult, Path]) -> None:
    ours, cli = ladders
    assert [r.name for r in ours.renditions] == ["360p", "540p"]
    for r in ours.renditions:
        theirs = parse_media_playlist((cli / r.name / "index.m3u8").read_text())
        assert [s.uri for s in theirs] == list(r.segments)
        for seg in r.segments:
            with av.open(str(cli / r.name / seg), format="mpegts") as c:
                v = c.streams.video[0]
                assert (v.codec_context.width, v.codec_context.height) == (r.width, r.height)
                assert [s.codec_context.name for s in c.streams.audio] == ["aac"]


def test_same_x264_settings_and_keyframes(ladders: tuple[TranscodeResult, Path]) -> None:
    ours, cli = ladders
    out = Path(ours.out_dir)
    for r in ours.renditions:
        first = r.segments[0]
        assert _x264_options(out / r.name / first) == _x264_options(cli / r.name / first)
        assert f"bitrate={r.bitrate_kbps}" in _x264_options(out / r.name / first)
        keys = _keyframes(out / r.name, r.segments)
        assert keys == _keyframes(cli / r.name, r.segments)
        assert keys == [[i * 2 * 90000] for i in range(len(r.segments))]  # one IDR every 2 s


def test_audio_packed_alike_in_mpegts(ladders: tuple[TranscodeResult, Path]) -> None:
    """Both mux with a 0.7 s delay, so several AAC frames share one PES packet (no per-frame TS padding)."""
    ours, cli = ladders
    out = Path(ours.out_dir)
    for r in ours.renditions:
        for seg in r.segments:
            with av.open(str(out / r.name / seg), format="mpegts") as c:
                audio_pid = c.streams.audio[0].id
                aac_frames = sum(1 for p in c.demux(c.streams.audio[0]) if p.size)
            mine, theirs = _pes_starts(out / r.name / seg)[audio_pid], _pes_starts(cli / r.name / seg)[audio_pid]
            assert mine <= aac_frames / 4
            assert abs(mine - theirs) <= 2
