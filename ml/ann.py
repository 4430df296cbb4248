"""The HNSW index over video vectors (hnswlib, inner product over unit vectors), for serving and evaluation.

Vectors are unit length and compared by inner product (cosine); ``query`` answers labels and
similarities, best first. Updated incrementally: ``add`` on publish (an existing label is updated,
and undeleted), ``mark_deleted`` on removal. ``ef`` trades recall for latency at query time; ``m`` and
``ef_construction`` at build time.

What serving needs besides: a disk snapshot (``save`` / ``load``) so a replica starts in seconds
instead of rebuilding a million-video graph, and the vector matrix kept beside the graph (the
ranker's similarity features read rows of it by label). ``query_many`` searches a batch of vectors
in one call and may run on a worker thread (hnswlib releases the GIL while it searches); a lock keeps
writers (add, delete, resize) and searches apart.

``recall_at_k`` measures the index against exact search (``exact_top_k``, a matrix product) on sample
queries; ``reel bench ann`` reports it with query p99.
"""

from __future__ import annotations

import threading
from pathlib import Path

import hnswlib
import numpy as np
import numpy.typing as npt

__all__ = ["AnnIndex", "exact_top_k", "recall_at_k"]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


class AnnIndex:
    """Integer labels -> unit vectors; ``query`` returns (labels, similarities) best first."""

    def __init__(self, dim: int, *, capacity: int = 1024, m: int = 16, ef_construction: int = 100,
                 ef: int = 64, seed: int = 0, threads: int = 1) -> None:
        self.dim = dim
        self.m = m
        self.ef_construction = ef_construction
        self.ef = ef
        self.seed = seed
        self._index = hnswlib.Index(space="ip", dim=dim)
        self._index.init_index(max_elements=max(capacity, 16), M=m, ef_construction=ef_construction,
                               random_seed=seed, allow_replace_deleted=False)
        self._index.set_ef(ef)
        self._index.set_num_threads(threads)
        self.vectors: F32 = np.zeros((max(capacity, 16), dim), dtype=np.float32)
        self.present = np.zeros(max(capacity, 16), dtype=bool)  # added and not deleted
        self.count = 0
        self.lock = threading.Lock()  # searches may run on worker threads; writers take it too

    def __len__(self) -> int:
        return self.count

    def _grow(self, need: int) -> None:
        cap = self._index.get_max_elements()
        if need <= cap:
            return
        new_cap = max(need, 2 * cap)
        self._index.resize_index(new_cap)
        vectors = np.zeros((new_cap, self.dim), dtype=np.float32)
        vectors[: len(self.vectors)] = self.vectors
        present = np.zeros(new_cap, dtype=bool)
        present[: len(self.present)] = self.present
        self.vectors, self.present = vectors, present

    def add(self, labels: I64 | list[int], vectors: F32) -> None:
        """Insert videos (labels are dense row numbers chosen by the catalogue)."""
        labels = np.asarray(labels, dtype=np.int64)
        if not len(labels):
            return
        vecs = np.asarray(vectors, dtype=np.float32).reshape(len(labels), self.dim)
        with self.lock:
            self._grow(int(labels.max()) + 1)
            self._index.add_items(vecs, labels)  # an existing label is updated (and undeleted)
        self.vectors[labels] = vecs
        self.count += int((~self.present[labels]).sum())
        self.present[labels] = True

    def mark_deleted(self, label: int) -> None:
        if label < len(self.present) and self.present[label]:
            with self.lock:
                self._index.mark_deleted(int(label))
            self.present[label] = False
            self.count -= 1

    def set_threads(self, threads: int) -> None:
        """Threads hnswlib uses per ``add`` / ``query_many`` call (a serving replica queries on one)."""
        with self.lock:
            self._index.set_num_threads(threads)

    def query(self, vector: F32, k: int, *, ef: int | None = None) -> tuple[I64, F32]:
        labels, sims = self.query_many(np.asarray(vector, dtype=np.float32).reshape(1, -1), k, ef=ef)
        return labels[0], sims[0]

    def query_many(self, vectors: F32, k: int, *, ef: int | None = None) -> tuple[I64, F32]:
        """Row i: the labels nearest ``vectors[i]`` and their similarities, best first (each row is what
        ``query`` of that vector returns: the searches are independent). Thread-safe."""
        vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        with self.lock:
            k = min(k, self.count)
            if k <= 0 or not len(vectors):
                return np.zeros((len(vectors), 0), dtype=np.int64), np.zeros((len(vectors), 0), dtype=np.float32)
            self._index.set_ef(max(ef or self.ef, k))
            labels, dist = self._index.knn_query(vectors, k=k)
        return labels.astype(np.int64), (1.0 - dist).astype(np.float32)

    # ------------------------------------------------------------------------------ persistence

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._index.save_index(str(directory / "hnsw.bin"))
        n = int(self._index.get_current_count())
        top = int(np.flatnonzero(self.present).max()) + 1 if self.count else n
        rows = max(n, top)
        np.save(directory / "vectors.npy", self.vectors[:rows])
        np.save(directory / "present.npy", self.present[:rows])

    @classmethod
    def load(cls, directory: Path, *, dim: int, m: int, ef_construction: int, ef: int, seed: int = 0,
             threads: int = 1) -> AnnIndex:
        self = cls.__new__(cls)
        self.dim, self.m, self.ef_construction, self.ef, self.seed = dim, m, ef_construction, ef, seed
        vectors = np.load(directory / "vectors.npy")
        present = np.load(directory / "present.npy")
        self._index = hnswlib.Index(space="ip", dim=dim)
        cap = max(len(vectors), 16)
        self._index.load_index(str(directory / "hnsw.bin"), max_elements=cap)
        self._index.set_ef(ef)
        self._index.set_num_threads(threads)
        self.vectors = np.zeros((cap, dim), dtype=np.float32)
        self.vectors[: len(vectors)] = vectors
        self.present = np.zeros(cap, dtype=bool)
        self.present[: len(present)] = present
        self.count = int(present.sum())
        self.lock = threading.Lock()
        return self


def exact_top_k(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact inner-product top-k labels (row positions) per query."""
    scores = queries @ vectors.T
    part = np.argpartition(-scores, kth=min(k, scores.shape[1] - 1), axis=1)[:, :k]
    order = np.take_along_axis(scores, part, axis=1).argsort(axis=1)[:, ::-1]
    return np.take_along_axis(part, order, axis=1)


def recall_at_k(found: list[np.ndarray], truth: np.ndarray) -> float:
    hits = sum(len(set(f.tolist()) & set(t.tolist())) for f, t in zip(found, truth, strict=True))
    return hits / float(truth.size)
