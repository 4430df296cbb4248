"""Distil the ranker ensemble into one served network: one forward per page instead of one per member.

The seed-bagged ensemble (``ml.ranker.RankerEnsemble``) is what makes training on a few thousand
positives stable, but serving it costs a forward per member. The student is a ``MultiTaskRanker`` of
the same shape trained on the ensemble's soft targets mixed with the labels (Hinton et al., 2015,
"Distilling the Knowledge in a Neural Network"):

    target = alpha * label + (1 - alpha) * teacher probability   (per head, on the training rows)

The members train on negative-downsampled rows (``RankerConfig.neg_keep``); the student trains on
every training row (``student_keep``, default 1.0: the teacher's knowledge of the label-free rows is
what distillation transfers), its targets moved to the odds of the rows it keeps (logit -
log(student_keep)) when it downsamples too; it is then Platt-calibrated on the same held-out rows as
the members, with the hard labels (``train_ranker``). ``assess`` reports AUC and ECE per head of any model
on the same rows, so teacher and student are compared like for like.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .metrics import auc
from .ranker import HEADS, MultiTaskRanker, RankerConfig, RankerEnsemble, ece, train_ranker

__all__ = ["assess", "distill_ranker", "soft_targets"]

Predict = Callable[[np.ndarray], dict[str, np.ndarray]]


def soft_targets(
    teacher: Predict, x: np.ndarray, y: np.ndarray, watch: np.ndarray, wmask: np.ndarray, *,
    alpha: float, neg_keep: float, batch: int = 8192,
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 6) head targets and (N,) watch targets: labels mixed with the teacher's predictions."""
    probs = np.zeros_like(y, dtype=np.float32)
    tw = np.zeros(len(x), dtype=np.float32)
    for s in range(0, len(x), batch):
        out = teacher(x[s : s + batch])
        for i, h in enumerate(HEADS):
            probs[s : s + batch, i] = out[h]
        tw[s : s + batch] = out["watch"]
    p = np.clip(probs.astype(np.float64), 1e-6, 1 - 1e-6)
    shifted = 1.0 / (1.0 + np.exp(-(np.log(p / (1 - p)) - np.log(neg_keep))))  # downsampled odds
    targets = (alpha * y + (1.0 - alpha) * shifted).astype(np.float32)
    wt = np.where(wmask > 0, alpha * watch + (1.0 - alpha) * tw, tw).astype(np.float32)
    return targets, wt


def distill_ranker(
    teacher: RankerEnsemble,
    x: np.ndarray,
    y: np.ndarray,
    mask: np.ndarray,
    watch: np.ndarray,
    wmask: np.ndarray,
    *,
    is_val: np.ndarray,
    cfg: RankerConfig | None = None,
    alpha: float = 0.3,
    extra_epochs: int = 0,
    student_keep: float = 1.0,
    device: str = "cpu",
) -> tuple[MultiTaskRanker, dict[str, float]]:
    """One ``MultiTaskRanker`` trained on the teacher's soft targets plus the labels, calibrated on
    ``is_val`` rows (their labels never reach the loss); returns it and its validation ECE per head."""
    cfg = cfg or RankerConfig()
    soft = soft_targets(teacher.predict, x, y, watch, wmask, alpha=alpha, neg_keep=student_keep)
    return train_ranker(x, y, mask, watch, wmask, cfg=replace(cfg, epochs=cfg.epochs + extra_epochs,
                                                              neg_keep=student_keep),
                        device=device, is_val=is_val, soft=soft)


def assess(model: Predict, x: np.ndarray, y: np.ndarray, mask: np.ndarray, prefix: str) -> dict[str, float]:
    """``{prefix}auc_{head}`` and ``{prefix}ece_{head}`` of ``model`` on rows ``x`` (heads with both classes)."""
    out: dict[str, float] = {}
    if not len(x):
        return out
    preds = model(x)
    for i, h in enumerate(HEADS):
        sel = mask[:, i] > 0
        labels = y[sel, i]
        if labels.min(initial=1.0) == labels.max(initial=0.0):
            continue
        out[f"{prefix}auc_{h}"] = auc(preds[h][sel], labels)
        out[f"{prefix}ece_{h}"] = ece(preds[h][sel], labels)
    return out
