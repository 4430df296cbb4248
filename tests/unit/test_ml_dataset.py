"""Point-in-time examples: an outcome at or after an exposure never reaches that exposure's features."""

from __future__ import annotations

from events import Liked, UserRegistered, VideoDetailsSubmitted, VideoPublished, ViewEnded
from ml.dataset import EXAMPLE_FEATURES, join_outcomes, outcome_index, snapshot_examples

HOUR = 3_600_000_000


def _events() -> list:
    ev: list = [UserRegistered(event_id="u1", ts=1, user_id="alice")]
    for i, vid in enumerate(("v1", "v2", "v3")):
        ev += [
            VideoDetailsSubmitted(
                event_id=f"d{vid}", ts=10 + i, video_id=vid, creator_id="bob", hashtags=("cats",)
            ),
            VideoPublished(event_id=f"p{vid}", ts=20 + i, video_id=vid, creator_id="bob"),
        ]
    ev += [
        ViewEnded(event_id="w1", ts=100, user_id="alice", video_id="v1", watch_ms=10_000, duration_ms=10_000),
        Liked(event_id="l1", ts=101, user_id="alice", video_id="v1"),
        ViewEnded(event_id="w2", ts=200, user_id="alice", video_id="v2", watch_ms=500, duration_ms=10_000),
    ]
    return ev


def test_features_are_snapshotted_before_the_exposure_and_its_outcomes() -> None:
    rows = [r for r in snapshot_examples(_events(), negatives=0) if not r["sampled"]]
    first, second = rows
    f = dict(zip(EXAMPLE_FEATURES, first["x"], strict=True))
    # at the first view nothing had happened: no views, likes or creator affinity, although the like
    # of v1 (ts 101) and v1's completed view are in the log
    assert f["v_views"] == 0.0 and f["v_likes"] == 0.0 and f["u_views"] == 0.0 and f["x_creator"] == 0.0
    g = dict(zip(EXAMPLE_FEATURES, second["x"], strict=True))
    # at the second view the earlier view and like are known (affinity to bob), its own outcome is not
    assert g["u_views"] > 0 and g["u_likes"] > 0 and g["x_creator"] > 0 and g["v_views"] == 0.0


def test_labels_come_from_the_window_after_the_exposure() -> None:
    ev = _events()
    rows = [r for r in snapshot_examples(ev, negatives=0) if not r["sampled"]]
    batch = {k: [r[k] for r in rows] for k in ("ts", "user_id", "video_id")}
    out = join_outcomes(batch, outcome_index(ev), horizon_us=HOUR)
    assert list(out["y_like"]) == [1.0, 0.0] and list(out["y_complete"]) == [1.0, 0.0]
    assert list(out["y_skip"]) == [0.0, 1.0]
    short = join_outcomes(batch, outcome_index(ev), horizon_us=0)  # the like at +1 µs is outside
    assert list(short["y_like"]) == [0.0, 0.0]


def test_negative_samples_are_published_unseen_videos_at_that_time() -> None:
    rows = snapshot_examples(_events(), negatives=5, seed=1)
    for r in rows:
        if r["sampled"]:
            assert r["video_id"] != "v1" or r["ts"] < 100
            assert r["video_id"] in {"v1", "v2", "v3"}
