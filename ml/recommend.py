"""The in-process feed path of the models: multi-source retrieval, features, and multi-task ranking.

``PlatformState.build(events, now_us)`` folds what the platform knows at ``now_us`` (only events
before it): the feature store and trending projections (the platform's own folds), the catalog
(content of every published video), per-user outcomes, item-to-item co-occurrence, and the trained
two-tower with its HNSW index over every published video. ``candidates`` unions the retrieval
sources — two-tower ANN, co-occurrence with the user's recent positives, trending at ``now_us``,
the user's creator/sound affinities, and a fresh pool of videos nobody has engaged with yet (scored
by content through the video tower) — and ``features`` builds the ranker's rows: user, video, cross
(``projections.features.cross_features``), source scores and context. ``Recommender`` adds the
trained ``MultiTaskRanker`` and its ``Blend`` and answers ``recommend(user, k, exclude)``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence, Set
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import torch

from events import Event, UserRegistered
from projections import features as fs
from projections import trending as tr
from projections.base import DictView, apply

from .ann import AnnIndex
from .content import TextEncoder, VideoCatalog, VideoContent, content_matrix
from .history import Interaction, Outcome, interactions, outcomes
from .ranker import Blend, MultiTaskRanker, RankerEnsemble
from .tower_data import tower_examples, user_inputs
from .two_tower import TowerConfig, TwoTower, train_two_tower

__all__ = ["FEATURES", "PlatformState", "RecConfig", "Recommender"]

_HOUR = 3_600_000_000
FEATURES = (
    "trend6h",
    "trend24h",
    "trend_rank",
    "v_views",
    "v_likes",
    "v_hates",
    "v_like_rate",
    "v_complete_rate",
    "v_skip_rate",
    "v_share_rate",
    "v_pos_users",
    "v_hate_ratio",
    "v_age_h",
    "v_since_engaged_h",
    "v_new",
    "v_dur",
    "x_creator",
    "x_hashtag_max",
    "x_hashtag_sum",
    "x_sound",
    "u_views",
    "u_likes",
    "u_hate_ratio",
    "cooc",
    "cooc_rank",
    "tower",
    "tower_rank",
    "src_ann",
    "src_cooc",
    "src_trend",
    "src_aff",
    "src_fresh",
)


@dataclass(frozen=True, slots=True)
class RecConfig:
    ann_k: int = 200
    cooc_k: int = 200
    trend_k: int = 300
    affinity_k: int = 100
    fresh_k: int = 100
    recent: int = 20
    longterm: int = 50
    tower: TowerConfig = field(default_factory=TowerConfig)
    blend: Blend = field(default_factory=Blend)
    text: str = "minilm"  # or "hashing" (actors.embeddings.ContentEncoder's feature hashing)


class _HashingText:
    """Feature-hashed caption/hashtag vectors (the content encoder the shards start with)."""

    dim = 64

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        from actors.embeddings import ContentEncoder

        enc = ContentEncoder(self.dim)
        return (
            np.stack(
                [enc.encode(video_id="", caption=t) if t else np.zeros(self.dim, np.float32) for t in texts]
            )
            if texts
            else np.zeros((0, self.dim), np.float32)
        )


def text_encoder(name: str) -> TextEncoder:
    if name == "hashing":
        return _HashingText()
    from .text_encoder import MiniLMEncoder

    return MiniLMEncoder()


@dataclass
class PlatformState:
    now_us: int
    videos: list[str]
    vrow: dict[str, int]
    catalog: dict[str, VideoContent]
    content: np.ndarray
    id_rows: np.ndarray  # per video row: its ID-embedding row (0 = none yet)
    feats: DictView
    trend6: DictView
    trend24: DictView
    trend_cfg24: tr.TrendingConfig
    pairs: dict[tuple[str, str], Outcome]
    user_pos: dict[str, list[tuple[int, int, float]]]  # user -> [(ts, video row, weight)] time order
    user_seen: dict[str, set[int]]
    user_ctx: dict[str, np.ndarray]
    v_pos_users: np.ndarray
    v_hates: np.ndarray
    v_last: np.ndarray
    cooc: sp.csr_matrix
    tower: TwoTower
    video_vecs: np.ndarray
    index: AnnIndex
    trend_top: list[int]
    trend_scores: np.ndarray
    trend24_scores: np.ndarray
    by_creator: dict[str, list[int]]
    by_sound: dict[str, list[int]]
    fresh: list[int]

    @classmethod
    def build(
        cls,
        events: Sequence[Event],
        now_us: int,
        cfg: RecConfig,
        *,
        text: TextEncoder | None = None,
        device: str = "cpu",
        catalog_events: Sequence[Event] | None = None,
    ) -> PlatformState:
        """Fold ``events`` with ``ts < now_us``; the catalog comes from ``catalog_events`` (default: the
        same events) so videos published later are still known by their content, never by behaviour."""
        past = [e for e in events if e.ts < now_us]
        catalog = VideoCatalog().observe_all(catalog_events if catalog_events is not None else past).videos
        videos = sorted(v for v, c in catalog.items() if not c.removed)
        vrow = {v: i for i, v in enumerate(videos)}
        content = content_matrix([catalog[v] for v in videos], text or text_encoder(cfg.text))
        feats, t6, t24 = DictView(), DictView(), DictView()
        cfg24 = tr.TrendingConfig(half_life_us=24 * _HOUR)
        p6, p24 = tr.TrendingProjection(), tr.TrendingProjection(cfg24)
        regions: dict[str, str] = {}
        ctx: dict[str, np.ndarray] = {}
        for e in past:
            apply(feats, fs.PROJECTION.fold(feats, e))
            apply(t6, p6.fold(t6, e))
            apply(t24, p24.fold(t24, e))
            if isinstance(e, UserRegistered):
                regions[e.user_id] = e.region
                ctx[e.user_id] = _context(e)
        recs = interactions(past)
        pairs = outcomes(recs)
        return cls._assemble(
            now_us, videos, vrow, catalog, content, feats, t6, t24, cfg24, recs, pairs, ctx, cfg, device
        )

    @classmethod
    def _assemble(
        cls,
        now_us: int,
        videos: list[str],
        vrow: dict[str, int],
        catalog: dict[str, VideoContent],
        content: np.ndarray,
        feats: DictView,
        t6: DictView,
        t24: DictView,
        cfg24: tr.TrendingConfig,
        recs: list[Interaction],
        pairs: dict[tuple[str, str], Outcome],
        ctx: dict[str, np.ndarray],
        cfg: RecConfig,
        device: str,
    ) -> PlatformState:
        n = len(videos)
        user_pos: dict[str, list[tuple[int, int, float]]] = defaultdict(list)
        user_seen: dict[str, set[int]] = defaultdict(set)
        v_pos_users = np.zeros(n)
        v_hates = np.zeros(n)
        v_last = np.full(n, -1, dtype=np.int64)
        for (u, v), o in pairs.items():
            r = vrow.get(v)
            if r is None:
                continue
            user_seen[u].add(r)
            v_last[r] = max(v_last[r], o.last_ts)
            if o.positive:
                user_pos[u].append((o.first_ts, r, o.weight))
                v_pos_users[r] += 1
            if o.hated:
                v_hates[r] += 1
        for lst in user_pos.values():
            lst.sort()
        # item-to-item cosine over users' positives
        users = sorted(user_pos)
        rows = [i for i, u in enumerate(users) for _ in user_pos[u]]
        cols = [r for u in users for _, r, _ in user_pos[u]]
        m = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(users), n))
        m.data[:] = 1.0
        norms = np.sqrt(np.asarray(m.sum(0)).ravel()) + 1e-9
        cooc = (sp.diags(1 / norms) @ (m.T @ m) @ sp.diags(1 / norms)).tocsr()
        cooc.setdiag(0)
        cooc.eliminate_zeros()
        # two-tower: ID rows for videos with a positive (admission threshold 1); the rest are content only
        id_rows = np.zeros(n, dtype=np.int64)
        known = np.flatnonzero(v_pos_users > 0)
        id_rows[known] = np.arange(1, len(known) + 1)
        torch.manual_seed(cfg.tower.seed)  # the initial weights too: a rebuild gives the same tower
        tower = TwoTower(len(known), content.shape[1], cfg.tower)
        data = tower_examples(user_pos, pairs, vrow, ctx, cfg)
        if len(data.pos) >= 2:
            train_two_tower(tower, data, id_rows, content, v_pos_users, device=device)
        tower.cpu().eval()
        with torch.inference_mode():
            vecs = tower.video_vectors(torch.as_tensor(id_rows), torch.as_tensor(content)).numpy()
        index = AnnIndex(vecs.shape[1], capacity=max(n, 1), m=16, ef_construction=200, ef=200)
        index.add(np.arange(n), vecs)
        t6s = np.array([tr.video_score(t6, v, now_us=now_us) for v in videos])
        t24s = np.array([tr.video_score(t24, v, now_us=now_us, config=cfg24) for v in videos])
        published = np.array([(catalog[v].published_ts or 0) < now_us for v in videos])
        trend_top = [int(i) for i in np.argsort(-t6s) if t6s[i] > 0 and published[i]][: cfg.trend_k]
        by_creator: dict[str, list[int]] = defaultdict(list)
        by_sound: dict[str, list[int]] = defaultdict(list)
        for i, v in enumerate(videos):
            c = catalog[v]
            by_creator[c.creator_id].append(i)
            if c.sound_id:
                by_sound[c.sound_id].append(i)
        fresh = [int(i) for i in np.flatnonzero(v_last < 0)]
        return cls(
            now_us,
            videos,
            vrow,
            catalog,
            content,
            id_rows,
            feats,
            t6,
            t24,
            cfg24,
            pairs,
            dict(user_pos),
            dict(user_seen),
            ctx,
            v_pos_users,
            v_hates,
            v_last,
            cooc,
            tower,
            vecs,
            index,
            trend_top,
            t6s,
            t24s,
            dict(by_creator),
            dict(by_sound),
            fresh,
        )

    # ------------------------------------------------------------------------------ retrieval
    def user_vector(self, user: str, cfg: RecConfig) -> np.ndarray | None:
        hist = self.user_pos.get(user)
        if not hist:
            return None
        inp = user_inputs(
            [hist], [self.user_ctx.get(user, np.zeros(cfg.tower.ctx_dim, np.float32))], cfg, self.now_us
        )
        with torch.inference_mode():
            u = self.tower.user_vectors(torch.as_tensor(self.video_vecs), *(torch.as_tensor(a) for a in inp))
        vec: np.ndarray = u.numpy()[0]
        return vec

    def candidates(self, user: str, cfg: RecConfig, exclude: set[int]) -> dict[int, dict[str, float]]:
        """video row -> per-source scores for the union of every retrieval source."""
        out: dict[int, dict[str, float]] = defaultdict(dict)
        uvec = self.user_vector(user, cfg)
        if uvec is not None:
            rows, sims = self.index.query(uvec, cfg.ann_k + len(exclude))
            for r, s in zip(rows.tolist(), sims.tolist(), strict=True):
                if r not in exclude:
                    out[r]["ann"] = s
        cooc = self.cooc_scores(user)
        if cooc is not None:
            for r in np.argsort(-cooc)[: cfg.cooc_k + len(exclude)]:
                if cooc[r] > 0 and int(r) not in exclude:
                    out[int(r)]["cooc"] = float(cooc[r])
        for r in self.trend_top:
            if r not in exclude:
                out[r]["trend"] = float(self.trend_scores[r])
        uf = fs.user_features(self.feats, user, now_us=self.now_us, k=10)
        aff: list[int] = []
        for c in uf.creators:
            aff += self.by_creator.get(c, [])
        for s in uf.sounds:
            aff += self.by_sound.get(s, [])
        for r in aff[: cfg.affinity_k]:
            if r not in exclude:
                out[r]["aff"] = 1.0
        if self.fresh and uvec is not None:
            fr = np.array(self.fresh)
            sc = self.video_vecs[fr] @ uvec
            for i in np.argsort(-sc)[: cfg.fresh_k]:
                if int(fr[i]) not in exclude:
                    out[int(fr[i])]["fresh"] = float(sc[i])
        elif self.fresh:
            for r in self.fresh[: cfg.fresh_k]:
                if r not in exclude:
                    out[r]["fresh"] = 0.0
        return out

    def cooc_scores(self, user: str, recent: int = 50) -> np.ndarray | None:
        hist = self.user_pos.get(user)
        if not hist:
            return None
        last = hist[-recent:]
        w = np.zeros(len(self.videos))
        for i, (_, r, wt) in enumerate(last):
            w[r] += wt * (0.5 ** ((len(last) - 1 - i) / 20.0))
        return np.asarray(self.cooc.T @ w, dtype=np.float64).ravel()

    # ------------------------------------------------------------------------------- features
    def features(
        self, user: str, rows: Sequence[int], sources: dict[int, dict[str, float]], cfg: RecConfig
    ) -> np.ndarray:
        """The ranker's rows (``FEATURES`` order) for ``user`` x ``rows`` at ``now_us``."""
        now = self.now_us
        vids = [self.videos[r] for r in rows]
        uf = fs.user_features(self.feats, user, now_us=now)
        vfs = fs.video_features_many(self.feats, vids)
        idx = np.asarray(rows, dtype=np.int64)
        uvec = self.user_vector(user, cfg)
        tower = self.video_vecs[idx] @ uvec if uvec is not None else np.zeros(len(rows))
        cooc_all = self.cooc_scores(user)
        cooc = cooc_all[idx] if cooc_all is not None else np.zeros(len(rows))
        seen = self.user_seen.get(user, set())
        n_seen = len(seen)
        n_pos = len(self.user_pos.get(user, ()))
        x = np.zeros((len(rows), len(FEATURES)), dtype=np.float32)
        tr_rank = {r: i for i, r in enumerate(self.trend_top)}
        for i, (r, vf) in enumerate(zip(rows, vfs, strict=True)):
            c = self.catalog[vids[i]]
            cr = fs.cross_features(uf, vf)
            pub = c.published_ts if c.published_ts is not None and c.published_ts < now else now
            last = self.v_last[r]
            src = sources.get(r, {})
            x[i] = (
                math.log1p(self.trend_scores[r]),
                math.log1p(self.trend24_scores[r]),
                math.log1p(tr_rank.get(r, 1000)),
                math.log1p(vf.views),
                math.log1p(vf.likes),
                math.log1p(self.v_hates[r]),
                vf.like_rate,
                vf.completion_rate,
                vf.skip_rate,
                vf.share_rate,
                math.log1p(self.v_pos_users[r]),
                (self.v_hates[r] + 1) / (vf.views + 2),
                math.log1p((now - pub) / _HOUR),
                math.log1p((now - last) / _HOUR) if last >= 0 else 8.0,
                float(last < 0),
                math.log1p(c.duration_ms / 1000),
                math.log1p(cr.creator),
                math.log1p(cr.hashtag_max),
                math.log1p(cr.hashtag_sum),
                math.log1p(cr.sound),
                math.log1p(uf.views),
                math.log1p(uf.likes),
                (n_seen - n_pos + 1) / (n_seen + 2),
                cooc[i],
                0.0,
                tower[i],
                0.0,
                "ann" in src,
                "cooc" in src,
                "trend" in src,
                "aff" in src,
                "fresh" in src,
            )
        x[:, FEATURES.index("cooc_rank")] = _rank01(cooc)
        x[:, FEATURES.index("tower_rank")] = _rank01(tower)
        return x


def _rank01(a: np.ndarray) -> np.ndarray:
    """1.0 for the best of ``a``, falling toward 0 for the worst (rank within the candidate list)."""
    if len(a) == 0:
        return a
    order = np.argsort(-a, kind="stable")
    ranks = np.empty(len(a))
    ranks[order] = np.arange(len(a))
    return (1.0 / (1.0 + ranks / 10.0)).astype(np.float32)


def _context(e: UserRegistered) -> np.ndarray:
    """Region, language and age bucket, each hashed into 8 one-hot slots (24 floats)."""
    import zlib

    v = np.zeros(24, dtype=np.float32)
    v[zlib.crc32(e.region.encode()) % 8] = 1.0
    v[8 + zlib.crc32(e.language.encode()) % 8] = 1.0
    age = 0 if e.birth_year is None else 1 + min(6, max(0, (2026 - e.birth_year - 13) // 8))
    v[16 + age] = 1.0
    return v


class Recommender:
    """The retrieval + ranking path, in process: ``recommend(user, k, exclude)`` -> video ids."""

    def __init__(self, state: PlatformState, ranker: MultiTaskRanker | RankerEnsemble | None, cfg: RecConfig) -> None:
        self.state = state
        self.ranker = ranker
        self.cfg = cfg

    def score(self, user: str, rows: Sequence[int], sources: dict[int, dict[str, float]]) -> np.ndarray:
        x = self.state.features(user, rows, sources, self.cfg)
        if self.ranker is None:
            return x[:, FEATURES.index("trend6h")].astype(np.float64)
        return self.cfg.blend.score(self.ranker.predict(x))

    def recommend(self, user: str, k: int, exclude: Set[str] = frozenset()) -> list[str]:
        st = self.state
        ex = {st.vrow[v] for v in exclude if v in st.vrow} | st.user_seen.get(user, set())
        sources = st.candidates(user, self.cfg, ex)
        rows = [r for r in sources if r not in ex]
        if not rows:
            return []
        s = self.score(user, rows, sources)
        order = np.argsort(-s, kind="stable")[:k]
        return [st.videos[rows[i]] for i in order]
