"""Benchmarks of the models: HNSW recall/latency vs exact search, ranker page latency, online vs frozen."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

__all__ = ["bench_ann", "bench_ranker", "clustered_vectors"]


def clustered_vectors(
    n: int, dim: int, *, clusters: int = 1000, spread: float = 0.35, seed: int = 0
) -> np.ndarray:
    """Unit vectors around ``clusters`` random centres (like embeddings of videos of many topics)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    out = np.empty((n, dim), dtype=np.float32)
    step = 100_000
    for s in range(0, n, step):
        m = min(step, n - s)
        x = centres[rng.integers(clusters, size=m)] + spread * rng.standard_normal((m, dim)).astype(
            np.float32
        ) / np.sqrt(dim)
        out[s : s + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def bench_ann(
    items: int,
    dim: int,
    *,
    queries: int = 200,
    k: int = 100,
    m: int = 16,
    ef_construction: int = 100,
    ef: int = 160,
    threads: int = 2,
    seed: int = 0,
) -> dict[str, Any]:
    """Build an HNSW index over ``items`` clustered vectors; recall@k vs exact search and query p99."""
    from .ann import AnnIndex, exact_top_k, recall_at_k

    vecs = clustered_vectors(items, dim, seed=seed)
    rng = np.random.default_rng(seed + 1)
    q = vecs[rng.integers(items, size=queries)] + 0.1 * rng.standard_normal((queries, dim)).astype(
        np.float32
    ) / np.sqrt(dim)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    idx = AnnIndex(dim, capacity=items, m=m, ef_construction=ef_construction, ef=ef, threads=threads, seed=seed)
    t0 = time.perf_counter()
    step = 100_000
    for s in range(0, items, step):
        idx.add(np.arange(s, min(items, s + step)), vecs[s : s + step])
    build_s = time.perf_counter() - t0
    idx.set_threads(1)  # one query = one thread, as a serving replica answers it
    found, lat = [], []
    for i in range(queries):
        t = time.perf_counter()
        labels, _ = idx.query(q[i], k)
        lat.append((time.perf_counter() - t) * 1000)
        found.append(labels)
    truth = np.concatenate([exact_top_k(vecs, q[s : s + 50], k) for s in range(0, queries, 50)])
    return {
        "recall_at_100": recall_at_k(found, truth),
        "query_p99_ms": float(np.percentile(lat, 99)),
        "query_p50_ms": float(np.percentile(lat, 50)),
        "build_s": build_s,
        "items": items,
        "dim": dim,
        "M": m,
        "ef_construction": ef_construction,
        "ef": ef,
        "build_threads": threads,
    }


def bench_ranker(
    candidates: int, *, repeats: int = 200, threads: int = 1, members: int = 1, seed: int = 0
) -> dict[str, Any]:
    """p50/p99 of scoring one page of ``candidates`` rows with the multi-task ranker on CPU.

    ``members=1`` is the served model (one network: ``reel train ranker`` and ``reel eval`` distil the
    seed-bagged ensemble into it, ``ml.distill``); ``members>1`` times the ensemble itself. Besides
    wall-clock, ``cpu_*`` give the process CPU time per page (steadier on a shared machine)."""
    import torch

    from .ranker import MultiTaskRanker, RankerEnsemble
    from .recommend import FEATURES

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    nets = [MultiTaskRanker(len(FEATURES)).eval() for _ in range(members)]
    model: MultiTaskRanker | RankerEnsemble = nets[0] if members == 1 else RankerEnsemble(nets)
    x = np.random.default_rng(seed).standard_normal((candidates, len(FEATURES))).astype(np.float32)
    for _ in range(10):
        model.predict(x)
    lat, cpu = [], []
    for _ in range(repeats):
        c, t = time.process_time(), time.perf_counter()
        model.predict(x)
        lat.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return {
        "p99_ms": float(np.percentile(lat, 99)),
        "p50_ms": float(np.percentile(lat, 50)),
        "cpu_p99_ms": float(np.percentile(cpu, 99)),
        "cpu_mean_ms": float(np.mean(cpu)),
        "candidates": candidates,
        "members": members,
        "threads": threads,
        "features": len(FEATURES),
    }
