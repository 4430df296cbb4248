"""An HNSW index (hnswlib) over video vectors, updated incrementally: add on publish, mark deleted on removal.

Vectors are unit length and compared by inner product (cosine). ``ef`` trades recall for latency at
query time; ``M`` and ``ef_construction`` at build time. ``recall_at_k`` measures the index against
exact search (a matrix product) on sample queries; ``reel bench ann`` reports it with query p99.
"""

from __future__ import annotations

import numpy as np

__all__ = ["HnswIndex", "exact_top_k", "recall_at_k"]


class HnswIndex:
    """Integer labels -> unit vectors; ``query`` returns (labels, cosine distances) best first."""

    def __init__(
        self,
        dim: int,
        *,
        max_elements: int = 1024,
        m: int = 16,
        ef_construction: int = 200,
        ef: int = 200,
        threads: int = 1,
        seed: int = 0,
    ) -> None:
        import hnswlib

        self.dim = dim
        self.ef = ef
        self._index = hnswlib.Index(space="ip", dim=dim)
        self._index.init_index(
            max_elements=max_elements,
            M=m,
            ef_construction=ef_construction,
            random_seed=seed,
            allow_replace_deleted=True,
        )
        self._index.set_ef(ef)
        self._index.set_num_threads(threads)
        self._deleted: set[int] = set()

    def __len__(self) -> int:
        return int(self._index.get_current_count()) - len(self._deleted)

    def add(self, labels: np.ndarray, vectors: np.ndarray) -> None:
        """Insert (or re-insert) videos; the index grows when full."""
        labels = np.asarray(labels, dtype=np.int64)
        need = self._index.get_current_count() + len(labels)
        if need > self._index.get_max_elements():
            self._index.resize_index(max(need, 2 * self._index.get_max_elements()))
        for lab in labels.tolist():
            if lab in self._deleted:
                self._index.unmark_deleted(lab)
                self._deleted.discard(lab)
        self._index.add_items(np.asarray(vectors, dtype=np.float32), labels)

    def mark_deleted(self, label: int) -> None:
        """A removed video is never returned again (until re-added)."""
        if label not in self._deleted:
            self._index.mark_deleted(int(label))
            self._deleted.add(int(label))

    def query(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, len(self))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        self._index.set_ef(max(self.ef, k))
        labels, dist = self._index.knn_query(np.asarray(vector, dtype=np.float32).reshape(1, -1), k=k)
        return labels[0].astype(np.int64), dist[0]


def exact_top_k(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact inner-product top-k labels (row positions) per query."""
    scores = queries @ vectors.T
    part = np.argpartition(-scores, kth=min(k, scores.shape[1] - 1), axis=1)[:, :k]
    order = np.take_along_axis(scores, part, axis=1).argsort(axis=1)[:, ::-1]
    return np.take_along_axis(part, order, axis=1)


def recall_at_k(found: list[np.ndarray], truth: np.ndarray) -> float:
    hits = sum(len(set(f.tolist()) & set(t.tolist())) for f, t in zip(found, truth, strict=True))
    return hits / float(truth.size)
