"""Ladder planning: rungs by the short side, never upscale, aspect ratio kept, even sizes, shared GOP."""

from __future__ import annotations

import pytest

from media.ladder import LadderConfig, gop_frames, plan_ladder

CFG = LadderConfig()


def sizes(w: int, h: int, fps: float = 30.0) -> list[tuple[str, int, int]]:
    return [(r.name, r.width, r.height) for r in plan_ladder(w, h, fps, CFG)]


def test_vertical_720x1280() -> None:
    assert sizes(720, 1280) == [("360p", 360, 640), ("540p", 540, 960), ("720p", 720, 1280)]


def test_horizontal_1080p_gets_four_rungs() -> None:
    assert sizes(1920, 1080) == [
        ("360p", 640, 360),
        ("540p", 960, 540),
        ("720p", 1280, 720),
        ("1080p", 1920, 1080),
    ]


def test_vertical_1080x1920_gets_1080p() -> None:
    assert sizes(1080, 1920)[-1] == ("1080p", 1080, 1920)


def test_never_upscales() -> None:
    assert sizes(640, 480) == [("360p", 480, 360)]
    assert sizes(1280, 700)[-1][0] == "540p"


def test_tiny_source_gets_one_rung_at_its_own_size() -> None:
    assert sizes(320, 240) == [("240p", 320, 240)]
    assert sizes(161, 99) == [("98p", 160, 98)]  # even, rounded down: never larger than the source


@pytest.mark.parametrize(("w", "h"), [(720, 1280), (1280, 720), (1080, 1350), (1440, 1080), (886, 1920)])
def test_aspect_ratio_kept_and_even(w: int, h: int) -> None:
    for r in plan_ladder(w, h, 30.0, CFG):
        assert r.width % 2 == 0 and r.height % 2 == 0
        assert abs(r.width / r.height - w / h) < 0.02
        assert r.width <= w and r.height <= h


def test_bitrates_increase_and_rate_control_is_capped() -> None:
    rungs = plan_ladder(1920, 1080, 30.0, CFG)
    rates = [r.bitrate_kbps for r in rungs]
    assert rates == sorted(rates)
    for r in rungs:
        assert r.bitrate_kbps < r.maxrate_kbps < r.bufsize_kbps


def test_high_frame_rate_gets_more_bits() -> None:
    assert (
        plan_ladder(1280, 720, 60.0, CFG)[0].bitrate_kbps > plan_ladder(1280, 720, 30.0, CFG)[0].bitrate_kbps
    )


@pytest.mark.parametrize(("fps", "gop"), [(30.0, 60), (29.97, 60), (25.0, 50), (60.0, 120), (1.0, 2)])
def test_gop_is_one_segment(fps: float, gop: int) -> None:
    assert gop_frames(fps, 2.0) == gop
