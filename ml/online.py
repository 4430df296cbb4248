"""Monolith-style online training: sparse rows in a collisionless table plus small dense layers, updated
as interactions arrive, with parameters published to serving every few seconds.

The model scores a (user, video) interaction: each id (``u:``, ``v:``, ``c:`` creator) owns a row of
``dim`` embedding values plus one bias in a ``CollisionlessTable`` (admission after ``min_count``
sightings, expiry after ``ttl_us`` of event time); the dense part is an MLP over the element-wise
products of the user row with the video and creator rows. ``OnlineTrainer.observe`` takes a batch of
labelled interactions, updates the touched rows (SGD) and the dense layers (Adagrad), and
``maybe_publish`` snapshots the parameters once ``publish_every_us`` passed (wall clock live,
event time in a replay).

``online_vs_frozen`` measures it the way the Monolith paper does: train on the first part of a
time-ordered replay, freeze a copy, then stream the rest — every interaction is first predicted by
the frozen model and by the *last published* online parameters, then learned by the online trainer.
Both AUCs are over the same predictions-before-learning.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from events import Event, VideoDetailsSubmitted, VideoPublished

from .embedding_table import CollisionlessTable
from .history import HATE, LIKE, SHARE, VIEW, interactions
from .metrics import auc

__all__ = ["Labelled", "OnlineConfig", "OnlineModel", "OnlineTrainer", "labelled_stream", "online_vs_frozen"]


@dataclass(frozen=True, slots=True)
class OnlineConfig:
    dim: int = 16
    min_count: int = 1
    ttl_us: int | None = 7 * 86_400_000_000
    sparse_lr: float = 0.05
    dense_lr: float = 0.01
    batch: int = 64
    publish_every_us: int = 5_000_000
    seed: int = 0


@dataclass(frozen=True, slots=True)
class Labelled:
    ts: int
    user_id: str
    video_id: str
    creator_id: str
    label: float


class OnlineModel:
    """The parameters: one collisionless table (rows = embedding + bias) and the dense MLP."""

    def __init__(self, cfg: OnlineConfig) -> None:
        torch.manual_seed(cfg.seed)
        self.cfg = cfg
        self.table = CollisionlessTable(
            cfg.dim + 1, min_count=cfg.min_count, ttl_us=cfg.ttl_us, init_std=0.05, seed=cfg.seed
        )
        self.dense = nn.Sequential(nn.Linear(2 * cfg.dim, 32), nn.ReLU(), nn.Linear(32, 1))

    def _rows(self, batch: Sequence[Labelled]) -> tuple[list[str], torch.Tensor]:
        keys = [k for b in batch for k in (f"u:{b.user_id}", f"v:{b.video_id}", f"c:{b.creator_id}")]
        rows = torch.as_tensor(self.table.lookup(keys)).view(len(batch), 3, self.cfg.dim + 1)
        return keys, rows

    def logits(self, rows: torch.Tensor) -> torch.Tensor:
        d = self.cfg.dim
        u, v, c = rows[:, 0, :d], rows[:, 1, :d], rows[:, 2, :d]
        x = torch.cat([u * v, u * c], dim=-1)
        out: torch.Tensor = self.dense(x).squeeze(-1) + rows[:, 1, d] + rows[:, 2, d] + rows[:, 0, d]
        return out

    def predict(self, batch: Sequence[Labelled]) -> np.ndarray:
        with torch.inference_mode():
            _, rows = self._rows(batch)
            return torch.sigmoid(self.logits(rows)).numpy()


class OnlineTrainer:
    """Consumes labelled interactions in order; small steps on sparse rows and dense layers."""

    def __init__(
        self,
        cfg: OnlineConfig = OnlineConfig(),
        *,
        sink: Callable[[int, dict[str, object]], None] | None = None,
    ) -> None:
        self.cfg = cfg
        self.model = OnlineModel(cfg)
        self.opt = torch.optim.Adagrad(self.model.dense.parameters(), lr=cfg.dense_lr)
        self.sink = sink
        self.version = 0
        self.published: OnlineModel = copy.deepcopy(self.model)
        self._last_publish: int | None = None
        self.seen = 0
        self.event_now = 0  # newest event time observed: rows expire by event time, never wall clock

    def observe(self, batch: Sequence[Labelled]) -> float:
        """One step on ``batch``; returns its loss before the step."""
        if not batch:
            return 0.0
        m = self.model
        self.event_now = max(self.event_now, max(b.ts for b in batch))
        for b in batch:
            m.table.touch_many((f"u:{b.user_id}", f"v:{b.video_id}", f"c:{b.creator_id}"), b.ts)
        keys, rows = m._rows(batch)
        rows.requires_grad_(True)
        y = torch.as_tensor([b.label for b in batch], dtype=torch.float32)
        loss = nn.functional.binary_cross_entropy_with_logits(m.logits(rows), y)
        self.opt.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        self.opt.step()
        assert rows.grad is not None
        grads = rows.grad.view(-1, self.cfg.dim + 1).numpy() * len(batch)  # per-example step size
        m.table.update(keys, grads, self.cfg.sparse_lr)
        self.seen += len(batch)
        return float(loss.detach())

    def maybe_publish(self, now_us: int, *, force: bool = False) -> bool:
        """Snapshot the parameters for serving when ``publish_every_us`` passed since the last one."""
        if (
            not force
            and self._last_publish is not None
            and now_us - self._last_publish < self.cfg.publish_every_us
        ):
            return False
        self._last_publish = now_us
        self.model.table.expire(self.event_now)
        self.published = copy.deepcopy(self.model)
        self.version += 1
        if self.sink is not None:
            self.sink(self.version, {"dense": self.model.dense.state_dict(), "rows": len(self.model.table)})
        return True


def labelled_stream(events: Sequence[Event]) -> list[Labelled]:
    """Time-ordered labels: 1 for a like / share / completed view, 0 for "not interested" / a skip
    (with likes and hates present, e.g. KuaiRand, only likes vs hates)."""
    creators: dict[str, str] = {}
    for e in events:
        if isinstance(e, VideoDetailsSubmitted | VideoPublished):
            creators.setdefault(e.video_id, e.creator_id)
    recs = interactions(events)
    explicit = any(r.kind == HATE for r in recs) and any(r.kind == LIKE for r in recs)
    out = []
    from projections.common import is_complete, is_skip

    for r in recs:
        label: float | None = None
        if r.kind in (LIKE, SHARE):
            label = 1.0
        elif r.kind == HATE:
            label = 0.0
        elif r.kind == VIEW and not explicit:
            label = (
                1.0
                if is_complete(r.watch_ms, r.duration_ms)
                else 0.0
                if is_skip(r.watch_ms, r.duration_ms)
                else None
            )
        if label is not None:
            out.append(Labelled(r.ts, r.user_id, r.video_id, creators.get(r.video_id, ""), label))
    return out


def online_vs_frozen(
    events: Sequence[Event],
    *,
    warmup: float = 0.5,
    cfg: OnlineConfig = OnlineConfig(),
    epochs: int = 2,
    progress: Callable[[str], None] = lambda s: None,
) -> dict[str, float]:
    """AUC of the online-updated model vs the same model frozen after warm-up, on the rest of the replay."""
    stream = labelled_stream(sorted(events, key=lambda e: e.ts))
    n0 = int(len(stream) * warmup)
    head, tail = stream[:n0], stream[n0:]
    trainer = OnlineTrainer(cfg)
    rng = np.random.default_rng(cfg.seed)
    progress(f"online: warm-up on {len(head):,} interactions")
    for _ in range(epochs):  # the batch-trained starting point both models share
        order = rng.permutation(len(head))
        for s in range(0, len(order), cfg.batch):
            trainer.observe([head[i] for i in order[s : s + cfg.batch]])
    trainer.maybe_publish(head[-1].ts if head else 0, force=True)
    frozen = copy.deepcopy(trainer.model)
    progress(f"online: streaming {len(tail):,} interactions")
    p_on, p_fr, ys = [], [], []
    t0 = time.perf_counter()
    for s in range(0, len(tail), cfg.batch):
        batch = tail[s : s + cfg.batch]
        p_on.append(trainer.published.predict(batch))  # serving sees the last published parameters
        p_fr.append(frozen.predict(batch))
        ys += [b.label for b in batch]
        trainer.observe(batch)
        trainer.maybe_publish(batch[-1].ts)
    y = np.asarray(ys)
    return {
        "online_auc": auc(np.concatenate(p_on), y) if p_on else float("nan"),
        "frozen_auc": auc(np.concatenate(p_fr), y) if p_fr else float("nan"),
        "replay_interactions": float(len(tail)),
        "warmup_interactions": float(len(head)),
        "published_versions": float(trainer.version),
        "table_rows": float(len(trainer.model.table)),
        "stream_seconds": time.perf_counter() - t0,
    }
