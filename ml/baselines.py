"""Standard recommendation baselines the evaluation compares against, fitted on the training split only.

Each baseline gives a score for every catalogue video per user (higher = better): ``random``,
``popular`` (users with a positive in training), ``itemknn`` (cosine similarity of co-occurrence
in users' positives, summed over the user's training positives) and ``als`` (implicit's
alternating least squares on the positive matrix, confidence-weighted).
"""

from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp

__all__ = ["Baselines"]


class Baselines:
    """Fitted on a (users x videos) 0/1 matrix of training positives."""

    def __init__(
        self,
        positives: sp.csr_matrix,
        *,
        seed: int = 0,
        als_factors: int = 64,
        als_reg: float = 0.05,
        als_iters: int = 15,
        als_alpha: float = 10.0,
    ) -> None:
        self.m = positives.tocsr().astype(np.float32)
        self.m.data[:] = 1.0
        self.rng = np.random.default_rng(seed)
        self.pop = np.asarray(self.m.sum(0)).ravel()
        norms = np.sqrt(self.pop) + 1e-9
        sim = (sp.diags(1 / norms) @ (self.m.T @ self.m) @ sp.diags(1 / norms)).tocsr()
        sim.setdiag(0)
        sim.eliminate_zeros()
        self.sim = sim
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        from implicit.als import AlternatingLeastSquares

        self.als = AlternatingLeastSquares(
            factors=als_factors,
            regularization=als_reg,
            iterations=als_iters,
            random_state=seed,
            calculate_training_loss=False,
        )
        self.als.fit(sp.csr_matrix(self.m * als_alpha), show_progress=False)
        uf, itf = self.als.user_factors, self.als.item_factors
        self.user_f = np.asarray(uf.to_numpy() if hasattr(uf, "to_numpy") else uf)
        self.item_f = np.asarray(itf.to_numpy() if hasattr(itf, "to_numpy") else itf)

    def scores(self, method: str, user_row: int | None) -> np.ndarray:
        n = self.m.shape[1]
        out: np.ndarray
        if method == "random":
            out = self.rng.random(n)
            return out
        if method == "popular":
            return self.pop.astype(np.float64)
        if user_row is None:  # a user without training positives: nothing personal to go on
            return self.pop.astype(np.float64) * 1e-9
        if method == "itemknn":
            out = np.asarray((self.m[user_row] @ self.sim).todense()).ravel().astype(np.float64)
            return out
        if method == "als":
            out = (self.item_f @ self.user_f[user_row]).astype(np.float64)
            return out
        raise ValueError(f"unknown baseline {method!r}")
