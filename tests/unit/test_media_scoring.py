"""Pure scoring: thumbnail frame scores, audio fingerprint alignment, video pHash distance."""

from __future__ import annotations

import numpy as np

from media.fingerprint import ITEM_S, align_audio
from media.frames import TimedSampler
from media.thumbnails import candidate_times, score_gray
from media.vfingerprint import is_near_duplicate, video_distance

RNG = np.random.default_rng(7)


def test_black_white_and_flat_frames_are_unusable() -> None:
    assert not score_gray(0, np.full((90, 160), 5, np.uint8)).usable
    assert not score_gray(0, np.full((90, 160), 250, np.uint8)).usable
    assert not score_gray(0, np.full((90, 160), 128, np.uint8)).usable


def test_sharp_beats_blurred() -> None:
    sharp = RNG.integers(40, 220, size=(90, 160)).astype(np.uint8)
    k = np.ones(9) / 9
    blurred = np.apply_along_axis(lambda r: np.convolve(r, k, "same"), 1, sharp.astype(float))
    blurred = np.apply_along_axis(lambda c: np.convolve(c, k, "same"), 0, blurred)
    a, b = score_gray(0, sharp), score_gray(1, np.clip(blurred, 0, 255).astype(np.uint8))
    assert a.usable and a.sharpness > 10 * b.sharpness
    assert a.rank > b.rank


def test_candidate_times_spread_inside_clip() -> None:
    ts = candidate_times(16.0, 8)
    assert ts == [1.0, 3.0, 5.0, 7.0, 9.0, 11.0, 13.0, 15.0]


def test_timed_sampler_takes_first_frame_at_or_after_each_time() -> None:
    kept: list[float] = []
    s = TimedSampler([1.0, 1.05, 2.0], lambda t, f: kept.append(t))
    for i in range(40):
        s(i / 10, None)  # type: ignore[arg-type]
    assert kept == [1.0, 1.1, 2.0] and s.done


def _flip(items: np.ndarray, rate: float) -> np.ndarray:
    mask = (RNG.random((len(items), 32)) < rate).astype(np.uint64)
    bits = (mask << np.arange(32, dtype=np.uint64)).sum(axis=1).astype(np.uint32)
    return np.bitwise_xor(items, bits)


def test_audio_alignment_finds_offset_through_bit_errors() -> None:
    a = RNG.integers(0, 2**32, size=240, dtype=np.uint64).astype(np.uint32)
    shift = 24  # ~3 s
    b = _flip(a[shift:], 0.1)
    m = align_audio(a, b, max_offset_s=10.0)
    assert abs(m.offset_s - shift * ITEM_S) < 1e-9
    assert 0.7 < m.similarity < 0.9


def test_unrelated_fingerprints_score_low() -> None:
    a = RNG.integers(0, 2**32, size=240, dtype=np.uint64).astype(np.uint32)
    b = RNG.integers(0, 2**32, size=240, dtype=np.uint64).astype(np.uint32)
    assert align_audio(a, b).similarity < 0.15
    assert align_audio(a, a).similarity == 1.0


def test_video_distance() -> None:
    a = [f"{int(x):016x}" for x in RNG.integers(0, 2**63, size=12)]
    near = [f"{int(h, 16) ^ 0b1011:016x}" for h in a[2:]]  # 3 bits differ, trimmed 2 s
    other = [f"{int(x):016x}" for x in RNG.integers(0, 2**63, size=12)]
    assert video_distance(a, a) == 0.0
    assert abs(video_distance(a, near) - 3 / 64) < 1e-9
    assert is_near_duplicate(a, near)
    assert video_distance(a, other) > 0.3 and not is_near_duplicate(a, other)
    assert video_distance(a, []) == 1.0
