"""The sandboxed probe against a malformed-media corpus generated here: every file ends in a clean rejection.

Also: the sandbox turns crashes, CPU spins, hangs, writes and memory blow-ups into results; HLS and
ffconcat inputs never get to libav, and no file they name is ever opened (watched with inotify).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import random
import signal
import struct
from collections.abc import Iterator
from pathlib import Path

import av
import msgspec
import numpy as np
import pytest

from media.probe import probe
from media.probe_worker import ProbeRequest
from media.results import ProbeLimits, ProbeResult, Rejection
from media.sandbox import SandboxLimits, run_sandboxed
from media.synth import make_clip
from tests.integration.media_craft import declare_dimensions

TARGET = "tests.integration.media_sandbox_target"


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media-corpus")


@pytest.fixture(scope="module")
def good(corpus_dir: Path) -> Path:
    return make_clip(corpus_dir / "good.mp4", 3, 160, 120, fps=30, preset="ultrafast", seed=2)


@pytest.fixture(scope="module")
def good_faststart(corpus_dir: Path, good: Path) -> Path:
    """The same clip with ``moov`` before ``mdat`` (what phones and CDNs produce)."""
    out = corpus_dir / "good_faststart.mp4"
    with (
        av.open(str(good)) as src,
        av.open(str(out), "w", format="mp4", options={"movflags": "+faststart"}) as dst,
    ):
        streams = {s.index: dst.add_stream_from_template(s) for s in src.streams}
        for pkt in src.demux():
            if pkt.dts is None:
                continue
            pkt.stream = streams[pkt.stream.index]
            dst.mux(pkt)
    return out


def rejected(path: Path, limits: ProbeLimits | None = None) -> Rejection:
    got = probe(path, limits)
    assert isinstance(got, Rejection), f"{path.name} was accepted: {got}"
    assert got.message
    return got


def test_good_clips_are_accepted(good: Path, good_faststart: Path) -> None:
    for path in (good, good_faststart):
        got = probe(path)
        assert isinstance(got, ProbeResult), got
        assert (got.width, got.height, got.has_audio) == (160, 120, True)
        assert abs(got.duration_s - 3.0) < 0.1 and got.fps == 30.0


@pytest.mark.parametrize("layout", ["moov_last", "faststart"])
def test_truncated_at_many_offsets(layout: str, good: Path, good_faststart: Path, tmp_path: Path) -> None:
    data = (good if layout == "moov_last" else good_faststart).read_bytes()
    cuts = sorted(
        {
            1,
            7,
            8,
            12,
            100,
            1000,
            *(int(len(data) * f) for f in (0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 0.99)),
            len(data) - 1,
        }
    )
    codes = {}
    for cut in cuts:
        path = tmp_path / f"cut_{cut}.mp4"
        path.write_bytes(data[:cut])
        codes[cut] = rejected(path).reason_code
    assert set(codes.values()) <= {"not_video", "undecodable"}, codes


@pytest.mark.parametrize("layout", ["moov_last", "faststart"])
def test_bit_flipped(layout: str, good: Path, good_faststart: Path, tmp_path: Path) -> None:
    data = (good if layout == "moov_last" else good_faststart).read_bytes()
    rng = random.Random(f"flip-{layout}")
    for k in range(12):
        damaged = bytearray(data)
        for _ in range(48):
            i = rng.randrange(len(damaged))
            damaged[i] ^= rng.randrange(1, 256)
        path = tmp_path / f"flip_{k}.mp4"
        path.write_bytes(bytes(damaged))
        rejected(path)


def test_zero_bytes_text_and_audio_only(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert rejected(empty).reason_code == "not_video"
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video, it only has a video-ish name\n" * 20)
    assert rejected(text).reason_code == "not_video"
    audio = tmp_path / "song.mp4"
    with av.open(str(audio), "w", format="mp4") as out:
        s = out.add_stream("aac", rate=44100)
        for k in range(100):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 44100, k * 1024
            out.mux(s.encode(frame))
        out.mux(s.encode(None))
    got = rejected(audio)
    assert got.reason_code == "no_video_stream" and "audio-only" in got.message


def test_huge_dimension_header(good: Path, tmp_path: Path) -> None:
    """SPS, sample entry and track header all claim 20000x20000 over a 160x120 bitstream."""
    data = bytearray(declare_dimensions(good.read_bytes(), 20000, 20000))
    i = data.find(b"avc1")  # visual sample entry: width, height (16 bit each) 28 bytes after the type
    struct.pack_into(">HH", data, i + 28, 20000, 20000)
    j = data.find(b"tkhd")  # track header: width, height as 16.16 fixed point at the end of the box
    size = struct.unpack_from(">I", data, j - 4)[0]
    struct.pack_into(">II", data, j - 4 + size - 8, 20000 << 16, 20000 << 16)
    path = tmp_path / "huge.mp4"
    path.write_bytes(bytes(data))
    assert rejected(path).reason_code in {"too_large", "undecodable"}


def test_huge_sps_alone(good: Path, tmp_path: Path) -> None:
    path = tmp_path / "huge_sps.mp4"
    path.write_bytes(declare_dimensions(good.read_bytes(), 16384, 16384))
    assert rejected(path).reason_code in {"too_large", "undecodable"}


def test_real_frames_wider_than_4k(tmp_path: Path) -> None:
    path = make_clip(tmp_path / "wide.mp4", 1.5, 4096, 64, fps=10, audio=False, preset="ultrafast")
    got = rejected(path)
    assert got.reason_code == "too_large" and "4096x64" in got.message


def test_twenty_minute_file(tmp_path: Path) -> None:
    path = make_clip(
        tmp_path / "long.mp4", 1200, 64, 64, fps=1, audio=False, pattern="gradient", preset="ultrafast"
    )
    got = rejected(path)
    assert got.reason_code == "too_long" and "1200" in got.message


def test_crafted_twenty_minute_duration(good: Path, tmp_path: Path) -> None:
    """Movie, track and media headers and the sample table all stretch 3 s of frames over 20 minutes."""
    data = bytearray(good.read_bytes())
    i = data.find(b"mvhd")  # version 0: flags(4) ctime(4) mtime(4) timescale(4) duration(4)
    movie_scale = struct.unpack_from(">I", data, i + 16)[0]
    struct.pack_into(">I", data, i + 20, 1200 * movie_scale)
    for kind, scale_at, dur_at in ((b"tkhd", None, 24), (b"mdhd", 16, 20)):
        j = data.find(kind)
        while j >= 0:
            scale = movie_scale if scale_at is None else struct.unpack_from(">I", data, j + scale_at)[0]
            struct.pack_into(">I", data, j + dur_at, 1200 * scale)
            j = data.find(kind, j + 1)
    # ... and the video's sample table (stts), which is what libav actually believes
    j = data.find(b"stts")
    scale = struct.unpack_from(">I", data, data.find(b"mdhd") + 16)[0]
    entries = struct.unpack_from(">I", data, j + 8)[0]
    frames = sum(struct.unpack_from(">I", data, j + 12 + 8 * e)[0] for e in range(entries))
    for e in range(entries):
        struct.pack_into(">I", data, j + 16 + 8 * e, 1200 * scale // frames + 1)
    path = tmp_path / "claims_20min.mp4"
    path.write_bytes(bytes(data))
    assert rejected(path).reason_code in {"too_long", "bad_frame_rate"}


def test_too_short_and_absurd_rate(tmp_path: Path) -> None:
    short = make_clip(tmp_path / "short.mp4", 0.5, 64, 64, fps=30, audio=False, preset="ultrafast")
    assert rejected(short).reason_code == "too_short"
    fast = make_clip(tmp_path / "fast.mp4", 2, 64, 64, fps=480, audio=False, preset="ultrafast")
    assert rejected(fast).reason_code == "bad_frame_rate"


# --- nothing outside the upload is ever opened -------------------------------------------------------------

IN_OPEN, IN_ACCESS, IN_NONBLOCK = 0x20, 0x01, 0o4000


class OpenWatch:
    """inotify on a few files: did anyone open or read them?"""

    def __init__(self, paths: list[Path]) -> None:
        self.libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self.fd = self.libc.inotify_init1(IN_NONBLOCK)
        assert self.fd >= 0
        for p in paths:
            assert self.libc.inotify_add_watch(self.fd, str(p).encode(), IN_OPEN | IN_ACCESS) >= 0

    def events(self) -> int:
        try:
            return len(os.read(self.fd, 65536)) // 16
        except BlockingIOError:
            return 0

    def close(self) -> None:
        os.close(self.fd)


@pytest.fixture
def secret(tmp_path: Path) -> Iterator[tuple[Path, OpenWatch]]:
    path = tmp_path / "outside" / "secret.txt"
    path.parent.mkdir()
    path.write_text("not for libav\n")
    watch = OpenWatch([path])
    yield path, watch
    watch.close()


def test_watch_sees_opens(secret: tuple[Path, OpenWatch]) -> None:
    path, watch = secret
    assert watch.events() == 0
    path.read_text()
    assert watch.events() > 0


def test_playlists_and_scripts_pointing_outside(secret: tuple[Path, OpenWatch], tmp_path: Path) -> None:
    path, watch = secret
    hls = tmp_path / "upload.mp4"
    hls.write_text(
        f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{path}\n#EXTINF:10,\n/etc/passwd\n#EXT-X-ENDLIST\n"
    )
    concat = tmp_path / "upload2.mp4"
    concat.write_text(f"ffconcat version 1.0\nfile '{path}'\nfile '/etc/passwd'\n")
    for upload in (hls, concat):
        assert rejected(upload).reason_code == "not_video"
    assert watch.events() == 0


def test_worker_refuses_other_demuxers_even_if_asked(secret: tuple[Path, OpenWatch], tmp_path: Path) -> None:
    path, watch = secret
    hls = tmp_path / "list.m3u8"
    hls.write_text(f"#EXTM3U\n#EXTINF:10,\n{path}\n#EXT-X-ENDLIST\n")
    for fmt in ("hls", "concat", "image2"):
        run = run_sandboxed(
            "media.probe_worker",
            msgspec.json.encode(ProbeRequest(path=str(hls), format=fmt)),
            SandboxLimits(),
        )
        assert run.returncode == 0 and b"refused" in run.stdout
    assert watch.events() == 0


def test_mov_forced_on_a_playlist_reads_nothing_else(secret: tuple[Path, OpenWatch], tmp_path: Path) -> None:
    """Even a playlist that starts with a valid ftyp box only ever gets the mov demuxer."""
    path, watch = secret
    sneaky = tmp_path / "sneaky.mp4"
    sneaky.write_bytes(
        b"\x00\x00\x00\x14ftypisom\x00\x00\x02\x00isom"
        + f"\n#EXTM3U\n#EXTINF:10,\n{path}\n#EXT-X-ENDLIST\n".encode()
    )
    assert rejected(sneaky).reason_code in {"undecodable", "not_video"}
    assert watch.events() == 0


# --- the sandbox itself ------------------------------------------------------------------------------------


def test_segfault_is_a_result_not_a_crash() -> None:
    run = run_sandboxed(TARGET, b"segv", SandboxLimits())
    assert run.crashed and run.signal == signal.SIGSEGV


def test_cpu_spin_hits_rlimit() -> None:
    run = run_sandboxed(TARGET, b"spin", SandboxLimits(cpu_s=1, timeout_s=20))
    assert run.signal in (signal.SIGXCPU, signal.SIGKILL) and not run.timed_out


def test_hang_is_killed_at_the_wall_clock_timeout() -> None:
    run = run_sandboxed(TARGET, b"sleep", SandboxLimits(timeout_s=1.0))
    assert run.timed_out and run.signal == signal.SIGKILL


def test_file_writes_are_refused() -> None:
    run = run_sandboxed(TARGET, b"write", SandboxLimits())
    assert run.signal == signal.SIGXFSZ or (run.returncode != 0 and b"File too large" in run.stderr)


def test_memory_cap() -> None:
    run = run_sandboxed(TARGET, b"alloc", SandboxLimits(address_space_bytes=512 * 1024 * 1024))
    assert run.returncode != 0 and b"MemoryError" in run.stderr


def test_media_work_runs_below_the_parents_priority() -> None:
    parent = os.nice(0)
    run = run_sandboxed(TARGET, b"nice", SandboxLimits())
    assert run.returncode == 0 and run.stdout == f"nice={min(19, parent + 10)} ok".encode()
    run = run_sandboxed(TARGET, b"nice", SandboxLimits(nice=0))
    assert run.stdout == f"nice={parent} ok".encode()


def test_probe_maps_sandbox_failures_to_rejections(good: Path) -> None:
    assert rejected(good, ProbeLimits(timeout_s=0.05)).reason_code == "timed_out"
    assert rejected(good, ProbeLimits(address_space_bytes=32 * 1024 * 1024)).reason_code == "worker_crashed"
