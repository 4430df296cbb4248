"""Platform settings: the online trainer's switches and the moderation file, validated at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelstack.platform import moderation_config
from reelstack.settings import SettingsError, load_settings


def test_trainer_settings_from_the_environment() -> None:
    s = load_settings({})
    assert s.trainer_enabled and s.trainer_publish_every_s == 5.0
    s = load_settings({"REEL_TRAINER_ENABLED": "false", "REEL_TRAINER_PUBLISH_EVERY_S": "0.5"})
    assert not s.trainer_enabled and s.trainer_publish_every_s == 0.5
    with pytest.raises(SettingsError) as err:
        load_settings({"REEL_TRAINER_PUBLISH_EVERY_S": "0"})
    assert err.value.variable == "REEL_TRAINER_PUBLISH_EVERY_S"


def test_moderation_config_file_and_plugins(tmp_path: Path) -> None:
    f = tmp_path / "moderation.json"
    f.write_text('{"categories": {"spam": {"review_at": 0.5, "reject_above": 0.9}}, "mature_from": 0.3,'
                 ' "timeout_s": 7.5}')
    cfg = moderation_config(load_settings({"REEL_MODERATION_CONFIG": str(f),
                                           "REEL_MODERATION_PLUGINS": "violence=acme.safety:Scorer"}))
    assert cfg.policy("spam").review_at == 0.5 and cfg.policy("spam").reject_above == 0.9
    assert cfg.mature_from == 0.3 and cfg.timeout_s == 7.5
    assert cfg.plugins == {"violence": "acme.safety:Scorer"}
    assert moderation_config(load_settings({})).timeout_s == 20.0  # no file: the defaults


@pytest.mark.parametrize(("env", "variable"), [
    ({"REEL_MODERATION_CONFIG": "/nonexistent/moderation.json"}, "REEL_MODERATION_CONFIG"),
    ({"REEL_MODERATION_PLUGINS": "violence"}, "REEL_MODERATION_PLUGINS"),
])
def test_bad_moderation_settings_are_settings_errors(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError) as err:
        moderation_config(load_settings(env))
    assert err.value.variable == variable and "fix or unset it" in str(err.value)


def test_a_malformed_moderation_file_names_the_variable(tmp_path: Path) -> None:
    f = tmp_path / "moderation.json"
    f.write_text('{"timeout_s": "soon"}')
    with pytest.raises(SettingsError) as err:
        moderation_config(load_settings({"REEL_MODERATION_CONFIG": str(f)}))
    assert err.value.variable == "REEL_MODERATION_CONFIG"


def test_feed_config_file_is_checked_at_start_and_made_absolute(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("feed.json").write_text('{"state_budget_ms": 300}')
    assert load_settings({"REEL_FEED_CONFIG": "feed.json"}).feed_config == str(tmp_path / "feed.json")

    with pytest.raises(SettingsError, match=r"REEL_FEED_CONFIG.*cannot read '/nowhere/feed\.json'"):
        load_settings({"REEL_FEED_CONFIG": "/nowhere/feed.json"})
    with pytest.raises(SettingsError, match="REEL_FEED_CONFIG"):  # a JSON text where a path belongs
        load_settings({"REEL_FEED_CONFIG": '{"state_budget_ms": 250}'})
    Path("bad.json").write_text('{"state_budget_ms": "soon"}')
    with pytest.raises(SettingsError, match=r"REEL_FEED_CONFIG.*state_budget_ms"):
        load_settings({"REEL_FEED_CONFIG": "bad.json"})
