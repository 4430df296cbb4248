"""Confidence intervals for A/B metrics (pure, numpy): percentile bootstrap over users, ratio metrics, lift.

Users are the randomisation unit, so every resample draws users with replacement and a ratio metric
(e.g. completions / views) is recomputed as sum / sum over the drawn users — the bootstrap analogue of
the delta method. Seeds are explicit so a report is reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["CI", "bootstrap_lift", "bootstrap_ratio"]

CI = dict[str, float]


def _ci(point: float, draws: np.ndarray, level: float) -> CI:
    finite = draws[np.isfinite(draws)]
    if finite.size == 0:
        return {"mean": point, "lo": float("nan"), "hi": float("nan")}
    a = (1 - level) / 2
    lo, hi = np.quantile(finite, [a, 1 - a])
    return {"mean": point, "lo": float(lo), "hi": float(hi)}


def _ratio(num: np.ndarray, den: np.ndarray) -> float:
    d = float(den.sum())
    return float(num.sum()) / d if d > 0 else float("nan")


def _draws(num: np.ndarray, den: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    n = num.size
    if n == 0:
        return np.full(resamples, np.nan)
    idx = rng.integers(0, n, size=(resamples, n))
    s_num = num[idx].sum(axis=1)
    s_den = den[idx].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s_den > 0, s_num / np.where(s_den > 0, s_den, 1), np.nan)


def bootstrap_ratio(
    num: Sequence[float],
    den: Sequence[float] | None = None,
    *,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> CI:
    """CI of sum(num) / sum(den) over users (``den`` None: the mean of ``num`` per user)."""
    x = np.asarray(num, dtype=np.float64)
    y = np.ones_like(x) if den is None else np.asarray(den, dtype=np.float64)
    rng = np.random.default_rng(seed)
    return _ci(_ratio(x, y), _draws(x, y, resamples, rng), level)


def bootstrap_lift(
    treat: tuple[Sequence[float], Sequence[float] | None],
    control: tuple[Sequence[float], Sequence[float] | None],
    *,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> CI:
    """CI of the relative lift treatment / control - 1 (each arm resampled independently)."""
    rng = np.random.default_rng(seed)
    out = []
    points = []
    for num, den in (treat, control):
        x = np.asarray(num, dtype=np.float64)
        y = np.ones_like(x) if den is None else np.asarray(den, dtype=np.float64)
        points.append(_ratio(x, y))
        out.append(_draws(x, y, resamples, rng))
    with np.errstate(divide="ignore", invalid="ignore"):
        lifts = out[0] / out[1] - 1.0
        point = points[0] / points[1] - 1.0 if points[1] else float("nan")
    return _ci(float(point), lifts, level)
