"""A Monolith-style collisionless embedding table: every id its own row, grown on demand, with expiry.

Hashing ids into a fixed table makes unrelated ids share (and fight over) a row. Here an exact dict
maps each id to its own row of a growable float32 store, so no two ids ever share parameters. Two
bounds keep it from growing without limit, as in ByteDance's Monolith:

- **admission**: an id gets a row only after it was seen ``min_count`` times (exact counts of the
  ids not yet admitted, themselves expired with the same idle time), so one-off ids cost no row;
- **expiry**: a row whose id was not touched for ``ttl_us`` of *event* time (never the wall clock,
  so a replay expires exactly what live training expired) is freed and its slot reused.

``lookup`` of an unknown, unadmitted or expired id returns the zero vector (the caller adds a
content part, so such an id still has a meaningful embedding).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import numpy as np

__all__ = ["CollisionlessTable"]


class CollisionlessTable:
    """id -> own row of ``dim`` float32 parameters; admission by count, expiry by event-time idleness."""

    def __init__(
        self,
        dim: int,
        *,
        min_count: int = 1,
        ttl_us: int | None = None,
        init_std: float = 0.01,
        capacity: int = 1024,
        seed: int = 0,
    ) -> None:
        if dim < 1 or min_count < 1 or capacity < 1:
            raise ValueError("CollisionlessTable needs dim >= 1, min_count >= 1, capacity >= 1")
        self.dim = dim
        self.min_count = min_count
        self.ttl_us = ttl_us
        self.init_std = init_std
        self._rng = np.random.default_rng(seed)
        self.weights = np.zeros((capacity, dim), dtype=np.float32)
        self._row: dict[Hashable, int] = {}
        self._last: dict[Hashable, int] = {}  # id -> last touch (event time, µs)
        self._pending: dict[Hashable, tuple[int, int]] = {}  # id -> (count, last seen) before admission
        self._free: list[int] = []
        self._next = 0

    def __len__(self) -> int:
        return len(self._row)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._row

    def row_of(self, key: Hashable) -> int | None:
        return self._row.get(key)

    def ids(self) -> list[Hashable]:
        return list(self._row)

    def _alloc(self) -> int:
        if self._free:
            return self._free.pop()
        if self._next == len(self.weights):
            grown = np.zeros((2 * len(self.weights), self.dim), dtype=np.float32)
            grown[: self._next] = self.weights[: self._next]
            self.weights = grown
        self._next += 1
        return self._next - 1

    def touch(self, key: Hashable, ts_us: int) -> int | None:
        """Count one occurrence of ``key`` at event time ``ts_us``; its row once admitted, else None."""
        row = self._row.get(key)
        if row is not None:
            self._last[key] = max(self._last[key], ts_us)
            return row
        count, last = self._pending.get(key, (0, ts_us))
        if self.ttl_us is not None and ts_us - last > self.ttl_us:
            count = 0  # the earlier sightings are too old to count toward admission
        count += 1
        if count < self.min_count:
            self._pending[key] = (count, max(last, ts_us))
            return None
        self._pending.pop(key, None)
        row = self._alloc()
        self.weights[row] = self._rng.normal(0.0, self.init_std, self.dim).astype(np.float32)
        self._row[key] = row
        self._last[key] = ts_us
        return row

    def touch_many(self, keys: Iterable[Hashable], ts_us: int) -> list[int | None]:
        return [self.touch(k, ts_us) for k in keys]

    def lookup(self, keys: Sequence[Hashable]) -> np.ndarray:
        """Rows of ``keys`` (zeros for ids without a row), shape (len(keys), dim)."""
        out = np.zeros((len(keys), self.dim), dtype=np.float32)
        for i, k in enumerate(keys):
            row = self._row.get(k)
            if row is not None:
                out[i] = self.weights[row]
        return out

    def rows(self, keys: Sequence[Hashable]) -> np.ndarray:
        """Row index per key, -1 where the id has no row."""
        return np.array([self._row.get(k, -1) for k in keys], dtype=np.int64)

    def update(self, keys: Sequence[Hashable], grads: np.ndarray, lr: float) -> None:
        """Plain SGD on the rows of ``keys`` (ids without a row are skipped)."""
        for k, g in zip(keys, grads, strict=True):
            row = self._row.get(k)
            if row is not None:
                self.weights[row] -= lr * g

    def expire(self, now_us: int) -> int:
        """Free the rows (and pending counts) idle for more than ``ttl_us`` at ``now_us``; how many rows."""
        if self.ttl_us is None:
            return 0
        horizon = now_us - self.ttl_us
        dead = [k for k, t in self._last.items() if t < horizon]
        for k in dead:
            row = self._row.pop(k)
            del self._last[k]
            self.weights[row] = 0.0
            self._free.append(row)
        for k in [k for k, (_, t) in self._pending.items() if t < horizon]:
            del self._pending[k]
        return len(dead)
