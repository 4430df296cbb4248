"""Offline evaluation (``reel eval``): the project's retrieval + ranking path against standard baselines.

Protocol (docs/evaluation.md): the events are split globally by time — the first 80 % of the views
(by timestamp) are training, the rest test. Only training events reach any model. Test users are
those with a positive (completed / liked / shared, not "not interested") in the test period; their
truth is those positives on videos they did not touch in training. Every method ranks the same
candidates: every catalogue video the user did not interact with in training, including videos
first seen after the cut (known to the project by their content and metadata only; the baselines,
being behaviour-only, cannot score them above zero).

The project's ranker is trained on a validation split carved from the training period only: the
platform state folded up to 80 % of the training period, labels from the rest of it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from events import Event, VideoDetailsSubmitted, VideoPublished, VideoRemoved, VideoTranscoded, ViewEnded

from .baselines import Baselines
from .content import TextEncoder
from .distill import assess, distill_ranker
from .history import Outcome, interactions, outcomes
from .metrics import auc, ndcg_at_k, recall_at_k
from .ranker import HEADS, Blend, MultiTaskRanker, RankerConfig, RankerEnsemble, train_ranker_ensemble
from .recommend import PlatformState, RecConfig, Recommender

__all__ = ["EvalConfig", "evaluate", "ranker_examples", "time_cut"]

BASELINES = ("random", "popular", "itemknn", "als")
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class EvalConfig:
    train_fraction: float = 0.8
    val_fraction: float = 0.8  # of the training period: state before, ranker labels after
    k: int = 50
    seed: int = 0
    rec: RecConfig = field(default_factory=RecConfig)
    ranker_members: int = 5
    distill: bool = True  # serve one student distilled from the members (one forward per page)
    ranker: RankerConfig = field(default_factory=RankerConfig)
    device: str = "cpu"


def time_cut(events: Sequence[Event], fraction: float, *, before: int | None = None) -> int:
    """The timestamp splitting the views (all interactions when there are no views) at ``fraction``."""
    ts = sorted(e.ts for e in events if isinstance(e, ViewEnded) and (before is None or e.ts < before))
    if not ts:
        ts = sorted(r.ts for r in interactions(events) if before is None or r.ts < before)
    if not ts:
        raise ValueError("no interactions to split")
    return ts[min(len(ts) - 1, int(len(ts) * fraction))]


def _is_catalog(e: Event) -> bool:
    return isinstance(e, VideoDetailsSubmitted | VideoTranscoded | VideoPublished | VideoRemoved)


def ranker_examples(
    state: PlatformState, labels: dict[tuple[str, str], Outcome], users: Sequence[str], cfg: RecConfig
) -> tuple[np.ndarray, ...]:
    """Retrieved candidates of ``users`` at the state's time with their outcomes after it (negative
    sampling: retrieved candidates the user did not engage with are negatives of every head)."""
    xs, ys, ms, ws, wms, gs = [], [], [], [], [], []
    for gi, u in enumerate(users):
        seen = state.user_seen.get(u, set())
        sources = state.candidates(u, cfg, seen)
        rows = [r for r in sources if r not in seen]
        if not rows:
            continue
        x = state.features(u, rows, sources, cfg)
        y = np.zeros((len(rows), len(HEADS)), dtype=np.float32)
        watch = np.zeros(len(rows), dtype=np.float32)
        wm = np.zeros(len(rows), dtype=np.float32)
        for i, r in enumerate(rows):
            o = labels.get((u, state.videos[r]))
            if o is None:
                continue
            y[i] = (
                o.complete and not o.hated,
                o.positive and (o.liked or not o.hated),
                o.shared,
                o.commented,
                False,
                o.negative,
            )
            if o.viewed:
                watch[i], wm[i] = np.log1p(o.watch_ms / 1000.0), 1.0
        xs.append(x)
        ys.append(y)
        ms.append(np.ones_like(y))
        ws.append(watch)
        wms.append(wm)
        gs.append(np.full(len(rows), gi))
    if not xs:
        raise ValueError("no ranker training examples: the validation window has no engaged users")
    return (
        np.concatenate(xs),
        np.concatenate(ys),
        np.concatenate(ms),
        np.concatenate(ws),
        np.concatenate(wms),
        np.concatenate(gs),
    )


def fit_ranker(
    events: Sequence[Event], cut_us: int, cfg: EvalConfig, progress: Progress, text: TextEncoder
) -> tuple[MultiTaskRanker | RankerEnsemble, dict[str, float], RankerEnsemble]:
    """Train the ranker on [start, cut): state folded to the validation cut, labels after it; with
    ``cfg.distill`` the served model is one student distilled from the ensemble (``ml.distill``).
    Returns the served model, its validation figures and the ensemble (the teacher)."""
    val_cut = time_cut(events, cfg.val_fraction, before=cut_us)
    catalog = [e for e in events if _is_catalog(e) and e.ts < cut_us]
    progress(f"ranker: platform state at the validation cut ({len(events):,} events)")
    state = PlatformState.build(
        events, val_cut, cfg.rec, text=text, device=cfg.device, catalog_events=catalog
    )
    labels = outcomes(r for r in interactions(events) if val_cut <= r.ts < cut_us)
    labels = {k: o for k, o in labels.items() if state.vrow.get(k[1]) not in state.user_seen.get(k[0], set())}
    users = sorted({u for (u, _), o in labels.items() if o.positive})
    progress(f"ranker: examples for {len(users)} users")
    x, y, m, w, wm, g = ranker_examples(state, labels, users, cfg.rec)
    progress(f"ranker: training on {len(x):,} rows ({int(y[:, 1].sum()):,} positives)")
    rng = np.random.default_rng(cfg.seed)
    val_users = rng.random(int(g.max()) + 1) < 0.2
    is_val = val_users[g]
    ensemble, report = train_ranker_ensemble(
        x, y, m, w, wm, members=cfg.ranker_members, cfg=cfg.ranker, device=cfg.device, groups=g, is_val=is_val
    )
    model: MultiTaskRanker | RankerEnsemble = ensemble
    report.update(assess(ensemble.predict, x[is_val], y[is_val], m[is_val], "teacher_"))
    if cfg.distill:
        progress(f"ranker: distilling {cfg.ranker_members} members into one network")
        model, student = distill_ranker(ensemble, x, y, m, w, wm, is_val=is_val, cfg=cfg.ranker, device=cfg.device)
        report.update({f"student_{k}": v for k, v in student.items() if k.startswith("ece_")})
        report.update(assess(model.predict, x[is_val], y[is_val], m[is_val], "student_"))
    # the blend's skip weight, chosen by NDCG@10 of the held-out validation users (training period only)
    preds = model.predict(x[is_val])
    best: tuple[float, float] = (-1.0, 0.0)
    for skip_w in (0.0, -0.25, -0.5, -1.0, -2.0):
        weights = {**cfg.rec.blend.weights, "skip": skip_w}
        score = Blend(weights).score(preds)
        nd = _group_ndcg(score, y[is_val, HEADS.index("like")], g[is_val])
        report[f"val_ndcg@10_skip{skip_w}"] = nd
        if nd > best[0]:
            best = (nd, skip_w)
    report["blend_skip_weight"] = best[1]
    return model, report, ensemble


def _group_ndcg(score: np.ndarray, label: np.ndarray, groups: np.ndarray, k: int = 10) -> float:
    out = []
    for gid in np.unique(groups):
        sel = np.flatnonzero(groups == gid)
        truth = {int(i) for i in sel[label[sel] > 0]}
        if truth:
            ranked = [int(i) for i in sel[np.argsort(-score[sel], kind="stable")]]
            out.append(ndcg_at_k([str(i) for i in ranked], {str(i) for i in truth}, k))
    return float(np.mean(out)) if out else 0.0


def evaluate(
    events: Sequence[Event],
    cfg: EvalConfig = EvalConfig(),
    *,
    progress: Progress = lambda s: None,
    text: TextEncoder | None = None,
) -> dict[str, object]:
    """Run the protocol of the module docstring; returns the JSON-ready result."""
    from .recommend import text_encoder

    text = text if text is not None else text_encoder(cfg.rec.text)
    events = sorted(events, key=lambda e: e.ts)
    cut = time_cut(events, cfg.train_fraction)
    train = [e for e in events if e.ts < cut]
    catalog = [e for e in events if _is_catalog(e)]
    recs = interactions(events)
    train_pairs = outcomes(r for r in recs if r.ts < cut)
    test_pairs = outcomes(r for r in recs if r.ts >= cut)
    seen_train: dict[str, set[str]] = defaultdict(set)
    for u, v in train_pairs:
        seen_train[u].add(v)
    truth: dict[str, set[str]] = defaultdict(set)
    for (u, v), o in test_pairs.items():
        if o.positive and v not in seen_train[u]:
            truth[u].add(v)
    ranker, calib, teacher = fit_ranker(train, cut, cfg, progress, text)
    rcfg = replace(cfg.rec, blend=Blend({**cfg.rec.blend.weights, "skip": calib["blend_skip_weight"]}))
    progress("project: platform state at the cut")
    state = PlatformState.build(train, cut, rcfg, text=text, device=cfg.device, catalog_events=catalog)
    rec = Recommender(state, ranker, rcfg)
    # baselines on the same catalogue and split
    users = sorted(truth)
    all_users = sorted({u for u, _ in train_pairs} | set(users))
    urow = {u: i for i, u in enumerate(all_users)}
    pos = [(urow[u], state.vrow[v]) for (u, v), o in train_pairs.items() if o.positive and v in state.vrow]
    mat = sp.csr_matrix(
        (np.ones(len(pos)), ([p[0] for p in pos], [p[1] for p in pos])),
        shape=(len(all_users), len(state.videos)),
    )
    progress("baselines: fitting")
    base = Baselines(mat, seed=cfg.seed)
    has_pos = set(np.flatnonzero(np.asarray(mat.sum(1)).ravel() > 0).tolist())
    ranked: dict[str, dict[str, list[str]]] = {m: {} for m in ("project", *BASELINES)}
    progress(f"ranking for {len(users)} test users")
    for u in users:
        ex = {state.vrow[v] for v in seen_train[u] if v in state.vrow}
        ranked["project"][u] = rec.recommend(u, cfg.k)
        for m in BASELINES:
            s = base.scores(m, urow[u] if urow[u] in has_pos else None).copy()
            if ex:
                s[list(ex)] = -np.inf
            top = np.argpartition(-s, cfg.k)[: cfg.k]
            top = top[np.argsort(-s[top], kind="stable")]
            ranked[m][u] = [state.videos[i] for i in top]
    # AUC on the test period's liked vs disliked pairs (completed vs skipped where there are no dislikes)
    labelled = [(u, v, o) for (u, v), o in test_pairs.items() if v in state.vrow and (o.liked or o.hated)]
    if not any(o.hated for _, _, o in labelled) or not any(o.liked for _, _, o in labelled):
        labelled = [
            (u, v, o) for (u, v), o in test_pairs.items() if v in state.vrow and (o.complete or o.skip)
        ]
        lab = np.array([o.complete and not o.skip for _, _, o in labelled], dtype=float)
    else:
        lab = np.array([o.liked and not o.hated for _, _, o in labelled], dtype=float)
    aucs = _aucs(rec, base, urow, has_pos, labelled, lab)
    if teacher is not ranker:  # the ensemble the served model was distilled from, on the same pairs
        calib["test_auc_teacher"] = _aucs(Recommender(state, teacher, rcfg), base, urow, has_pos, labelled, lab,
                                          baselines=())["project"]
    out: dict[str, object] = {}
    cat = len(state.videos)
    for m in ("project", *BASELINES):
        lists = [ranked[m][u] for u in users]
        res = {
            "recall@10": _mean([recall_at_k(r, truth[u], 10) for u, r in zip(users, lists, strict=True)]),
            "recall@50": _mean([recall_at_k(r, truth[u], 50) for u, r in zip(users, lists, strict=True)]),
            "ndcg@10": _mean([ndcg_at_k(r, truth[u], 10) for u, r in zip(users, lists, strict=True)]),
            "coverage": len({v for r in lists for v in r[:10]}) / cat if cat else 0.0,
            "auc": aucs[m],
        }
        out[m] = res
    new_videos = {v for v in state.videos if (state.catalog[v].published_ts or 0) >= cut}
    split = {
        "cut_ts_us": cut,
        "train_events": len(train),
        "test_events": len(events) - len(train),
        "test_users": len(users),
        "test_positives": sum(len(t) for t in truth.values()),
        "test_positives_on_new_videos": sum(len(t & new_videos) for t in truth.values()),
        "catalogue": cat,
        "new_videos": len(new_videos),
        "auc_pairs": len(labelled),
        "ranker_validation": {k: float(v) for k, v in calib.items()},
        "k": cfg.k,
    }
    return {"project": out["project"], "baselines": {m: out[m] for m in BASELINES}, "split": split}


def _mean(xs: list[float]) -> float:
    return float(np.mean(xs)) if xs else 0.0


def _aucs(
    rec: Recommender,
    base: Baselines,
    urow: dict[str, int],
    has_pos: set[int],
    labelled: list[tuple[str, str, Outcome]],
    lab: np.ndarray,
    baselines: Sequence[str] = BASELINES,
) -> dict[str, float]:
    st = rec.state
    by_user: dict[str, list[int]] = defaultdict(list)
    for i, (u, _, _) in enumerate(labelled):
        by_user[u].append(i)
    scores = {m: np.zeros(len(labelled)) for m in ("project", *baselines)}
    for u, idx in by_user.items():
        rows = [st.vrow[labelled[i][1]] for i in idx]
        x = st.features(u, rows, st.candidates(u, rec.cfg, set()), rec.cfg)
        p = rec.ranker.predict(x) if rec.ranker is not None else {"like": x[:, 0], "skip": np.zeros(len(x))}
        # like vs dislike given an engagement: the like head against the skip / not-interested head
        scores["project"][idx] = p["like"] / (p["like"] + p["skip"] + 1e-9)
        r = urow.get(u)
        for m in baselines:
            s = base.scores(m, r if r is not None and r in has_pos else None)
            scores[m][idx] = s[rows]
    return {m: auc(s, lab) for m, s in scores.items()}
