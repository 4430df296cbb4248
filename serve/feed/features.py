"""The ranker's input rows, built live for one request: user, video, cross, source and context features.

``FEATURES`` names the columns; a trained ranker artifact records the tuple it was trained on and
is refused when it differs. Video rates come from the feature store (Beta-smoothed toward priors,
so a new video's row is its prior), cross features from ``projections.features.cross_features``,
similarities from the user vectors and the catalogue's embeddings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from actors.view import UserView, session_vector
from projections.features import UserFeatures, VideoFeatures, cross_features

from .candidates import Candidate
from .catalogue import Catalogue

__all__ = ["FEATURES", "build_rows"]

FEATURES = (
    "sim", "sim_short", "sim_long", "src_ann", "src_following", "src_affinity", "src_trending", "src_fresh",
    "retrieval", "v_views_log", "v_impr_log", "v_complete", "v_like", "v_share", "v_comment", "v_skip",
    "v_watch_log", "x_creator", "x_hashtag_max", "x_hashtag_sum", "x_sound", "x_follows", "age_h_log",
    "u_personalisation", "u_views_log",
)
COL = {name: i for i, name in enumerate(FEATURES)}
_SRC = {"ann": COL["src_ann"], "following": COL["src_following"], "affinity": COL["src_affinity"],
        "trending": COL["src_trending"], "fresh": COL["src_fresh"]}


def _unit(v: Sequence[float]) -> npt.NDArray[np.float32] | None:
    a = np.asarray(v, dtype=np.float32)
    n = float(np.linalg.norm(a)) if a.size else 0.0
    return None if n < 1e-6 else a / n


def build_rows(cat: Catalogue, cands: Sequence[Candidate], view: UserView | None,
               user: UserFeatures | None, videos: Sequence[VideoFeatures], *,
               user_vec: npt.NDArray[np.float32] | None, now_us: int) -> npt.NDArray[np.float32]:
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
    following = set(view.following) if view is not None else set()
    age_h = np.maximum(now_us - cat.published_us[labels], 0) / 3.6e9
    x[:, COL["age_h_log"]] = np.log1p(age_h)
    for i, (c, f) in enumerate(zip(cands, videos, strict=True)):
        row = x[i]
        row[_SRC[c.source]] = 1.0
        row[COL["retrieval"]] = c.retrieval
        row[COL["v_views_log"]] = math.log1p(f.views)
        row[COL["v_impr_log"]] = math.log1p(f.impressions)
        row[COL["v_complete"]] = f.completion_rate
        row[COL["v_like"]] = f.like_rate
        row[COL["v_share"]] = f.share_rate
        row[COL["v_comment"]] = f.comment_rate
        row[COL["v_skip"]] = f.skip_rate
        row[COL["v_watch_log"]] = math.log1p(f.mean_watch_ms / 1000.0)
        creator = cat.creator_of(c.label)
        if creator is not None and creator in following:
            row[COL["x_follows"]] = 1.0
        if user is not None and user.known:
            cf = cross_features(user, f)
            row[COL["x_creator"]] = math.log1p(cf.creator)
            row[COL["x_hashtag_max"]] = math.log1p(cf.hashtag_max)
            row[COL["x_hashtag_sum"]] = math.log1p(cf.hashtag_sum)
            row[COL["x_sound"]] = math.log1p(cf.sound)
    return x
