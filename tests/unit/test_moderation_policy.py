"""Routing policy: each band, per-category thresholds, unscored categories, the mature band."""

from __future__ import annotations

from pathlib import Path

import pytest

from moderation.config import CategoryPolicy, ModerationConfig, plugins_from_setting
from moderation.policy import route

CLEAN = {"nudity": 0.02, "text": 0.01, "copyright": 0.0, "spam": 0.0, "violence": None}


@pytest.mark.parametrize(
    ("score", "decision"),
    [
        (0.0, "approve"),
        (0.69, "approve"),
        (0.7, "review"),
        (0.85, "review"),
        (0.95, "review"),
        (0.951, "reject"),
        (1.0, "reject"),
    ],
)
def test_the_maximum_score_routes_by_band(score: float, decision: str) -> None:
    r = route({**CLEAN, "spam": score}, ModerationConfig())
    assert r.decision == decision
    assert r.max_score == pytest.approx(max(score, 0.02))
    assert r.category == (None if decision == "approve" else "spam")


def test_the_worst_band_and_its_highest_category_win() -> None:
    r = route({**CLEAN, "text": 0.8, "copyright": 0.9, "nudity": 0.97}, ModerationConfig())
    assert (r.decision, r.category) == ("reject", "nudity")
    assert "rejected for nudity" in r.reason
    r = route({**CLEAN, "text": 0.8, "copyright": 0.9}, ModerationConfig())
    assert (r.decision, r.category) == ("review", "copyright")


def test_thresholds_are_configured_per_category() -> None:
    config = ModerationConfig(
        categories={"spam": CategoryPolicy(review_at=0.9, reject_above=0.99), "text": CategoryPolicy()}
    )
    assert route({"spam": 0.8, "text": 0.1}, config).decision == "approve"
    assert route({"spam": 0.995, "text": 0.1}, config).decision == "reject"
    assert route({"spam": 0.1, "text": 0.8}, config).decision == "review"


def test_unscored_is_never_safe_unless_configuration_allows_it() -> None:
    # violence is allowed unscored by default: a clean upload is approved, and the gap is named
    r = route(CLEAN, ModerationConfig())
    assert r.decision == "approve" and r.unscored == ("violence",)
    assert "unscored: violence (allowed by configuration)" in r.reason
    assert r.max_score == pytest.approx(0.02)  # None is not counted in the maximum
    # any other unscored category holds the video for review
    r = route({**CLEAN, "nudity": None}, ModerationConfig(), {"nudity": "no keyframes could be decoded"})
    assert (r.decision, r.category) == ("review", "nudity")
    assert "nudity could not be scored" in r.reason and "no keyframes" in r.reason
    # and so does violence once the operator stops allowing it
    r = route(CLEAN, ModerationConfig(allow_unscored=()))
    assert (r.decision, r.category) == ("review", "violence")
    # nothing scored at all: review, no maximum
    r = route({"nudity": None, "violence": None}, ModerationConfig())
    assert r.decision == "review" and r.max_score is None


@pytest.mark.parametrize(
    ("nudity", "rating", "decision"),
    [
        (0.1, "general", "approve"),
        (0.39, "general", "approve"),
        (0.4, "mature", "approve"),
        (0.69, "mature", "approve"),
        (0.8, "mature", "review"),
        (0.99, "mature", "reject"),
    ],
)
def test_the_nudity_band_rates_videos_mature(nudity: float, rating: str, decision: str) -> None:
    r = route({**CLEAN, "nudity": nudity}, ModerationConfig())
    assert (r.age_rating, r.decision) == (rating, decision)


def test_plugin_setting_parses_and_refuses_garbage() -> None:
    assert plugins_from_setting("violence=acme.safety:V, nudity=x.y:Z") == {
        "violence": "acme.safety:V",
        "nudity": "x.y:Z",
    }
    assert plugins_from_setting("") == {}
    with pytest.raises(ValueError, match="category=module:Class"):
        plugins_from_setting("violence")


def test_settings_build_the_config_and_plugins_replace_the_violence_slot(tmp_path: Path) -> None:
    import msgspec
    import numpy as np

    from moderation.config import config_from_settings
    from moderation.ensemble import Ensemble, load_plugin
    from moderation.errors import PluginError
    from moderation.inputs import Frame, ModerationInputs
    from moderation.references import References
    from reelstack.settings import load_settings

    path = tmp_path / "mod.json"
    path.write_bytes(msgspec.json.encode({"categories": {"spam": {"review_at": 0.8}}, "allow_unscored": []}))
    settings = load_settings(
        {
            "REEL_MODERATION_CONFIG": str(path),
            "REEL_MODERATION_PLUGINS": "violence=tests.unit.moderation_plugin:RedFrames",
        }
    )
    config = config_from_settings(settings)
    assert config.policy("spam").review_at == 0.8 and config.allow_unscored == ()
    assert config.plugins == {"violence": "tests.unit.moderation_plugin:RedFrames"}
    violence = load_plugin("violence", config.plugins["violence"])
    ens = Ensemble(config, References(), {"violence": violence})
    red = np.zeros((16, 16, 3), np.uint8)
    red[..., 0] = 220
    scores = ens.score(ModerationInputs(video_id="v", frames=(Frame.from_array(0.0, red),)))
    assert scores.scores == {"violence": 1.0} and scores.versions == {"violence": "red-frames@test"}
    assert route(scores.scores, config).decision == "reject"
    with pytest.raises(PluginError, match="lacks name"):
        load_plugin("violence", "tests.unit.moderation_plugin:NotAScorer")
    with pytest.raises(PluginError, match="REEL_MODERATION_PLUGINS"):
        load_plugin("violence", "no_such_module_xyz:Thing")
