"""`reel bench projections`: how fast the runner folds a log into a stored view (a rebuild from offset 0).

N realistic events (sign-ups and video lifecycles, then interactions with heavy-tailed video
popularity, from ``bench.workload``) are written to a fresh file log first — not timed. Then the
runner rebuilds the view from offset 0 into the store under test, timed: read + decode + merge,
prefetch, fold, encode, and one atomic commit (view changes + offsets) per batch. ``fold_eps`` is
events / wall seconds; ``fold_eps_cpu`` is events / CPU seconds of this process, which shows what the
code costs when other processes share the CPUs.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import os
import platform
import pstats
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from events import Event, UserRegistered, VideoDetailsSubmitted, VideoPublished, open_log
from projections.registry import get_projection
from projections.runner import ProjectionRunner
from projections.store import open_store
from reelstack.heap import collect_less_often

from .workload import generate

__all__ = ["ProjBenchConfig", "bench_events", "run_projection_bench"]

Phase = Callable[[str, int | None], Callable[[int], None]]
_T0 = 1_763_000_000_000_000


def _quiet(_: str, __: int | None) -> Callable[[int], None]:
    return lambda n: None


@dataclass(frozen=True, slots=True)
class ProjBenchConfig:
    store: str
    events: int = 100_000
    projection: str = "counters"
    partitions: int = 8
    batch_size: int | None = None  # default: the store's catch-up batch
    seed: int = 7
    profile: bool = False


def bench_events(n: int, seed: int = 7, progress: Callable[[int], None] | None = None) -> list[Event]:
    """``n`` events: users sign up and videos get published first, then interactions on them."""
    rng = random.Random(seed)
    n_users = max(100, n // 20)
    n_videos = max(50, n // 50)
    n_creators = n_videos // 5 + 1
    setup: list[Event] = []
    ts = _T0
    for i in range(min(n_users, n // 10)):
        ts += 7
        setup.append(UserRegistered(event_id=f"bu{i:09d}", ts=ts, user_id=f"u{i:07d}",
                                    region=rng.choice(("GB", "US", "DE", "BR", "IN", "JP")),
                                    birth_year=rng.randint(1960, 2010)))
    for i in range(min(n_videos, n // 20)):
        vid, cid = f"v{i:07d}", f"c{i % n_creators:06d}"
        tags = tuple(rng.sample(("cats", "dance", "food", "goals", "travel", "diy", "funny", "tech"), 2))
        ts += 7
        setup.append(VideoDetailsSubmitted(event_id=f"bd{i:09d}", ts=ts, video_id=vid, creator_id=cid,
                                           caption="clip " + " ".join("#" + t for t in tags), hashtags=tags,
                                           sound_id=f"s{i % 97}", sound_title=f"beat {i % 97}"))
        ts += 7
        setup.append(VideoPublished(event_id=f"bp{i:09d}", ts=ts, video_id=vid, creator_id=cid))
    rest = generate(n - len(setup), seed=seed, users=n_users, videos=n_videos, start_us=ts + 1_000,
                    progress=progress)
    return setup + rest


async def _write(url: str, partitions: int, events: list[Event], advance: Callable[[int], None]) -> None:
    log = await open_log(url, partitions=partitions, group_commit_ms=0)
    try:
        for i in range(0, len(events), 20_000):
            chunk = events[i : i + 20_000]
            await log.append(chunk)
            advance(len(chunk))
    finally:
        await log.close()


async def _read_all(url: str) -> tuple[int, float]:
    """Read + decode every record (the floor under any fold)."""
    log = await open_log(url, partitions=None, readonly=True)
    try:
        t0 = time.perf_counter()
        n = 0
        for info in await log.partition_info():
            off = info.start
            while off < info.end:
                records = await log.read(info.partition, off, 5000)
                n += len(records)
                off = records[-1].offset + 1
        return n, time.perf_counter() - t0
    finally:
        await log.close()


async def _rebuild(url: str, cfg: ProjBenchConfig, advance: Callable[[int], None]) -> dict[str, object]:
    log = await open_log(url, partitions=None, readonly=True)
    store = open_store(cfg.store)
    commit_s = [0.0]
    real_commit = store.commit

    def timed_commit(*args: Any) -> None:
        t = time.perf_counter()
        real_commit(*args)
        commit_s[0] += time.perf_counter() - t

    store.commit = timed_commit  # type: ignore[method-assign,assignment]
    projection = get_projection(cfg.projection)
    batch_size = cfg.batch_size or store.catchup_batch
    runner = ProjectionRunner(log, store, projection, batch_size=batch_size)
    profiler = cProfile.Profile() if cfg.profile else None
    try:
        c0, t0 = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        stats = await runner.rebuild(advance)
        if profiler:
            profiler.disable()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        ckpt = store.checkpoint(projection.name)
    finally:
        await runner.close()
        await log.close()
        store.close()
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue(), file=sys.stderr)
    return {
        "fold_eps": round(stats.events / wall) if wall > 0 else None,
        "fold_eps_cpu": round(stats.events / cpu) if cpu > 0 else None,
        "seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "folded": stats.events,
        "batch_size": batch_size,
        "commits": stats.batches,
        "commit_seconds": round(commit_s[0], 3),
        "dead_lettered": stats.dead_lettered,
        "checkpoint_events": None if ckpt is None else ckpt.events,
    }


def run_projection_bench(cfg: ProjBenchConfig, phase: Phase = _quiet) -> dict[str, object]:
    """Generate, write (untimed), then time a rebuild of ``cfg.projection`` into ``cfg.store``."""
    if cfg.events < 1 or cfg.partitions < 1 or (cfg.batch_size is not None and cfg.batch_size < 1):
        raise ValueError("--events, --partitions and --batch-size must be at least 1")
    get_projection(cfg.projection)  # fail fast on an unknown name
    events = bench_events(cfg.events, cfg.seed, progress=phase("generating events", cfg.events))
    tmp = tempfile.mkdtemp(prefix="reel-bench-proj-")
    url = f"file://{tmp}/log"
    try:
        asyncio.run(_write(url, cfg.partitions, events, phase("writing the log (untimed)", cfg.events)))
        del events
        collect_less_often()  # as `reel projections rebuild|run` do
        figures = asyncio.run(_rebuild(url, cfg, phase(f"rebuilding {cfg.projection}", cfg.events)))
        read_n, read_s = asyncio.run(_read_all(url))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        **figures,
        "events": cfg.events,
        "projection": cfg.projection,
        "store": cfg.store.partition("://")[0],
        "store_url": cfg.store,
        "partitions": cfg.partitions,
        "log_read_eps": round(read_n / read_s) if read_s > 0 else None,
        "note": ("rebuild from offset 0 of a file log (page cache warm): read + decode + k-way merge, "
                 "prefetch, fold, msgpack encode, one atomic commit of view changes + offsets per batch "
                 "(GC thresholds as the reel projections commands set them); "
                 "log_read_eps is read + decode alone"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
