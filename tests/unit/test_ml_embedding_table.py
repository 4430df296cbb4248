"""The collisionless table: own row per id (even for ids that collide under hash/crc32), admission, expiry."""

from __future__ import annotations

import zlib

import numpy as np

from ml.embedding_table import CollisionlessTable


def test_ids_colliding_under_python_hash_and_crc32_get_distinct_rows() -> None:
    assert hash(-1) == hash(-2)  # CPython: both hash to -2
    assert zlib.crc32(b"plumless") == zlib.crc32(b"buckeroo")
    big = [2**61 - 1 + i * (2**61 - 1) for i in range(1, 50)]  # all hash to the same value mod 2**61-1
    assert len({hash(b) for b in big}) == 1
    keys: list[object] = [-1, -2, "plumless", "buckeroo", *big]
    t = CollisionlessTable(8, capacity=2)
    rows = [t.touch(k, 0) for k in keys]
    assert None not in rows and len(set(rows)) == len(keys)
    # updating one id never moves another
    before = t.lookup(keys).copy()
    t.update([-1], np.ones((1, 8), dtype=np.float32), lr=1.0)
    after = t.lookup(keys)
    assert np.allclose(after[1:], before[1:]) and not np.allclose(after[0], before[0])


def test_admission_threshold() -> None:
    t = CollisionlessTable(4, min_count=3)
    assert t.touch("v", 1) is None and t.touch("v", 2) is None
    assert "v" not in t and not t.lookup(["v"]).any()
    assert t.touch("v", 3) is not None and "v" in t
    assert t.touch("rare", 4) is None and len(t) == 1


def test_expiry_by_event_time_frees_and_reuses_rows() -> None:
    t = CollisionlessTable(4, ttl_us=100)
    ra = t.touch("a", 0)
    t.touch("b", 0)
    t.touch("b", 150)  # b stays fresh
    assert t.expire(now_us=150) == 1
    assert "a" not in t and "b" in t and not t.lookup(["a"]).any()
    rc = t.touch("c", 160)
    assert rc == ra  # the freed slot is reused, and c starts from a fresh init, not a's values
    assert t.expire(now_us=200) == 0


def test_pending_counts_expire_too() -> None:
    t = CollisionlessTable(4, min_count=2, ttl_us=10)
    assert t.touch("x", 0) is None
    assert t.touch("x", 50) is None  # first sighting too old to count
    assert t.touch("x", 55) is not None


def test_growth_keeps_values() -> None:
    t = CollisionlessTable(3, capacity=1)
    for i in range(100):
        t.touch(i, i)
    first = t.lookup([0]).copy()
    for i in range(100, 1000):
        t.touch(i, i)
    assert len(t) == 1000 and np.allclose(t.lookup([0]), first)
