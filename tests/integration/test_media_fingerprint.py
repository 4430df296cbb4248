"""Audio fingerprints on real files: a re-encoded copy cut 3 s later matches, a different sound does not."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from media.fingerprint import ITEM_S, align_audio, audio_fingerprint, compare_audio, decode_fingerprint
from media.synth import make_clip


def reencode_audio(src: Path, dst: Path, skip_s: float, rate: int, kbps: int) -> Path:
    """Drop the first ``skip_s`` seconds and re-encode to mono AAC at another rate and bitrate."""
    with av.open(str(src)) as i, av.open(str(dst), "w", format="mp4") as o:
        s = o.add_stream("aac", rate=rate)
        s.layout = "mono"
        s.bit_rate = kbps * 1000
        for frame in i.decode(audio=0):
            if frame.time is not None and frame.time < skip_s:
                continue
            frame.pts = None
            o.mux(s.encode(frame))
        o.mux(s.encode(None))
    return dst


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("fp")
    a = make_clip(d / "a.mp4", 15, 96, 64, preset="ultrafast", seed=5)
    return {
        "a": a,
        "a_cut_reencoded": reencode_audio(a, d / "a2.m4a", 3.0, 48000, 48),
        "other": make_clip(d / "b.mp4", 15, 96, 64, preset="ultrafast", seed=9),
        "silent": make_clip(d / "c.mp4", 2, 96, 64, preset="ultrafast", audio=False),
    }


def test_reencoded_and_offset_copy_matches(clips: dict[str, Path]) -> None:
    a = audio_fingerprint(clips["a"])
    b = audio_fingerprint(clips["a_cut_reencoded"])
    assert a is not None and b is not None
    assert 14.5 < a.duration_s < 15.5 and 11.5 < b.duration_s < 12.5
    match = align_audio(decode_fingerprint(a), decode_fingerprint(b))
    assert match.similarity > 0.7
    assert abs(match.offset_s - 3.0) < 2 * ITEM_S
    assert compare_audio(a, b) == match.similarity
    assert compare_audio(a, a) == 1.0


def test_different_sound_does_not_match(clips: dict[str, Path]) -> None:
    a = audio_fingerprint(clips["a"])
    other = audio_fingerprint(clips["other"])
    assert a is not None and other is not None
    assert compare_audio(a, other) < 0.45


def test_no_audio_no_fingerprint(clips: dict[str, Path]) -> None:
    assert audio_fingerprint(clips["silent"]) is None
