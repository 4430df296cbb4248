"""Point-in-time training examples for the served ranker: exposures joined to their outcomes, with negatives.

An exposure is an ``Impression`` (its ``source`` is the candidate source), or, in logs without
impressions such as imported datasets, the ``ViewEnded`` itself. ``snapshot_examples`` replays the
log in time order through ``ml.replay.FeedReplay`` (the shards' user-state fold, the feature store
projection, the feed catalogue) and, for each exposure, builds the feed's own ranking row
(``serve.feed.features.build_rows``, columns ``FEATURES``) from the state *before* that event is
folded — so nothing at or after the exposure can be in its row — plus ``negatives`` sampled videos
already published at that time that the user has not seen (same instant, no source). Impressions the
user did not engage with are the natural negatives; sampling is on by default only for logs without
impressions. ``join_outcomes`` labels each example with the outcomes of the same (user, video) — and
(user, creator) for follows — within ``horizon_us`` after it; ``ray_dataset`` runs the join as a
ray[data] pipeline (map_batches over the snapshots, the outcome index shipped with the function) and
``to_arrays`` turns the labelled rows into the ranker's training arrays.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from events import Event, Impression, VideoPublished, VideoRemoved, ViewEnded
from serve.feed.features import FEATURES

from .history import COMMENT, FOLLOW, HATE, LIKE, SHARE, VIEW, interactions
from .ranker import HEADS
from .replay import FeedReplay

__all__ = ["FEATURES", "join_outcomes", "outcome_index", "ray_dataset", "snapshot_examples", "to_arrays"]

Index = dict[tuple[str, str], list[tuple[int, int, int, int]]]


def snapshot_examples(
    events: Sequence[Event], *, negatives: int | None = None, seed: int = 0, replay: FeedReplay | None = None
) -> list[dict[str, Any]]:
    """One row per exposure (and per sampled negative): ts, user, video, creator, source, sampled, x.

    ``negatives`` per exposure default to 0 when the log has impressions, else 2."""
    rng = np.random.default_rng(seed)
    state = replay or FeedReplay()
    published: list[str] = []
    live: set[str] = set()
    seen: dict[str, set[str]] = defaultdict(set)
    has_impressions = any(isinstance(e, Impression) for e in events)
    n_neg = negatives if negatives is not None else (0 if has_impressions else 2)
    rows: list[dict[str, Any]] = []
    for e in sorted(events, key=lambda e: e.ts):
        exposure = isinstance(e, Impression) or (not has_impressions and isinstance(e, ViewEnded))
        if exposure and e.video_id not in seen[e.user_id]:  # type: ignore[union-attr]
            uid, vid = e.user_id, e.video_id  # type: ignore[union-attr]
            source = e.source if isinstance(e, Impression) else "unknown"
            logged = e.retrieval if isinstance(e, Impression) else None  # the feed's retrieval score
            vids, srcs, rets = [vid], [source], [logged]
            for _ in range(n_neg if published else 0):
                neg = published[int(rng.integers(len(published)))]
                if neg in live and neg not in seen[uid] and neg not in vids:
                    vids.append(neg)
                    srcs.append("unknown")
                    rets.append(None)
            x, keep = state.rows(uid, vids, srcs, e.ts, rets)  # the state before ``e`` is folded
            cat = state.catalogue
            for j, i in enumerate(keep):
                rows.append({"ts": e.ts, "user_id": uid, "video_id": vids[i],
                             "creator_id": cat.creator_of(cat.label_of[vids[i]]) or "", "source": srcs[i],
                             "sampled": i > 0, "x": x[j]})
            seen[uid].add(vid)
        state.observe(e)  # the event counts only after its snapshot
        if isinstance(e, VideoPublished) and e.video_id not in live:
            live.add(e.video_id)
            published.append(e.video_id)
        elif isinstance(e, VideoRemoved):
            live.discard(e.video_id)
    return rows


def outcome_index(events: Sequence[Event]) -> Index:
    """(user, video) -> time-ordered (ts, kind, watch_ms, duration_ms) of its interactions; a follow is
    keyed by (user, creator)."""
    idx: Index = defaultdict(list)
    for r in interactions(events):
        idx[(r.user_id, r.video_id)].append((r.ts, r.kind, r.watch_ms, r.duration_ms))
    return dict(idx)


def join_outcomes(batch: dict[str, Any], index: Index, horizon_us: int) -> dict[str, Any]:
    """Label a batch (columns as lists/arrays) with outcomes in [ts, ts + horizon_us]: ``y_<head>`` per
    ``ml.ranker.HEADS``, ``watch`` (log1p seconds of the longest view) and ``wmask`` (1 if viewed)."""
    from projections.common import is_complete, is_skip

    n = len(batch["ts"])
    labels = {h: np.zeros(n, dtype=np.float32) for h in HEADS}
    watch, wmask = np.zeros(n, dtype=np.float32), np.zeros(n, dtype=np.float32)
    creators = batch.get("creator_id", [""] * n)
    for i in range(n):
        t0, uid = int(batch["ts"][i]), str(batch["user_id"][i])
        for ts, kind, watch_ms, dur in index.get((uid, str(batch["video_id"][i])), ()):
            if ts < t0 or ts > t0 + horizon_us:
                continue
            if kind == VIEW:
                labels["complete"][i] = max(labels["complete"][i], float(is_complete(watch_ms, dur)))
                labels["skip"][i] = max(labels["skip"][i], float(is_skip(watch_ms, dur)))
                watch[i] = max(watch[i], math.log1p(watch_ms / 1000.0))
                wmask[i] = 1.0
            elif kind == LIKE:
                labels["like"][i] = 1.0
            elif kind == SHARE:
                labels["share"][i] = 1.0
            elif kind == COMMENT:
                labels["comment"][i] = 1.0
            elif kind == HATE:
                labels["skip"][i] = 1.0
        if creators[i]:
            follows = index.get((uid, str(creators[i])), ())
            if any(k == FOLLOW and t0 <= ts <= t0 + horizon_us for ts, k, _, _ in follows):
                labels["follow"][i] = 1.0
    return {**batch, **{f"y_{h}": v for h, v in labels.items()}, "watch": watch, "wmask": wmask}


def ray_dataset(
    events: Sequence[Event], *, horizon_us: int = 3_600_000_000, negatives: int | None = None, seed: int = 0
) -> Any:
    """The examples as a ``ray.data.Dataset`` (snapshots in the driver, the outcome join on the workers)."""
    import ray

    rows = snapshot_examples(events, negatives=negatives, seed=seed)
    ds = ray.data.from_items(rows, override_num_blocks=max(1, min(16, len(rows) // 5_000)))
    return ds.map_batches(
        join_outcomes,  # type: ignore[arg-type]
        fn_kwargs={"index": outcome_index(events), "horizon_us": horizon_us},
        batch_format="numpy",
    )


def to_arrays(rows: Sequence[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Labelled rows -> ``x`` (N, len(FEATURES)), ``y`` and ``mask`` (N, 6), ``watch``, ``wmask``, ``ts``,
    ``user`` (an int per user id, for grouped validation splits)."""
    n = len(rows)
    users: dict[str, int] = {}
    return {
        "x": np.asarray([r["x"] for r in rows], dtype=np.float32).reshape(n, len(FEATURES)),
        "y": np.asarray([[r[f"y_{h}"] for h in HEADS] for r in rows], dtype=np.float32).reshape(n, len(HEADS)),
        "mask": np.ones((n, len(HEADS)), dtype=np.float32),
        "watch": np.asarray([r["watch"] for r in rows], dtype=np.float32),
        "wmask": np.asarray([r["wmask"] for r in rows], dtype=np.float32),
        "ts": np.asarray([r["ts"] for r in rows], dtype=np.int64),
        "user": np.asarray([users.setdefault(str(r["user_id"]), len(users)) for r in rows], dtype=np.int64),
    }
