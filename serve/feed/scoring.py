"""Rankers behind the ``Ranker`` port, and the configurable blend of their heads into one score.

- ``TorchRanker``: the multi-task MMoE of ``ml.ranker`` (P(complete), P(like), P(share),
  P(comment), P(follow), P(skip), expected watch), loaded from an artifact that names the
  ``FEATURES`` it was trained on; one batched forward per call, on CUDA when torch sees a GPU.
- ``PriorRanker``: what serves before any ranker version is published — each head is the video's
  Beta-smoothed rate from the feature store, shifted on the logit scale by how close the video is to
  the user (vector similarity, creator / hashtag / sound affinity, following). A real model with
  hand-set coefficients, not a placeholder: it is the cold-start ranker and the bench's ranker.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .features import COL, FEATURES
from .ports import Scores

__all__ = ["HEADS", "PriorRanker", "TorchRanker", "blend", "load_ranker"]

HEADS = ("complete", "like", "share", "comment", "follow", "skip", "watch")


def _logit(p: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))  # type: ignore[no-any-return]


def _sigmoid(z: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)


def blend(scores: Scores, weights: dict[str, float]) -> npt.NDArray[np.float64]:
    """Final score = sum over heads of weight x prediction (heads missing from ``scores`` count 0)."""
    n = len(next(iter(scores.values()))) if scores else 0
    out = np.zeros(n, dtype=np.float64)
    for head, w in weights.items():
        if w and head in scores:
            out += w * scores[head]
    return out


class PriorRanker:
    """Smoothed rates shifted by user-video closeness (see the module docstring)."""

    name = "prior"
    version = "1"

    def predict(self, x: npt.NDArray[np.float32]) -> Scores:
        c = COL
        sim = x[:, c["sim"]]
        aff = x[:, c["x_creator"]] + x[:, c["x_hashtag_max"]] + x[:, c["x_sound"]]
        fol = x[:, c["x_follows"]]
        close = 3.0 * sim + 0.6 * aff + 0.6 * fol
        return {
            "complete": _sigmoid(_logit(x[:, c["v_complete"]]) + close),
            "like": _sigmoid(_logit(x[:, c["v_like"]]) + close),
            "share": _sigmoid(_logit(x[:, c["v_share"]]) + 0.7 * close),
            "comment": _sigmoid(_logit(x[:, c["v_comment"]]) + 0.7 * close),
            "follow": _sigmoid(np.float32(-4.0) + 0.7 * close - 3.0 * fol),
            "skip": _sigmoid(_logit(x[:, c["v_skip"]]) - close),
            "watch": (x[:, c["v_watch_log"]] + 0.5 * sim).astype(np.float32),
        }

    async def score(self, rows: npt.NDArray[np.float32]) -> Scores:
        return self.predict(rows)


class TorchRanker:
    """``ml.ranker.MultiTaskRanker`` over ``FEATURES`` rows."""

    name = "mmoe"

    def __init__(self, model: Any, *, version: str = "0", device: str | None = None) -> None:
        import torch

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model = model.to(self.device).eval()
        self.version = version
        if model.n_features != len(FEATURES):
            raise ValueError(f"ranker takes {model.n_features} features, the feed builds {len(FEATURES)}")

    def predict(self, x: npt.NDArray[np.float32]) -> Scores:
        out = self.model.predict(x)
        return {h: np.asarray(v, dtype=np.float32) for h, v in out.items()}

    async def score(self, rows: npt.NDArray[np.float32]) -> Scores:
        # on a GPU the forward waits for the device: off the event loop. On CPU it is a page's few hundred
        # rows through a small network (about 0.6 ms, like the page's other stages, which run on the
        # loop): a worker thread would add a handoff and, on a busy replica, wait for the GIL between
        # torch's small ops (the ranking stage took 4.7 ms instead of 0.6 in `reel bench feed`)
        if self.device == "cpu":
            return self.predict(rows)
        return await asyncio.to_thread(self.predict, rows)

    def save(self, path: Path) -> None:
        import torch

        torch.save({"features": list(FEATURES), "n_features": self.model.n_features,
                    "config": self.model.cfg, "state_dict": self.model.state_dict(), "version": self.version},
                   path)


def load_ranker(uri: str | None, *, version: str | None = None) -> PriorRanker | TorchRanker:
    """The ranker artifact at ``uri`` (``ml.registry`` format: a dict with ``state_dict``,
    ``features``, ``n_features`` and optionally ``config``), else the prior ranker.

    Raises ``ValueError`` when the artifact was trained on another feature layout than
    ``FEATURES``: feeding it the feed's rows would give meaningless scores.
    """
    if not uri:
        return PriorRanker()
    from ml.ranker import MultiTaskRanker, RankerConfig
    from ml.registry import load_artifact

    blob = load_artifact(uri)
    if tuple(blob.get("features", ())) != FEATURES:
        head = tuple(blob.get("features", ()))[:4]
        raise ValueError(f"ranker artifact {uri} was trained on features {head}... but the feed builds "
                         "serve.feed.features.FEATURES; train the ranker on those rows")
    cfg = blob.get("config")
    model = MultiTaskRanker(int(blob["n_features"]), cfg if isinstance(cfg, RankerConfig) else RankerConfig())
    model.load_state_dict(blob["state_dict"])
    return TorchRanker(model, version=version or str(blob.get("version", "0")))
