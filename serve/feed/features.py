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

import numpy as np
import numpy.typing as npt

from actors.view import UserView, session_vector
from projections.features import DEFAULT_CONFIG, FeatureConfig, UserFeatures, VideoStats

from .candidates import Candidate
from .catalogue import Catalogue

__all__ = ["COL", "FEATURES", "build_rows"]

FEATURES = (
    "sim", "sim_short", "sim_long", "src_ann", "src_following", "src_affinity", "src_trending", "src_fresh",
    "retrieval", "v_views_log", "v_impr_log", "v_complete", "v_like", "v_share", "v_comment", "v_skip",
    "v_watch_log", "x_creator", "x_hashtag_max", "x_hashtag_sum", "x_sound", "x_follows", "age_h_log",
    "u_personalisation", "u_views_log",
)
COL = {name: i for i, name in enumerate(FEATURES)}
_SRC = {"ann": COL["src_ann"], "following": COL["src_following"], "affinity": COL["src_affinity"],
        "trending": COL["src_trending"], "fresh": COL["src_fresh"]}
_EMPTY = VideoStats()
#: stats field per count column: completes, likes, shares, comments, skips (per view)
_RATES = (("v_complete", "completes", "complete"), ("v_like", "likes", "like"),
          ("v_share", "shares", "share"), ("v_comment", "comments", "comment"), ("v_skip", "skips", "skip"))


def _unit(v: Sequence[float]) -> npt.NDArray[np.float32] | None:
    a = np.asarray(v, dtype=np.float32)
    n = float(np.linalg.norm(a)) if a.size else 0.0
    return None if n < 1e-6 else a / n


def build_rows(cat: Catalogue, cands: Sequence[Candidate], view: UserView | None,
               user: UserFeatures | None, stats: Sequence[VideoStats | None], *,
               user_vec: npt.NDArray[np.float32] | None, now_us: int,
               config: FeatureConfig = DEFAULT_CONFIG) -> npt.NDArray[np.float32]:
    """One float32 row per candidate, columns as ``FEATURES``."""
    n = len(cands)
    x = np.zeros((n, len(FEATURES)), dtype=np.float32)
    if not n:
        return x
    labels = np.fromiter((c.label for c in cands), dtype=np.int64, count=n)
    emb = cat.index.vectors[labels]
    if user_vec is not None:
        x[:, COL["sim"]] = emb @ user_vec
    if view is not None:
        s = _unit(session_vector(view, now_us))
        if s is not None:
            x[:, COL["sim_short"]] = emb @ s
        lv = _unit(view.long)
        if lv is not None:
            x[:, COL["sim_long"]] = emb @ lv
        x[:, COL["u_personalisation"]] = view.personalisation
        x[:, COL["u_views_log"]] = math.log1p(view.counts.views)
    x[:, COL["age_h_log"]] = np.log1p(np.maximum(now_us - cat.published_us[labels], 0) / 3.6e9)
    x[np.arange(n), [_SRC[c.source] for c in cands]] = 1.0
    x[:, COL["retrieval"]] = [c.retrieval for c in cands]
    vs = [s or _EMPTY for s in stats]
    views = np.array([s.views for s in vs], dtype=np.float64)
    x[:, COL["v_views_log"]] = np.log1p(views)
    x[:, COL["v_impr_log"]] = np.log1p([s.impressions for s in vs])
    for col, attr, prior in _RATES:
        a, b = config.priors[prior]
        counts = np.array([getattr(s, attr) for s in vs], dtype=np.float64)
        if attr in ("likes", "shares", "comments"):
            counts = np.minimum(counts, views)
        x[:, COL[col]] = (counts + a) / (views + a + b)
    watch = np.array([s.watch_ms for s in vs], dtype=np.float64)
    x[:, COL["v_watch_log"]] = np.log1p(np.divide(watch, views, out=np.zeros(n), where=views > 0) / 1000.0)
    following = set(view.following) if view is not None else set()
    names = cat.names.names
    ucreators = user.creators if user is not None and user.known else {}
    utags = user.hashtags if user is not None and user.known else {}
    usounds = user.sounds if user is not None and user.known else {}
    creator_col, tmax_col, tsum_col, sound_col, fol_col = (
        COL["x_creator"], COL["x_hashtag_max"], COL["x_hashtag_sum"], COL["x_sound"], COL["x_follows"])
    creators, sounds = cat.creator[labels].tolist(), cat.sound[labels].tolist()
    for i, label in enumerate(labels.tolist()):
        c = creators[i]
        cname = names[c] if c >= 0 else None
        row = x[i]
        if cname is not None:
            if cname in following:
                row[fol_col] = 1.0
            if ucreators:
                row[creator_col] = math.log1p(ucreators.get(cname, 0.0))
        if utags:
            tags = [utags.get(names[h], 0.0) for h in cat.hashtags[label]]
            if tags:
                row[tmax_col] = math.log1p(max(tags))
                row[tsum_col] = math.log1p(sum(tags))
        if usounds and sounds[i] >= 0:
            row[sound_col] = math.log1p(usounds.get(names[sounds[i]], 0.0))
    return x
