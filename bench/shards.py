"""`reel bench shards`: apply throughput, freshness and read latency of the user shards on a local Ray.

1. a fresh file log gets a catalog (video details) and ``events`` generated interactions by ``users``;
2. ``shards`` actors start paused, restore (nothing) and learn the catalog; the clock starts when
   they are resumed and stops when every partition's last record is applied: ``apply_eps``;
3. freshness: probe events appended one at a time (while a background writer adds ``load_eps``
   interactions per second), timed from ``append`` returning to the owning shard having applied it;
4. ``get_state`` latency: sequential reads of random users through the ``ShardRouter``, then empty
   actor calls (``ping``); the CPU per call of the caller and of the shard actors for each.
"""

from __future__ import annotations

import asyncio
import logging
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from events.ids import now_us
from events.log import EventLog, open_log
from events.schema import Event, VideoDetailsSubmitted

from .procs import CpuSampler
from .workload import generate

__all__ = ["ShardBenchConfig", "run_shard_bench"]

Phase = Callable[[str, int | None], Callable[[int], None]]
_TAGS = ("cats", "food", "dance", "goals", "travel", "diy", "funny", "tech", "music", "beauty")


@dataclass(frozen=True, slots=True)
class ShardBenchConfig:
    users: int = 2_000
    events: int = 100_000
    shards: int = 4
    partitions: int = 8
    videos: int = 1_000
    dim: int = 64
    probes: int = 300
    reads: int = 2_000
    load_eps: int = 1_000
    seed: int = 7
    workdir: str | None = None
    keep: bool = False


def _catalog(n_videos: int, rng: random.Random, ts: int) -> list[Event]:
    out: list[Event] = []
    for i in range(n_videos):
        tags = tuple(rng.sample(_TAGS, 2))
        out.append(VideoDetailsSubmitted(
            event_id=f"bench-d{i}", ts=ts + i, video_id=f"v{i:07d}", creator_id=f"c{i // 5:06d}",
            caption=f"{tags[0]} clip number {i}", hashtags=tags, sound_id=f"s{i % 97:03d}"))
    return out


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


async def _append_all(log: EventLog, events: list[Event], batch: int = 5_000,
                      progress: Callable[[int], None] | None = None) -> None:
    for i in range(0, len(events), batch):
        await log.append(events[i:i + batch])
        if progress:
            progress(min(batch, len(events) - i))


async def _background_load(log: EventLog, events: list[Event], eps: int, stop: asyncio.Event) -> int:
    """Append ``events`` at about ``eps`` per second (batches every 10 ms) until ``stop``."""
    per_tick = max(1, eps // 100)
    i = 0
    while not stop.is_set() and i < len(events):
        await log.append(events[i:i + per_tick])
        i += per_tick
        await asyncio.sleep(0.01)
    return i


async def _run(cfg: ShardBenchConfig, root: Path, phase: Phase) -> dict[str, Any]:
    import ray

    from actors.shard_core import ShardConfig
    from actors.shards import ShardRouter, probe_freshness, probe_user, start_shards
    from actors.user_state import StateParams

    rng = random.Random(cfg.seed)
    start = now_us()
    interactions = generate(cfg.events, seed=cfg.seed, users=cfg.users, videos=cfg.videos, start_us=start)
    extra = generate(max(1, cfg.load_eps * 60), seed=cfg.seed + 1, users=cfg.users, videos=cfg.videos,
                     start_us=interactions[-1].ts + 1)
    log_url = f"file://{root / 'log'}"
    log = await open_log(log_url, partitions=cfg.partitions)
    try:
        await log.append(_catalog(cfg.videos, rng, start - 10_000_000))
        await _append_all(log, interactions, progress=phase("append interactions", cfg.events))
        ends = {i.partition: i.end for i in await log.partition_info()}

        config = ShardConfig(log_url=log_url, partitions=cfg.partitions, shards=cfg.shards,
                             checkpoint_url=f"file://{root / 'checkpoints'}", params=StateParams(dim=cfg.dim),
                             log_options={"readonly": True}, start_paused=True)
        handles = start_shards(config, name=f"bench-shard-{root.name}")
        router = ShardRouter(handles, cfg.partitions, timeout_s=300.0)
        probes = [probe_user(i, cfg.shards, cfg.partitions) for i in range(cfg.shards)]
        try:
            t_ready = time.perf_counter()
            await router.get_states(probes)
            ready_s = time.perf_counter() - t_ready

            tick = phase("apply", cfg.events)
            t0 = time.perf_counter()
            await asyncio.gather(*(h.resume.remote() for h in handles))
            for p, end in ends.items():
                if end:
                    shard = handles[p % cfg.shards]
                    while not await shard.wait_for.remote(p, end - 1, 60.0):
                        pass
            apply_s = time.perf_counter() - t0
            tick(cfg.events)
            applied = sum(s["events_applied"] for s in await router.stats())

            stop = asyncio.Event()
            loader = asyncio.create_task(_background_load(log, extra, cfg.load_eps, stop))
            fresh: list[float] = []
            tick = phase("freshness probes", cfg.probes)
            for k in range(cfg.probes):
                fresh.append(await probe_freshness(log, router, probes[k % cfg.shards], timeout_s=10.0))
                tick(1)
                await asyncio.sleep(rng.uniform(0.0, 0.02))
            stop.set()
            loaded = await loader

            users = [f"u{rng.randrange(cfg.users):07d}" for _ in range(cfg.reads)]
            reads: list[float] = []
            pings: list[float] = []  # the floor: an empty actor call, after the reads
            # CPU per call of the caller (this process) and of the shard actors, from /proc
            sampler = CpuSampler({"shards": "ray::UserShard"})
            tick = phase("get_state", cfg.reads)
            sampler.start()
            for u in users:
                t = time.perf_counter()
                await router.get_state(u)
                reads.append(time.perf_counter() - t)
                tick(1)
            read_cpu = sampler.per_request_ms(len(users))
            sampler.start()
            for u in users:
                t = time.perf_counter()
                await router.handle(u).ping.remote()
                pings.append(time.perf_counter() - t)
            ping_cpu = sampler.per_request_ms(len(users))
        finally:
            for h in handles:
                ray.kill(h, no_restart=True)
    finally:
        await log.close()
    return {
        "apply_eps": round(cfg.events / apply_s),
        "freshness_p50_ms": round(_pct(fresh, 0.50) * 1e3, 2),
        "freshness_p99_ms": round(_pct(fresh, 0.99) * 1e3, 2),
        "get_state_p99_ms": round(_pct(reads, 0.99) * 1e3, 3),
        "get_state_p50_ms": round(_pct(reads, 0.50) * 1e3, 3),
        "freshness_max_ms": round(max(fresh) * 1e3, 2),
        "ray_call_p50_ms": round(_pct(pings, 0.50) * 1e3, 3),
        "ray_call_p99_ms": round(_pct(pings, 0.99) * 1e3, 3),
        # CPU ms per call: the caller ("load_generator": this process) and the shard actors
        "get_state_cpu_ms": {("caller" if k == "load_generator" else k): v for k, v in read_cpu.items()},
        "ray_call_cpu_ms": {("caller" if k == "load_generator" else k): v for k, v in ping_cpu.items()},
        "events": cfg.events, "events_applied": applied, "users": cfg.users, "videos": cfg.videos,
        "shards": cfg.shards, "partitions": cfg.partitions, "dim": cfg.dim, "probes": cfg.probes,
        "background_events_during_probes": loaded, "reads": cfg.reads, "shards_ready_s": round(ready_s, 2),
    }


def run_shard_bench(cfg: ShardBenchConfig, phase: Phase) -> dict[str, Any]:
    """Run the benchmark on a local Ray (started here, 2 CPUs, unless one is already initialised)."""
    import ray

    root = Path(tempfile.mkdtemp(prefix="reel-bench-shards-", dir=cfg.workdir))
    started = not ray.is_initialized()
    if started:
        ray.init(include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    try:
        return asyncio.run(_run(cfg, root, phase))
    finally:
        if started:
            ray.shutdown()
        if not cfg.keep:
            shutil.rmtree(root, ignore_errors=True)
