"""HNSW index (incremental add / mark deleted, recall vs exact) and the online trainer on a toy stream."""

from __future__ import annotations

import numpy as np

from ml.ann import AnnIndex, exact_top_k, recall_at_k
from ml.bench import clustered_vectors
from ml.online import Labelled, OnlineConfig, OnlineTrainer, online_vs_frozen


def test_hnsw_recall_incremental_add_and_delete() -> None:
    vecs = clustered_vectors(3000, 16, clusters=30, seed=0)
    idx = AnnIndex(16, capacity=100, ef=100)  # grows on demand
    idx.add(np.arange(2000), vecs[:2000])
    idx.add(np.arange(2000, 3000), vecs[2000:])
    assert len(idx) == 3000
    q = vecs[:50]
    found = [idx.query(v, 20)[0] for v in q]
    assert recall_at_k(found, exact_top_k(vecs, q, 20)) > 0.9
    idx.mark_deleted(7)
    assert 7 not in idx.query(vecs[7], 20)[0].tolist() and len(idx) == 2999
    idx.add(np.array([7]), vecs[7:8])  # re-published
    assert idx.query(vecs[7], 1)[0][0] == 7


def _stream(n: int, seed: int) -> list[Labelled]:
    """New videos keep arriving (ids grow with time); a third of them are good (liked 90 % of the time)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        u = int(rng.integers(40))
        v = int(rng.integers(i // 10, i // 10 + 30))
        p = 0.9 if v % 3 == 0 else 0.1
        out.append(
            Labelled(
                ts=i * 1_000_000,
                user_id=f"u{u}",
                video_id=f"v{v}",
                creator_id=f"c{v}",
                label=float(rng.random() < p),
            )
        )
    return out


def test_online_trainer_learns_and_publishes() -> None:
    t = OnlineTrainer(OnlineConfig(publish_every_us=10_000_000))
    s = _stream(3000, 0)
    first = np.mean([t.observe(s[i : i + 64]) for i in range(0, 640, 64)])
    for i in range(640, 3000, 64):
        t.observe(s[i : i + 64])
        t.maybe_publish(s[i].ts)
    last = np.mean([t.observe(s[i : i + 64]) for i in range(2360, 3000, 64)])
    assert last < first and t.version > 1 and len(t.model.table) > 0


def test_online_beats_frozen_on_a_drifting_replay() -> None:
    from events import Liked, NotInterested, VideoPublished

    events: list = []
    for x in _stream(4000, 1):
        if x.video_id not in {getattr(e, "video_id", None) for e in events[-200:]}:
            events.append(
                VideoPublished(
                    event_id=f"p{x.video_id}-{x.ts}",
                    ts=max(0, x.ts - 1),
                    video_id=x.video_id,
                    creator_id=x.creator_id,
                )
            )
        cls = Liked if x.label else NotInterested
        events.append(cls(event_id=f"e{len(events)}", ts=x.ts, user_id=x.user_id, video_id=x.video_id))
    res = online_vs_frozen(events, warmup=0.3)
    assert res["online_auc"] > res["frozen_auc"]
