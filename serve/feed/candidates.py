"""Retrieval: the union of the candidate sources, deduplicated and filtered, with a retrieval score each.

Sources, in priority order (a video found by several keeps the first): ``ann`` (HNSW from the user
vector: a blend of session and long-term vectors), ``following`` (followed creators' newest videos),
``affinity`` (newest videos of the user's top hashtags and sounds), ``trending`` (the viewer's region,
then global) and ``fresh`` (a random sample of the newest published videos: the exploration pool).
The retrieval score orders candidates when ranking is unavailable (the "retrieval order" fallback).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from actors.view import UserView, session_vector

from .catalogue import Catalogue
from .filters import Viewer

__all__ = [
    "SOURCES", "SOURCE_CODE", "SOURCE_NAMES", "Candidate", "Columns", "Pool",
    "affinity_names", "fresh_sample", "trending_candidates", "user_vector",
]

SOURCES = ("ann", "following", "affinity", "trending", "fresh")
#: every source a candidate can come from: the retrieval ``SOURCES``, then the fallback chain's
SOURCE_NAMES = (*SOURCES, "last_feed", "trending_region", "trending_global")
SOURCE_CODE = {name: code for code, name in enumerate(SOURCE_NAMES)}


@dataclass(slots=True)
class Candidate:
    label: int
    video_id: str
    source: str
    retrieval: float


@dataclass(frozen=True, slots=True)
class Columns:
    """Candidates as arrays, one entry each: catalogue labels, source codes (``SOURCE_NAMES`` index) and
    retrieval scores. The feed's hot path works on these; ``Candidate`` objects are for the few it shows."""

    labels: npt.NDArray[np.int64]
    codes: npt.NDArray[np.int8]
    retrieval: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def of(cls, cands: Sequence[Candidate]) -> Columns:
        n = len(cands)
        return cls(np.fromiter((c.label for c in cands), dtype=np.int64, count=n),
                   np.fromiter((SOURCE_CODE[c.source] for c in cands), dtype=np.int8, count=n),
                   np.fromiter((c.retrieval for c in cands), dtype=np.float64, count=n))


def user_vector(view: UserView, now_us: int, short_weight: float, *,
                session: Sequence[float] | npt.NDArray[np.float32] | None = None) -> npt.NDArray[np.float32] | None:
    """normalise(w * session + (1 - w) * long-term), or None while both are (near) zero. ``session``: the
    view's ``session_vector`` at ``now_us``, if the caller has it already."""
    short = np.asarray(session_vector(view, now_us) if session is None else session, dtype=np.float32)
    long = np.asarray(view.long, dtype=np.float32)
    if not short.size:
        return None
    v = short_weight * short + (1.0 - short_weight) * long
    norm = float(np.linalg.norm(v))
    return None if norm < 1e-6 else (v / norm).astype(np.float32)


_NO_LABELS = np.zeros(0, dtype=np.int64)


class Pool:
    """Candidates being collected for one request: dedupe by label, admit through the viewer's filter.
    Kept as arrays (``columns``); ``items`` gives them as ``Candidate`` objects."""

    def __init__(self, cat: Catalogue, viewer: Viewer, limit: int) -> None:
        self.cat = cat
        self.viewer = viewer
        self.limit = limit
        self._parts: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int8], npt.NDArray[np.float64]]] = []
        self._offered_labels: list[npt.NDArray[np.int64]] = []  # every label offered so far (any outcome)
        self._columns: Columns | None = None
        self._n = 0
        self.offered: dict[str, int] = dict.fromkeys(SOURCES, 0)

    def __len__(self) -> int:
        return self._n

    def full(self) -> bool:
        return self._n >= self.limit

    def columns(self) -> Columns:
        if self._columns is None:
            if not self._parts:
                self._columns = Columns(_NO_LABELS, np.zeros(0, dtype=np.int8), np.zeros(0, dtype=np.float64))
            elif len(self._parts) == 1:
                self._columns = Columns(*self._parts[0])
            else:
                self._columns = Columns(*(np.concatenate(cols) for cols in zip(*self._parts, strict=True)))
        return self._columns

    @property
    def items(self) -> list[Candidate]:
        cols, ids = self.columns(), self.cat.video_ids
        return [Candidate(label, ids[label], SOURCE_NAMES[code], score) for label, code, score in
                zip(cols.labels.tolist(), cols.codes.tolist(), cols.retrieval.tolist(), strict=True)]

    def offer(self, source: str, labels: Iterable[int] | npt.NDArray[np.int64],
              scores: Iterable[float] | npt.NDArray[np.floating]) -> int:
        """Admit the labels not offered before (any source) that pass the viewer's filter, in order,
        up to the pool's limit; returns how many were added."""
        return self.offer_many([(source, labels, scores)])[source]

    def offer_many(self, offers: Sequence[tuple[str, Iterable[int] | npt.NDArray[np.int64],
                                                Iterable[float] | npt.NDArray[np.floating]]]) -> dict[str, int]:
        """``offer`` each (source, labels, scores) in turn, with one filter pass over all of them (the
        same result as offering one by one: the filter is a per-label test). Returns added per source."""
        added = dict.fromkeys((src for src, _, _ in offers), 0)
        room = self.limit - self._n
        if room <= 0 or not offers:
            return added
        labs_parts: list[npt.NDArray[np.int64]] = []
        score_parts: list[npt.NDArray[np.float64]] = []
        codes: list[int] = []
        sizes: list[int] = []
        for source, labels, scores in offers:
            la = np.asarray(labels if isinstance(labels, np.ndarray) else list(labels), dtype=np.int64)
            sa = np.asarray(scores if isinstance(scores, np.ndarray) else list(scores), dtype=np.float64)
            n = min(len(la), len(sa))
            labs_parts.append(la[:n])
            score_parts.append(sa[:n])
            codes.append(SOURCE_CODE[source])
            sizes.append(n)
        lab = np.concatenate(labs_parts)
        valid = lab >= 0
        if self._offered_labels:
            valid &= ~np.isin(lab, np.concatenate(self._offered_labels))
        idx = np.flatnonzero(valid)
        _, first = np.unique(lab[idx], return_index=True)
        keep = idx[np.sort(first)]  # each label's first offer, in offer order
        if not len(keep):
            return added
        self._offered_labels.append(lab[keep])
        chosen = keep[np.flatnonzero(self.viewer.admit_mask(self.cat, lab[keep]))[:room]]
        if not len(chosen):
            return added
        code = np.repeat(np.asarray(codes, dtype=np.int8), sizes)[chosen]
        self._parts.append((lab[chosen], code, np.concatenate(score_parts)[chosen]))
        self._columns = None
        self._n += len(chosen)
        counts = np.bincount(code, minlength=len(SOURCE_NAMES)).tolist()
        for source in added:
            n_src = counts[SOURCE_CODE[source]]
            added[source] = n_src
            self.offered[source] = self.offered.get(source, 0) + n_src
        return added

    def offer_ids(self, source: str, items: Sequence[tuple[str, float]]) -> int:
        label_of = self.cat.label_of
        pairs = [(label_of[v], s) for v, s in items if v in label_of]
        return self.offer(source, (p[0] for p in pairs), (p[1] for p in pairs))


def trending_candidates(items: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    """Trending list -> retrieval scores in (0, 0.45] by rank (velocities differ in scale across scopes)."""
    n = max(len(items), 1)
    return [(vid, 0.45 * (1.0 - i / n) + 1e-3) for i, (vid, _) in enumerate(items)]


def fresh_sample(cat: Catalogue, k: int, window: int, rng: random.Random) -> list[int]:
    """``k`` of the newest ``window`` published videos, at random (different for every request)."""
    fresh = cat.fresh
    n = min(len(fresh), window)
    if n <= 0:
        return []
    start = len(fresh) - n
    picks = rng.sample(range(n), min(k, n))
    return [fresh[start + i] for i in picks]


def affinity_names(scores: dict[str, float], k: int) -> list[str]:
    best = sorted(scores.items(), key=lambda kv: -kv[1])[:k]
    return [name for name, s in best if s > 0 and math.isfinite(s)]

