"""Two-tower inputs from users' engagement histories: training examples and serving-time user inputs.

An example is one positive engagement; its history is strictly the user's earlier positives (so
nothing from the example's own time or later leaks into its user vector). The recent pool is the
last ``recent`` positives weighted by engagement; the long-term pool the last ``longterm``, also
decayed with a 7-day half-life to the example's time. The hard negative is one of the user's
skipped / "not interested" videos.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .history import Outcome
from .two_tower import TowerData

if TYPE_CHECKING:
    from .recommend import RecConfig

__all__ = ["tower_examples", "user_inputs"]

_WEEK_US = 7 * 86_400_000_000

History = list[tuple[int, int, float]]  # (ts, video row, engagement weight), time order


def _pools(
    hist: History, at: int, recent: int, longterm: int
) -> tuple[list[int], list[float], list[int], list[float]]:
    r = hist[-recent:]
    lt = hist[-longterm:]
    return (
        [v for _, v, _ in r],
        [w for _, _, w in r],
        [v for _, v, _ in lt],
        [w * 0.5 ** ((at - t) / _WEEK_US) for t, _, w in lt],
    )


def _pad(rows: list[list[int]], ws: list[list[float]], width: int) -> tuple[np.ndarray, np.ndarray]:
    h = np.full((len(rows), width), -1, dtype=np.int64)
    w = np.zeros((len(rows), width), dtype=np.float32)
    for i, (r, x) in enumerate(zip(rows, ws, strict=True)):
        if r:
            h[i, : len(r)] = r
            w[i, : len(x)] = x
    return h, w


def user_inputs(
    hists: Sequence[History], ctxs: Sequence[np.ndarray], cfg: RecConfig, now_us: int
) -> tuple[np.ndarray, ...]:
    """(hist, hist_w, long, long_w, ctx) arrays for users whose full history is ``hists``."""
    pools = [_pools(h, now_us, cfg.recent, cfg.longterm) for h in hists]
    h, hw = _pad([p[0] for p in pools], [p[1] for p in pools], cfg.recent)
    lh, lw = _pad([p[2] for p in pools], [p[3] for p in pools], cfg.longterm)
    return h, hw, lh, lw, np.stack(ctxs).astype(np.float32)


def tower_examples(
    user_pos: dict[str, History],
    pairs: dict[tuple[str, str], Outcome],
    vrow: dict[str, int],
    ctx: dict[str, np.ndarray],
    cfg: RecConfig,
    seed: int = 0,
) -> TowerData:
    rng = np.random.default_rng(seed)
    negs: dict[str, list[int]] = {}
    for (u, v), o in pairs.items():
        if o.negative and v in vrow:
            negs.setdefault(u, []).append(vrow[v])
    pos, hists, hws, longs, lws, ctxs, hard = [], [], [], [], [], [], []
    zero = np.zeros(cfg.tower.ctx_dim, dtype=np.float32)
    for u in sorted(user_pos):
        hist = user_pos[u]
        un = negs.get(u, [])
        for p in range(1, len(hist)):  # the first positive has no history to predict it from
            ts, row, _ = hist[p]
            a, b, c, d = _pools(hist[:p], ts, cfg.recent, cfg.longterm)
            pos.append(row)
            hists.append(a)
            hws.append(b)
            longs.append(c)
            lws.append(d)
            ctxs.append(ctx.get(u, zero))
            hard.append(int(un[rng.integers(len(un))]) if un else -1)
    h, hw = _pad(hists, hws, cfg.recent)
    lh, lw = _pad(longs, lws, cfg.longterm)
    return TowerData(
        pos=np.asarray(pos, dtype=np.int64),
        hist=h,
        hist_w=hw,
        long_hist=lh,
        long_w=lw,
        ctx=np.stack(ctxs).astype(np.float32) if ctxs else np.zeros((0, cfg.tower.ctx_dim), np.float32),
        hard=np.asarray(hard, dtype=np.int64),
    )
