"""Ranking metrics of the offline evaluation: recall@k, NDCG@k, catalogue coverage, AUC."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["auc", "ndcg_at_k", "recall_at_k"]


def recall_at_k(ranked: Sequence[str], truth: set[str], k: int) -> float:
    return len(set(ranked[:k]) & truth) / len(truth) if truth else 0.0


def ndcg_at_k(ranked: Sequence[str], truth: set[str], k: int) -> float:
    dcg = sum(1.0 / np.log2(i + 2) for i, v in enumerate(ranked[:k]) if v in truth)
    idcg = sum(1.0 / np.log2(i + 2) for i in range(min(k, len(truth))))
    return float(dcg / idcg) if idcg else 0.0


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (ties count half); NaN without both classes."""
    pos, neg = scores[labels > 0], scores[labels <= 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([pos, neg]))  # ties get their average rank
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))
