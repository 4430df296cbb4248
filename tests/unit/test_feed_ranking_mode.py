"""Where the feed ranks (``REEL_RANKING_MODE``): by default in the ingress on CPU-only clusters (no Serve
hop), in the ranking deployment when the cluster has GPUs; explicit modes win; typos are refused."""

from __future__ import annotations

import pytest

from reelstack.settings import load_settings
from serve.feed.wiring import ranking_in_process


def test_default_is_auto_in_process_without_gpus() -> None:
    settings = load_settings({})
    assert settings.ranking_mode == "auto"
    assert ranking_in_process(settings, 0.0)
    assert not ranking_in_process(settings, 1.0)


@pytest.mark.parametrize(("mode", "gpus", "inprocess"), [
    ("deployment", 0.0, False), ("deployment", 2.0, False), ("inprocess", 0.0, True), ("inprocess", 4.0, True),
])
def test_explicit_modes(mode: str, gpus: float, inprocess: bool) -> None:
    assert ranking_in_process(load_settings({"REEL_RANKING_MODE": mode}), gpus) is inprocess


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="REEL_RANKING_MODE"):
        ranking_in_process(load_settings({"REEL_RANKING_MODE": "gpu"}), 0.0)
