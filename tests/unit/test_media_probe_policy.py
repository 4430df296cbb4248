"""The probe's pure policy: every reason code from worker facts, and rotation-aware display sizes."""

from __future__ import annotations

from typing import Any

import pytest

from media.probe import display_size, evaluate
from media.results import ProbeFacts, ProbeLimits, ProbeResult, Rejection

LIMITS = ProbeLimits()


def facts(**kw: Any) -> ProbeFacts:
    base: dict[str, Any] = dict(
        container="mov",
        duration_s=15.0,
        video_streams=1,
        audio_streams=1,
        video_codec="h264",
        width=720,
        height=1280,
        fps=30.0,
        video_duration_s=15.0,
        decoded_frames=450,
        decoded_width=720,
        decoded_height=1280,
        video_packets=450,
        indexed_packets=450,
        last_video_time_s=15.0,
        audio_codec="aac",
        audio_sample_rate=44100,
        audio_channels=2,
    )
    base.update(kw)
    return ProbeFacts(**base)


def test_accepts_a_normal_vertical_clip() -> None:
    got = evaluate(facts(), LIMITS)
    assert isinstance(got, ProbeResult)
    assert (got.display_width, got.display_height, got.vertical) == (720, 1280, True)
    assert got.has_audio and got.audio_codec == "aac" and got.duration_s == 15.0


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        (dict(video_streams=0, video_codec=None), "no_video_stream"),
        (dict(width=20000, height=20000), "too_large"),
        (dict(width=4096, height=64, decoded_width=4096, decoded_height=64), "too_large"),
        (dict(width=2200, height=2200, decoded_width=2200, decoded_height=2200), "too_large"),
        (dict(decoded_width=20000, decoded_height=20000), "too_large"),
        (dict(decoded_frames=0, decoded_width=0, decoded_height=0), "undecodable"),
        (dict(decode_error="Invalid data found when processing input"), "undecodable"),
        (dict(audio_decode_error="Invalid data"), "undecodable"),
        (dict(truncated=True), "undecodable"),
        (dict(video_packets=200), "undecodable"),
        (dict(last_video_time_s=6.0), "undecodable"),
        (dict(fps=480.0), "bad_frame_rate"),
        (dict(fps=0.5), "bad_frame_rate"),
        (dict(fps=None), "bad_frame_rate"),
        (dict(duration_s=1200.0, video_duration_s=1200.0, last_video_time_s=1200.0), "too_long"),
        (dict(duration_s=15.0, video_duration_s=1200.0, last_video_time_s=1200.0), "too_long"),
        (dict(duration_s=0.5, video_duration_s=0.5, last_video_time_s=0.5), "too_short"),
        (dict(duration_s=None, video_duration_s=None), "undecodable"),
    ],
)
def test_rejections(kw: dict[str, Any], code: str) -> None:
    got = evaluate(facts(**kw), LIMITS)
    assert isinstance(got, Rejection), got
    assert got.reason_code == code
    assert got.message


def test_4k_is_accepted_in_both_orientations() -> None:
    for w, h in ((3840, 2160), (2160, 3840)):
        got = evaluate(facts(width=w, height=h, decoded_width=w, decoded_height=h), LIMITS)
        assert isinstance(got, ProbeResult)


def test_limits_are_configurable() -> None:
    short = ProbeLimits(max_duration_s=10.0)
    got = evaluate(facts(), short)
    assert isinstance(got, Rejection) and got.reason_code == "too_long"


def test_audio_only_is_named() -> None:
    got = evaluate(facts(video_streams=0, video_codec=None), LIMITS)
    assert isinstance(got, Rejection) and "audio-only" in got.message


@pytest.mark.parametrize(
    ("rot", "size"),
    [(0, (1280, 720)), (90, (720, 1280)), (180, (1280, 720)), (270, (720, 1280)), (-90, (720, 1280))],
)
def test_display_size(rot: int, size: tuple[int, int]) -> None:
    assert display_size(1280, 720, rot) == size


def test_rotated_source_reports_display_size() -> None:
    got = evaluate(facts(width=1280, height=720, decoded_width=1280, decoded_height=720, rotation=90), LIMITS)
    assert isinstance(got, ProbeResult)
    assert (got.display_width, got.display_height, got.rotation) == (720, 1280, 90)
