"""The ranker's input rows, built live for one request: user, video, cross, source and context features.

``FEATURES`` names the columns; a trained ranker artifact records the tuple it was trained on and
is refused when it differs. Video rates are the feature store's counts smoothed toward its Beta
priors (``projections.features.smoothed``, in bulk), so a new video's row is its prior; cross
features are the user's decayed affinities to the video's creator, hashtags and sound
(``projections.features.cross_features``' definition); similarities come from the user vectors and
the catalogue's embeddings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import repeat

import numpy as np
import numpy.typing as npt

from actors.view import UserView, session_vector
from projections.features import DEFAULT_CONFIG, FeatureConfig, UserFeatures, VideoStats

from .candidates import SOURCE_NAMES, Candidate, Columns
from .catalogue import Catalogue

__all__ = ["COL", "FEATURES", "STATS_COLUMNS", "build_rows", "stats_matrix"]

FEATURES = (
    "sim", "sim_short", "sim_long", "src_ann", "src_following", "src_affinity", "src_trending", "src_fresh",
    "retrieval", "v_views_log", "v_impr_log", "v_complete", "v_like", "v_share", "v_comment", "v_skip",
    "v_watch_log", "x_creator", "x_hashtag_max", "x_hashtag_sum", "x_sound", "x_follows", "age_h_log",
    "u_personalisation", "u_views_log",
)
COL = {name: i for i, name in enumerate(FEATURES)}
_SRC = {"ann": COL["src_ann"], "following": COL["src_following"], "affinity": COL["src_affinity"],
        "trending": COL["src_trending"], "fresh": COL["src_fresh"]}
#: per source code (``candidates.SOURCE_NAMES``): its one-hot column, -1 for the fallback chain's sources
_SRC_COL = np.array([_SRC.get(name, -1) for name in SOURCE_NAMES], dtype=np.int64)
#: per rate column: its count's column in ``stats_matrix`` and its prior (per view)
_RATES = (("v_complete", 2, "complete"), ("v_like", 3, "like"), ("v_share", 4, "share"),
          ("v_comment", 5, "comment"), ("v_skip", 6, "skip"))


def _unit(v: Sequence[float] | npt.NDArray[np.float32]) -> npt.NDArray[np.float32] | None:
    a = np.asarray(v, dtype=np.float32)
    n = float(np.linalg.norm(a)) if a.size else 0.0
    return None if n < 1e-6 else a / n


class _Lookup:
    """A user's affinities (name -> score) keyed by the catalogue's interned ids, for array lookups."""

    __slots__ = ("scores",)

    def __init__(self, cat: Catalogue, scores: dict[str, float]) -> None:
        ids = cat.names.ids
        self.scores = {i: float(v) for name, v in scores.items() if (i := ids.get(name)) is not None}

    def __call__(self, ids: npt.NDArray[np.int32]) -> npt.NDArray[np.float64]:
        """Score per id (0 where the user has none, or the id is ``NONE``), same shape as ``ids``."""
        if not self.scores:
            return np.zeros(ids.shape, dtype=np.float64)
        get = self.scores.get
        flat = ids.ravel().tolist()
        return np.fromiter(map(get, flat, repeat(0.0)), dtype=np.float64, count=len(flat)).reshape(ids.shape)


#: the per-video counts ``build_rows`` reads, as the columns of ``stats_matrix``
STATS_COLUMNS = ("views", "impressions", "completes", "likes", "shares", "comments", "skips", "watch_ms")


def stats_matrix(stats: Sequence[VideoStats | None]) -> npt.NDArray[np.float64]:
    """The counts of ``stats`` as rows, columns ``STATS_COLUMNS`` (zeros for None: nothing known yet)."""
    e = (0, 0, 0, 0, 0, 0, 0, 0)
    rows = [e if s is None else (s.views, s.impressions, s.completes, s.likes, s.shares, s.comments, s.skips,
                                 s.watch_ms) for s in stats]
    return np.array(rows, dtype=np.float64).reshape(len(rows), 8)


def build_rows(cat: Catalogue, cands: Columns | Sequence[Candidate], view: UserView | None,
               user: UserFeatures | None, stats: Sequence[VideoStats | None] | npt.NDArray[np.float64], *,
               user_vec: npt.NDArray[np.float32] | None, now_us: int,
               config: FeatureConfig = DEFAULT_CONFIG,
               session_vec: npt.NDArray[np.float32] | None = None) -> npt.NDArray[np.float32]:
    """One float32 row per candidate, columns as ``FEATURES`` (column-wise array work, no per-row loop).

    ``stats``: the feature store's counts per candidate, as ``VideoStats`` (or None) or already as
    ``stats_matrix`` rows; ``session_vec``: the view's session vector at ``now_us`` if the caller has it."""
    cols = cands if isinstance(cands, Columns) else Columns.of(cands)
    n = len(cols)
    x = np.zeros((n, len(FEATURES)), dtype=np.float32)
    if not n:
        return x
    labels = cols.labels
    emb = cat.index.vectors[labels]
    if user_vec is not None:
        x[:, COL["sim"]] = emb @ user_vec
    if view is not None:
        s = _unit(session_vector(view, now_us) if session_vec is None else session_vec)
        if s is not None:
            x[:, COL["sim_short"]] = emb @ s
        lv = _unit(view.long)
        if lv is not None:
            x[:, COL["sim_long"]] = emb @ lv
        x[:, COL["u_personalisation"]] = view.personalisation
        x[:, COL["u_views_log"]] = math.log1p(view.counts.views)
    x[:, COL["age_h_log"]] = np.log1p(np.maximum(now_us - cat.published_us[labels], 0) / 3.6e9)
    src = _SRC_COL[cols.codes]
    one_hot = np.flatnonzero(src >= 0)
    x[one_hot, src[one_hot]] = 1.0
    x[:, COL["retrieval"]] = cols.retrieval
    m = stats if isinstance(stats, np.ndarray) else stats_matrix(stats)
    views = m[:, 0]
    x[:, COL["v_views_log"]] = np.log1p(views)
    x[:, COL["v_impr_log"]] = np.log1p(m[:, 1])
    for col, j, prior in _RATES:
        a, b = config.priors[prior]
        counts = m[:, j]
        if prior in ("like", "share", "comment"):
            counts = np.minimum(counts, views)
        x[:, COL[col]] = (counts + a) / (views + a + b)
    x[:, COL["v_watch_log"]] = np.log1p(np.divide(m[:, 7], views, out=np.zeros(n), where=views > 0) / 1000.0)
    creators, sounds = cat.creator[labels], cat.sound[labels]
    if view is not None and view.following:
        follow = _Lookup(cat, dict.fromkeys(view.following, 1.0))
        x[:, COL["x_follows"]] = follow(creators)
    if user is None or not user.known:
        return x
    if user.creators:
        x[:, COL["x_creator"]] = np.log1p(_Lookup(cat, user.creators)(creators))
    if user.hashtags:
        tags = cat.tag_matrix(labels)
        vals = _Lookup(cat, user.hashtags)(tags)  # (n, width); padding looks up to 0
        has = tags >= 0
        if tags.shape[1]:
            total = vals[:, 0].copy()
            for j in range(1, tags.shape[1]):  # left to right, like a running sum over the video's tags
                total += vals[:, j]
            best = np.where(has, vals, -np.inf).max(axis=1)
            some = has[:, 0]
            x[:, COL["x_hashtag_max"]] = np.where(some, np.log1p(np.where(some, best, 0.0)), 0.0)
            x[:, COL["x_hashtag_sum"]] = np.where(some, np.log1p(total), 0.0)
    if user.sounds:
        x[:, COL["x_sound"]] = np.log1p(_Lookup(cat, user.sounds)(sounds))
    return x
