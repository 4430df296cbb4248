"""The simulated audience: the watch model responds to match, quality and fatigue; topics from cards."""

from __future__ import annotations

import random
import statistics

from sim.world import TOPICS, WatchModel, new_user, topic_of_card


def _outcomes(match: float, quality: float = 0.6, position: int = 0, n: int = 4000) -> list:
    rng = random.Random(3)
    wm = WatchModel()
    return [
        wm.watch(rng, match=match, quality=quality, position=position, duration_ms=8000) for _ in range(n)
    ]


def test_better_match_means_more_completion_likes_and_fewer_skips() -> None:
    good, bad = _outcomes(1.0), _outcomes(0.1)
    def rate(xs, a):
        return sum(getattr(o, a) for o in xs) / len(xs)
    assert rate(good, "completed") > rate(bad, "completed") + 0.3
    assert rate(good, "liked") > rate(bad, "liked") + 0.1
    assert rate(good, "skipped") < rate(bad, "skipped") - 0.3
    assert statistics.mean(o.watch_ms for o in good) > 2 * statistics.mean(o.watch_ms for o in bad)


def test_quality_and_fatigue_move_appeal() -> None:
    wm = WatchModel()
    assert wm.appeal(0.5, 0.9, 0, 0.0) > wm.appeal(0.5, 0.2, 0, 0.0)
    assert wm.appeal(0.8, 0.6, 0, 0.0) > wm.appeal(0.8, 0.6, 60, 0.0)


def test_watch_time_is_what_a_client_may_report() -> None:
    for o in _outcomes(0.7, n=2000):
        assert 0 <= o.watch_ms <= 8000 * (o.loops + 1)
        assert not (o.skipped and (o.completed or o.liked))


def test_users_drift_slowly_and_shift_their_home_topics() -> None:
    rng = random.Random(1)
    u = new_user(0, rng)
    home = u.home
    before = dict(u.interests)
    u.drift(rng)
    assert abs(sum(u.interests.values()) - 1.0) < 1e-9
    assert max(abs(u.interests[t] - before[t]) for t in before) < 0.1
    assert set(max(u.interests, key=lambda t: u.interests[t]) for _ in [0]) <= set(home)
    u.interactions = 25
    u.shift(rng)
    assert not set(u.home) & set(home) and u.shifted_at == 25
    assert u.match(u.home[0]) == 1.0


def test_topic_from_what_the_card_shows() -> None:
    assert topic_of_card({"hashtags": ["Recipe", "food", "fyp"]}) == "cooking"
    assert topic_of_card({"hashtags": ["fyp"], "music": {"id": "sound-dance-2"}}) == "dance"
    assert topic_of_card({"hashtags": [], "music": None}) is None
    assert all(topic_of_card({"hashtags": list(tags)}) == t for t, tags in TOPICS.items())
