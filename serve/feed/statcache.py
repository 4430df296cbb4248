"""``VideoStatsCache``: the feature store's per-video counts as columns by catalogue label, re-read after a TTL.

Ranking needs eight counts for every candidate (``features.stats_matrix``); reading them from the
``Features`` port means a store lookup and a Python object per candidate, on every page. Popular and
trending videos are candidates for many users within a second, so the replica keeps the counts in
one ``(labels, 8)`` array with the time each row was read, and asks the port only for rows older than
``ttl_s``. Counts move with views, likes and skips: a second-old count ranks as well as a fresh one
(trending lists are cached the same way, ``views.ViewTrending``). ``ttl_s = 0`` reads every time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from .catalogue import Catalogue
from .features import STATS_COLUMNS, stats_matrix
from .ports import Features

__all__ = ["VideoStatsCache"]


class VideoStatsCache:
    def __init__(self, features: Features, *, ttl_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.features = features
        self.ttl_s = ttl_s
        self._clock = clock
        self._rows = np.zeros((0, len(STATS_COLUMNS)), dtype=np.float64)
        self._read_at = np.zeros(0, dtype=np.float64)
        self.reads = 0  # rows read from the port (the rest came from the cache)
        self.hits = 0

    def _grow(self, size: int) -> None:
        if size <= len(self._read_at):
            return
        cap = max(size, 2 * len(self._read_at), 1024)
        rows = np.zeros((cap, len(STATS_COLUMNS)), dtype=np.float64)
        rows[: len(self._rows)] = self._rows
        read_at = np.full(cap, -np.inf, dtype=np.float64)
        read_at[: len(self._read_at)] = self._read_at
        self._rows, self._read_at = rows, read_at

    async def matrix(self, cat: Catalogue, labels: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """The counts of ``labels`` (columns ``features.STATS_COLUMNS``), one row each, in order."""
        if not len(labels):
            return np.zeros((0, len(STATS_COLUMNS)), dtype=np.float64)
        self._grow(len(cat))
        now = self._clock()
        stale = labels[self._read_at[labels] <= now - self.ttl_s] if self.ttl_s > 0 else labels
        if len(stale):
            stale = np.unique(stale)
            ids = cat.video_ids
            raw = await self.features.video_stats([ids[label] for label in stale.tolist()])
            self._grow(len(cat))  # the catalogue may have grown while the port answered
            self._rows[stale] = stats_matrix(raw)
            self._read_at[stale] = now
        self.reads += len(stale)
        self.hits += len(labels) - len(stale)
        return self._rows[labels]
