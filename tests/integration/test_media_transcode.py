"""Transcode real generated clips to the HLS ladder: playlists, aligned keyframes, decodable segments,
aspect ratio, rotation (against the ffmpeg CLI's autorotate), thumbnails and pHashes from the same pass."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import av
import msgspec
import numpy as np
import pytest
from PIL import Image

from media.hls import parse_media_playlist
from media.ladder import LadderConfig
from media.probe import probe
from media.results import ProbeResult
from media.rotate import Rotator
from media.synth import make_clip
from media.thumbnails import ThumbnailCollector, ThumbnailSet
from media.transcode import TranscodeResult, transcode
from media.vfingerprint import VideoHasher, is_near_duplicate, video_distance, video_fingerprint

CONFIG = LadderConfig(encoder="libx264", preset="ultrafast")


def accepted(path: Path) -> ProbeResult:
    got = probe(path)
    assert isinstance(got, ProbeResult), got
    return got


class Run:
    def __init__(self, src: Path, out: Path, seconds: float) -> None:
        self.src, self.probe = src, accepted(src)
        self.thumbs = ThumbnailCollector(self.probe.duration_s)
        self.hasher = VideoHasher(self.probe.duration_s)
        self.result: TranscodeResult = transcode(
            src, out / "hls", self.probe, CONFIG, taps=[self.thumbs, self.hasher]
        )
        self.thumbnails: ThumbnailSet = self.thumbs.write(out / "thumbs")
        self.seconds = seconds


@pytest.fixture(scope="module")
def vertical(tmp_path_factory: pytest.TempPathFactory) -> Run:
    d = tmp_path_factory.mktemp("vertical")
    src = make_clip(d / "src.mp4", 15, 720, 1280, fps=30, audio=True, preset="ultrafast", seed=11)
    return Run(src, d, 15)


@pytest.fixture(scope="module")
def horizontal(tmp_path_factory: pytest.TempPathFactory) -> Run:
    d = tmp_path_factory.mktemp("horizontal")
    src = make_clip(
        d / "src.mp4", 5, 960, 540, fps=25, audio=True, preset="ultrafast", seed=12, pattern="dark-start"
    )
    return Run(src, d, 5)


def test_vertical_ladder_shape(vertical: Run) -> None:
    r = vertical.result
    assert [(x.name, x.width, x.height) for x in r.renditions] == [
        ("360p", 360, 640),
        ("540p", 540, 960),
        ("720p", 720, 1280),
    ]
    assert r.frames == 450 and r.encoder == "libx264"
    for x in r.renditions:
        assert len(x.segments) == 8  # 15 s in 2 s segments
        assert x.codecs.startswith("avc1.") and x.codecs.endswith(",mp4a.40.2")
        assert x.bandwidth >= x.average_bandwidth > 0


def test_master_playlist(vertical: Run) -> None:
    out = Path(vertical.result.out_dir)
    text = (out / vertical.result.master_playlist).read_text()
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    infs = [ln for ln in lines if ln.startswith("#EXT-X-STREAM-INF:")]
    assert len(infs) == 3
    for x in vertical.result.renditions:
        assert f"RESOLUTION={x.width}x{x.height}" in text and f"BANDWIDTH={x.bandwidth}," in text
        assert x.playlist in lines
        assert (out / x.playlist).exists()
    for f in vertical.result.files():
        assert (out / f).is_file()


def _segment_report(path: Path) -> tuple[bool, list[float], int, int, tuple[int, int]]:
    """(first video packet is a keyframe, keyframe times, video frames, audio samples, frame size)."""
    keys: list[float] = []
    first_key = None
    vframes = aframes = 0
    size = (0, 0)
    with av.open(str(path), format="mpegts") as c:
        assert c.streams.video and c.streams.audio
        for pkt in c.demux():
            if pkt.size == 0:
                continue
            if pkt.stream.type == "video":
                if first_key is None:
                    first_key = pkt.is_keyframe
                if pkt.is_keyframe:
                    keys.append(float(pkt.pts * pkt.time_base))
            for frame in pkt.decode():
                if isinstance(frame, av.VideoFrame):
                    vframes += 1
                    size = (frame.width, frame.height)
                else:
                    aframes += frame.samples
    return bool(first_key), keys, vframes, aframes, size


@pytest.mark.parametrize("which", ["vertical", "horizontal"])
def test_every_segment_decodes_and_starts_on_an_aligned_keyframe(
    which: str, request: pytest.FixtureRequest
) -> None:
    run: Run = request.getfixturevalue(which)
    out = Path(run.result.out_dir)
    keyframe_times: dict[str, list[float]] = {}
    for x in run.result.renditions:
        playlist = out / x.playlist
        segs = parse_media_playlist(playlist.read_text())
        assert [s.uri for s in segs] == list(x.segments)
        total = samples = 0
        times: list[float] = []
        for s in segs[:-1]:
            assert abs(s.duration_s - 2.0) < 0.05
        for s in segs:
            starts_key, keys, vframes, aframes, size = _segment_report(playlist.parent / s.uri)
            assert starts_key, f"{x.name}/{s.uri} does not start on a keyframe"
            assert vframes > 0 and aframes > 0
            assert size == (x.width, x.height)
            total += vframes
            samples += aframes
            times.extend(keys)
        assert total == run.result.frames
        assert abs(samples / 44100 - run.seconds) < 0.1  # the whole soundtrack in every rendition
        keyframe_times[x.name] = [round(t - times[0], 3) for t in times]
    reference = next(iter(keyframe_times.values()))
    assert all(v == reference for v in keyframe_times.values()), keyframe_times
    assert reference == [round(2.0 * k, 3) for k in range(len(reference))]


def test_horizontal_aspect_ratio_kept(horizontal: Run) -> None:
    assert [(x.name, x.width, x.height) for x in horizontal.result.renditions] == [
        ("360p", 640, 360),
        ("540p", 960, 540),
    ]
    for x in horizontal.result.renditions:
        assert abs(x.width / x.height - 960 / 540) < 0.01


def test_thumbnails(vertical: Run, horizontal: Run) -> None:
    for run in (vertical, horizontal):
        t = run.thumbnails
        assert len(t.candidates) == 8
        assert [f.long_side for f in t.files] == [720, 240]
        for f in t.files:
            with Image.open(f.path) as img:
                assert img.format == "JPEG" and max(img.size) <= f.long_side
                assert (
                    abs(img.size[0] / img.size[1] - run.probe.display_width / run.probe.display_height) < 0.02
                )
    # the horizontal clip starts black: that candidate is unusable and never chosen
    first = horizontal.thumbnails.candidates[0]
    assert first.t < 1.0 and not first.usable
    assert horizontal.thumbnails.chosen_t >= 1.0


def test_video_fingerprint_survives_transcoding(vertical: Run, horizontal: Run) -> None:
    hashes = vertical.hasher.hashes
    assert len(hashes) == 15
    rung = vertical.result.renditions[0]
    low = Path(vertical.result.out_dir) / rung.playlist
    # the 360p rendition, read back through its playlist, is a near-duplicate of the source
    with av.open(str(low), format="hls", options={"protocol_whitelist": "file"}) as c:
        v = c.streams.video[0]
        start = None
        again = VideoHasher(15.0)
        for frame in c.decode(v):
            start = frame.time if start is None else start
            again(float(frame.time - start), frame)
    assert video_distance(hashes, again.hashes) < 0.1
    assert is_near_duplicate(hashes, again.hashes)
    assert not is_near_duplicate(hashes, horizontal.hasher.hashes)
    assert video_fingerprint(vertical.src, vertical.probe) == tuple(hashes)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the Debian ffmpeg CLI")
@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_rotation_matches_ffmpeg_autorotate(rotate: int, tmp_path: Path) -> None:
    src = tmp_path / "corner.mp4"
    with av.open(str(src), "w") as out:
        s = out.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 320, 180, "yuv420p"
        img = np.zeros((180, 320, 3), np.uint8)
        img[:60, :80] = (255, 0, 0)
        for i in range(20):
            frame = av.VideoFrame.from_ndarray(img, "rgb24")
            frame.pts = i
            out.mux(s.encode(frame))
        out.mux(s.encode(None))
    rotated = tmp_path / "rotated.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-i",
            str(src),
            "-c",
            "copy",
            "-metadata:s:v:0",
            f"rotate={rotate}",
            str(rotated),
        ],
        check=True,
    )
    p = accepted(rotated)
    raw = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(rotated),
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
        check=True,
        capture_output=True,
    ).stdout
    theirs = np.frombuffer(raw, np.uint8).reshape(p.display_height, p.display_width, 3)
    with av.open(str(rotated)) as c:
        ours = Rotator(p.rotation)(next(c.decode(video=0))).to_ndarray(format="rgb24")
    assert ours.shape == theirs.shape
    assert np.abs(ours.astype(int) - theirs.astype(int)).mean() < 8
    result = transcode(rotated, tmp_path / "hls", p, CONFIG)
    assert (result.renditions[0].width, result.renditions[0].height) == (p.display_width, p.display_height)


def test_process_video_does_everything_in_one_call(tmp_path: Path) -> None:
    from media.process import process_video

    src = make_clip(tmp_path / "src.mp4", 4, 480, 854, fps=30, audio=True, preset="ultrafast", seed=3)
    p = accepted(src)
    done = process_video(src, tmp_path / "out", p, CONFIG)
    assert [x.name for x in done.transcode.renditions] == ["360p"]
    assert all((Path(done.transcode.out_dir) / f).is_file() for f in done.transcode.files())
    assert [Path(f.path).is_file() for f in done.thumbnails.files] == [True, True]
    assert done.audio_fingerprint is not None and 3.5 < done.audio_fingerprint.duration_s < 4.5
    assert len(done.video_fingerprint) == 4


def _write(path: Path, fmt: str, vcodec: str, acodec: str, rate: int, seconds: float = 3.0) -> Path:
    with av.open(str(path), "w", format=fmt) as out:
        v = out.add_stream(vcodec, rate=25)
        v.width, v.height, v.pix_fmt = 320, 240, "yuv420p"
        a = out.add_stream(acodec, rate=rate)
        assert isinstance(v, av.VideoStream) and isinstance(a, av.AudioStream)
        a.layout = "stereo"
        rng = np.random.default_rng(1)
        for i in range(int(seconds * 25)):
            img = np.full((240, 320, 3), 60, np.uint8)
            img[40 + i % 100 : 100 + i % 100, 50:150] = rng.integers(0, 255, 3)
            frame = av.VideoFrame.from_ndarray(img, "rgb24")
            frame.pts = i
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
        t = np.arange(int(seconds * rate)) / rate
        tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        af = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
        af.sample_rate, af.pts = rate, 0
        out.mux(a.encode(af))
        out.mux(a.encode(None))
    return path


@pytest.mark.parametrize(
    ("name", "fmt", "vcodec", "acodec", "rate", "container", "vname"),
    [
        ("clip.webm", "webm", "libvpx-vp9", "libopus", 48000, "matroska", "vp9"),
        ("clip.mkv", "matroska", "libx265", "aac", 48000, "matroska", "hevc"),
        ("clip.mov", "mov", "mpeg4", "aac", 22050, "mov", "mpeg4"),
    ],
)
def test_other_accepted_containers_and_codecs(
    name: str, fmt: str, vcodec: str, acodec: str, rate: int, container: str, vname: str, tmp_path: Path
) -> None:
    if vcodec not in av.codecs_available:
        pytest.skip(f"this libav has no {vcodec}")
    src = _write(tmp_path / name, fmt, vcodec, acodec, rate)
    p = accepted(src)
    assert (p.container, p.video_codec, p.has_audio) == (container, vname, True)
    result = transcode(src, tmp_path / "hls", p, CONFIG)
    assert [(x.width, x.height) for x in result.renditions] == [(320, 240)]
    starts_key, _, vframes, samples, _ = _segment_report(tmp_path / "hls" / "240p" / "seg_00000.ts")
    assert starts_key and vframes == 50 and samples > 0


def test_high_frame_rate_is_capped_without_changing_duration(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "fast.mp4", 3, 160, 120, fps=120, audio=True, preset="ultrafast")
    p = accepted(src)
    assert p.fps == 120.0
    result = transcode(src, tmp_path / "hls", p, CONFIG)
    assert result.fps == 60.0 and result.frames == 180
    segs = parse_media_playlist((tmp_path / "hls" / result.renditions[0].playlist).read_text())
    assert abs(sum(s.duration_s for s in segs) - 3.0) < 0.05
    assert [round(s.duration_s, 2) for s in segs] == [2.0, 1.0]


def test_sandboxed_processing(tmp_path: Path) -> None:
    from media.errors import TranscodeError
    from media.process import process_limits, process_video_sandboxed
    from media.sandbox import SandboxLimits

    src = make_clip(tmp_path / "src.mp4", 3, 320, 568, fps=30, audio=True, preset="ultrafast", seed=4)
    p = accepted(src)
    done = process_video_sandboxed(src, tmp_path / "out", p, CONFIG)
    assert [(x.width, x.height) for x in done.transcode.renditions] == [(320, 568)]
    assert all((Path(done.transcode.out_dir) / f).is_file() for f in done.transcode.files())
    assert done.audio_fingerprint is not None and len(done.video_fingerprint) == 3
    assert all(Path(t.path).is_file() for t in done.thumbnails.files)
    starved = SandboxLimits(
        timeout_s=60, cpu_s=60, address_space_bytes=48 * 1024**2, max_open_files=256, max_file_bytes=1024**3
    )
    with pytest.raises(TranscodeError, match="worker died"):
        process_video_sandboxed(src, tmp_path / "out2", p, CONFIG, limits=starved)
    no_writes = msgspec.structs.replace(process_limits(p), max_file_bytes=0)
    with pytest.raises(TranscodeError):
        process_video_sandboxed(src, tmp_path / "out3", p, CONFIG, limits=no_writes)
