"""Point-in-time training examples from the log: exposures joined to their outcomes, with negatives.

An exposure is an ``Impression`` (or, in logs without impressions such as imported datasets, the
``ViewEnded`` itself). ``snapshot_examples`` folds the log through the feature store projection in
time order and, for each exposure, records the user / video / cross features as they are *before*
that event is folded — so nothing at or after the exposure time can be in its features — plus
``negatives`` sampled videos already published at that time that the user has not seen (features
snapshotted at the same instant). ``join_outcomes`` labels each example with the outcomes of the
same (user, video) within ``horizon_us`` after it. ``ray_dataset`` runs the join as a ray[data]
pipeline (map_batches over the snapshots, the outcome index shipped with the function).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from events import Event, Impression, VideoPublished, VideoRemoved, ViewEnded
from projections import features as fs
from projections.base import DictView, apply

from .history import HATE, LIKE, SHARE, VIEW, Interaction, interactions

__all__ = ["EXAMPLE_FEATURES", "join_outcomes", "outcome_index", "ray_dataset", "snapshot_examples"]

EXAMPLE_FEATURES = (
    "v_views",
    "v_likes",
    "v_like_rate",
    "v_complete_rate",
    "v_skip_rate",
    "u_views",
    "u_likes",
    "x_creator",
    "x_hashtag_max",
    "x_sound",
)


def _vector(uf: fs.UserFeatures, vf: fs.VideoFeatures) -> list[float]:
    c = fs.cross_features(uf, vf)
    return [
        math.log1p(vf.views),
        math.log1p(vf.likes),
        vf.like_rate,
        vf.completion_rate,
        vf.skip_rate,
        math.log1p(uf.views),
        math.log1p(uf.likes),
        c.creator,
        c.hashtag_max,
        c.sound,
    ]


def snapshot_examples(events: Sequence[Event], *, negatives: int = 2, seed: int = 0) -> list[dict[str, Any]]:
    """One row per exposure (and per sampled negative): ts, user, video, sampled flag, features."""
    rng = np.random.default_rng(seed)
    view = DictView()
    published: list[str] = []
    live: set[str] = set()
    seen: dict[str, set[str]] = defaultdict(set)
    has_impressions = any(isinstance(e, Impression) for e in events)
    rows: list[dict[str, Any]] = []
    for e in sorted(events, key=lambda e: e.ts):
        exposure = isinstance(e, Impression) or (not has_impressions and isinstance(e, ViewEnded))
        if exposure and e.video_id not in seen[e.user_id]:  # type: ignore[union-attr]
            uid, vid = e.user_id, e.video_id  # type: ignore[union-attr]
            uf = fs.user_features(view, uid, now_us=e.ts)
            rows.append(
                {
                    "ts": e.ts,
                    "user_id": uid,
                    "video_id": vid,
                    "sampled": False,
                    "x": _vector(uf, fs.video_features(view, vid)),
                }
            )
            for _ in range(negatives if published else 0):
                neg = published[int(rng.integers(len(published)))]
                if neg in live and neg not in seen[uid] and neg != vid:
                    rows.append(
                        {
                            "ts": e.ts,
                            "user_id": uid,
                            "video_id": neg,
                            "sampled": True,
                            "x": _vector(uf, fs.video_features(view, neg)),
                        }
                    )
            seen[uid].add(vid)
        apply(view, fs.PROJECTION.fold(view, e))  # the event counts only after its snapshot
        if isinstance(e, VideoPublished) and e.video_id not in live:
            live.add(e.video_id)
            published.append(e.video_id)
        elif isinstance(e, VideoRemoved):
            live.discard(e.video_id)
    return rows


def outcome_index(events: Sequence[Event]) -> dict[tuple[str, str], list[tuple[int, int, int, int]]]:
    """(user, video) -> time-ordered (ts, kind, watch_ms, duration_ms) of its interactions."""
    idx: dict[tuple[str, str], list[tuple[int, int, int, int]]] = defaultdict(list)
    for r in interactions(events):
        idx[(r.user_id, r.video_id)].append((r.ts, r.kind, r.watch_ms, r.duration_ms))
    return dict(idx)


def join_outcomes(
    batch: dict[str, Any], index: dict[tuple[str, str], list[tuple[int, int, int, int]]], horizon_us: int
) -> dict[str, Any]:
    """Label a batch (columns as lists/arrays) with outcomes in [ts, ts + horizon_us] of the same pair."""
    from projections.common import is_complete, is_skip

    n = len(batch["ts"])
    labels = {k: np.zeros(n, dtype=np.float32) for k in ("complete", "like", "share", "skip")}
    for i in range(n):
        t0 = int(batch["ts"][i])
        for ts, kind, watch, dur in index.get((batch["user_id"][i], batch["video_id"][i]), ()):
            if ts < t0 or ts > t0 + horizon_us:
                continue
            r = Interaction(ts, "", "", kind, watch, dur)
            if r.kind == VIEW:
                labels["complete"][i] = max(labels["complete"][i], float(is_complete(watch, dur)))
                labels["skip"][i] = max(labels["skip"][i], float(is_skip(watch, dur)))
            elif r.kind == LIKE:
                labels["like"][i] = 1.0
            elif r.kind == SHARE:
                labels["share"][i] = 1.0
            elif r.kind == HATE:
                labels["skip"][i] = 1.0
    return {**batch, **{f"y_{k}": v for k, v in labels.items()}}


def ray_dataset(
    events: Sequence[Event], *, horizon_us: int = 3_600_000_000, negatives: int = 2, seed: int = 0
) -> Any:
    """The examples as a ``ray.data.Dataset`` (snapshots in the driver, the outcome join on the workers)."""
    import ray

    rows = snapshot_examples(events, negatives=negatives, seed=seed)
    ds = ray.data.from_items(rows)
    return ds.map_batches(
        join_outcomes,  # type: ignore[arg-type]
        fn_kwargs={"index": outcome_index(events), "horizon_us": horizon_us},
        batch_format="numpy",
    )
