"""Point-in-time training rows: the feed's own ``build_rows`` on the state folded before each exposure."""

from __future__ import annotations

import msgspec
import numpy as np

from events import Event, Impression, Liked, UserRegistered, VideoDetailsSubmitted, VideoPublished, ViewEnded
from ml.dataset import FEATURES, join_outcomes, outcome_index, snapshot_examples, to_arrays
from ml.replay import FeedReplay, retrieval_score
from projections import features as fs
from reelstack.world import WorldConfig, world_events
from serve.feed.candidates import Candidate, user_vector
from serve.feed.features import COL, build_rows
from serve.feed.features import FEATURES as SERVED

HOUR = 3_600_000_000
SOURCES = ("ann", "following", "affinity", "trending", "fresh")


def _log() -> list[Event]:
    """A small generated world whose impressions carry the feed's candidate sources in turn."""
    cfg = WorldConfig(creators=4, videos=16, viewers=12, sessions_per_viewer=2, videos_per_session=6)
    out: list[Event] = []
    for i, e in enumerate(world_events(cfg)):
        if isinstance(e, Impression):
            e = msgspec.structs.replace(e, source=SOURCES[i % len(SOURCES)])
        out.append(e)
    return sorted(out, key=lambda e: e.ts)


def test_rows_are_build_rows_on_the_state_folded_before_each_exposure() -> None:
    events = _log()
    rows = snapshot_examples(events)
    assert FEATURES == SERVED and rows and all(not r["sampled"] for r in rows)
    checked = 0
    for r in rows[:: max(1, len(rows) // 12)]:
        replay = FeedReplay()
        for e in events:
            if e.ts >= r["ts"]:
                break
            replay.observe(e)
        cat, now = replay.catalogue, r["ts"]
        view = replay.view(r["user_id"])
        user = fs.user_features(replay.store, r["user_id"], now_us=now, k=20)
        uvec = user_vector(view, now, replay.config.short_weight)
        label = cat.label_of[r["video_id"]]
        sim = float(cat.index.vectors[label] @ uvec) if uvec is not None else 0.0
        ret = retrieval_score(r["source"], sim, cat, label, view, user, replay.config)
        want = build_rows(cat, [Candidate(label, r["video_id"], r["source"], ret)], view, user,
                          [replay.store.get("v:" + r["video_id"])], user_vec=uvec, now_us=now)
        np.testing.assert_allclose(r["x"], want[0], rtol=1e-5, atol=1e-6)
        checked += 1
    assert checked >= 10
    x = np.stack([r["x"] for r in rows])
    assert x[:, COL["sim_long"]].std() > 0 and x[:, COL["x_creator"]].max() > 0 and x[:, COL["v_like"]].std() > 0


def test_an_outcome_after_the_impression_never_changes_its_row() -> None:
    events = _log()
    full = {(r["user_id"], r["video_id"], r["ts"]): r["x"] for r in snapshot_examples(events)}
    imps = [i for i, e in enumerate(events) if isinstance(e, Impression)]
    for i in imps[:: max(1, len(imps) // 10)]:
        e = events[i]
        assert isinstance(e, Impression)
        # the log cut right after the impression, plus an immediate like, view and share of the pair
        after = [Liked(event_id="x1", ts=e.ts + 1, user_id=e.user_id, video_id=e.video_id),
                 ViewEnded(event_id="x2", ts=e.ts + 2, user_id=e.user_id, video_id=e.video_id,
                           watch_ms=9_000, duration_ms=9_000)]
        cut = {(r["user_id"], r["video_id"], r["ts"]): r["x"] for r in snapshot_examples(events[: i + 1] + after)}
        key = (e.user_id, e.video_id, e.ts)
        if key in full:  # (a repeated exposure of a pair has no row of its own)
            np.testing.assert_array_equal(full[key], cut[key])


def _tiny() -> list[Event]:
    ev: list[Event] = [UserRegistered(event_id="u1", ts=1, user_id="alice")]
    for i, vid in enumerate(("v1", "v2", "v3")):
        ev += [VideoDetailsSubmitted(event_id=f"d{vid}", ts=10 + i, video_id=vid, creator_id="bob",
                                     hashtags=("cats",)),
               VideoPublished(event_id=f"p{vid}", ts=20 + i, video_id=vid, creator_id="bob")]
    ev += [ViewEnded(event_id="w1", ts=100, user_id="alice", video_id="v1", watch_ms=10_000, duration_ms=10_000),
           Liked(event_id="l1", ts=101, user_id="alice", video_id="v1"),
           ViewEnded(event_id="w2", ts=200, user_id="alice", video_id="v2", watch_ms=500, duration_ms=10_000)]
    return ev


def test_views_are_exposures_without_impressions_and_labels_come_from_the_window_after() -> None:
    ev = _tiny()
    rows = [r for r in snapshot_examples(ev, negatives=0)]
    first, second = (dict(zip(FEATURES, r["x"], strict=True)) for r in rows)
    assert first["v_views_log"] == 0.0 and first["x_creator"] == 0.0 and first["u_views_log"] == 0.0
    assert second["x_creator"] > 0 and second["u_views_log"] > 0 and second["v_views_log"] == 0.0
    assert all(v == 0.0 for k, v in first.items() if k.startswith("src_") or k == "retrieval")  # no source
    batch = {k: [r[k] for r in rows] for k in ("ts", "user_id", "video_id", "creator_id")}
    out = join_outcomes(batch, outcome_index(ev), horizon_us=HOUR)
    assert list(out["y_like"]) == [1.0, 0.0] and list(out["y_complete"]) == [1.0, 0.0]
    assert list(out["y_skip"]) == [0.0, 1.0] and list(out["wmask"]) == [1.0, 1.0]
    assert list(join_outcomes(batch, outcome_index(ev), horizon_us=0)["y_like"]) == [0.0, 0.0]
    a = to_arrays([{**{k: v[i] for k, v in out.items()}, "x": rows[i]["x"]} for i in range(2)])
    assert a["x"].shape == (2, len(FEATURES)) and a["y"].shape == (2, 6) and list(a["user"]) == [0, 0]


def test_negative_samples_are_published_unseen_videos_at_that_time() -> None:
    for r in snapshot_examples(_tiny(), negatives=5, seed=1):
        if r["sampled"]:
            assert r["video_id"] in {"v2", "v3"} or r["ts"] < 100


def test_a_retrieval_score_the_feed_logged_is_the_row_s_retrieval_column() -> None:
    events = _log()
    imps = [i for i, e in enumerate(events) if isinstance(e, Impression) and e.source == "trending"]
    # trending: the replay cannot recompute the rank-based score (it takes the range's middle)
    logged = {i: 0.123 + 0.001 * k for k, i in enumerate(imps)}
    with_score = [msgspec.structs.replace(e, retrieval=logged[i]) if i in logged else e for i, e in enumerate(events)]
    by_key = {(r["user_id"], r["video_id"], r["ts"]): r for r in snapshot_examples(with_score)}
    without = {(r["user_id"], r["video_id"], r["ts"]): r for r in snapshot_examples(events)}
    checked = 0
    for i in imps:
        e = with_score[i]
        key = (e.user_id, e.video_id, e.ts)  # type: ignore[union-attr]
        if key in by_key:
            assert by_key[key]["x"][COL["retrieval"]] == np.float32(logged[i])
            assert without[key]["x"][COL["retrieval"]] == np.float32(0.45 * 0.5 + 1e-3)  # recomputed
            rest = [c for c in range(len(FEATURES)) if c != COL["retrieval"]]
            np.testing.assert_array_equal(by_key[key]["x"][rest], without[key]["x"][rest])
            checked += 1
    assert checked >= 3
