"""Encoder choice and options: the same libav option names drive PyAV and the ffmpeg CLI baseline."""

from __future__ import annotations

import pytest

from media.encoders import encoder_options, nvenc_usable, pick_encoder
from media.errors import EncoderUnavailableError, MediaError
from media.ladder import LadderConfig, plan_ladder


def test_x264_options_fix_the_gop_and_disable_scene_cuts() -> None:
    rung = plan_ladder(1280, 720, 30.0, LadderConfig())[0]
    opts = encoder_options("libx264", rung, 60, LadderConfig(preset="veryfast", threads=2))
    assert opts["g"] == opts["keyint_min"] == "60"
    assert opts["sc_threshold"] == "0" and opts["preset"] == "veryfast" and opts["threads"] == "2"
    assert opts["b"] == f"{rung.bitrate_kbps}k" and opts["maxrate"] == f"{rung.maxrate_kbps}k"


def test_nvenc_options() -> None:
    rung = plan_ladder(1280, 720, 30.0, LadderConfig())[0]
    opts = encoder_options("h264_nvenc", rung, 60, LadderConfig())
    assert opts["g"] == "60" and opts["no-scenecut"] == "1" and opts["forced-idr"] == "1"
    assert "sc_threshold" not in opts


def test_auto_picks_what_this_machine_has() -> None:
    assert pick_encoder("auto") == ("h264_nvenc" if nvenc_usable() else "libx264")
    assert pick_encoder("libx264") == "libx264"


def test_unusable_encoders_raise_with_advice() -> None:
    with pytest.raises(EncoderUnavailableError, match="libx264") as err:
        pick_encoder("no_such_encoder")
    assert isinstance(err.value, MediaError) and err.value.encoder == "no_such_encoder"
    if not nvenc_usable():
        with pytest.raises(EncoderUnavailableError):
            pick_encoder("h264_nvenc")
