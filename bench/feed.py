"""`reel bench feed`: feed latency, throughput and freshness on a synthetic catalogue, vs a Serve baseline.

1. The world (``bench.feed_world``): N videos in the feed's catalogue + HNSW index (cached on disk,
   keyed by its parameters), U users warmed up through the real shard, features and trending folds.
2. ``baseline_rps``: an empty one-deployment Serve app (with the replica settings the feed's replica
   has, ``serve.ingress.REPLICA_ENV``), driven closed-loop over HTTP on this machine in the same run
   (the ceiling any Serve app here can reach): before and again after the feed's
   load, and the mean of the two, so a host that speeds up or slows down meanwhile (a shared VM's
   neighbours) moves both sides of the ratio (``baseline_rps_runs`` has the two).
3. The feed under load: open loop at ``--rate`` requests/s (latency counted from each request's
   scheduled time, so queueing shows) or closed loop with ``--concurrency`` workers, for ``--seconds``.
   ``--via inprocess`` calls ``FeedService.get_page`` directly; ``--via serve`` drives a Serve app
   over HTTP whose replica hosts the same ``FeedService`` and ranks where the platform would
   (``--ranking auto``: ``REEL_RANKING_MODE``'s rule, in the replica unless the cluster has GPUs; or
   forced to the ``serve.ranking`` deployment, a second Serve hop, or into the replica).
4. Freshness: a probe interacts (a like) as a user and times, from that interaction being accepted
   (the POST returning), until a feed response reflects it (``user_state_version``).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reelstack.heap import collect_less_often, freeze_long_lived

from .feed_world import BenchWorld, WorldSpec, bench_ranker, build_catalogue
from .procs import CpuSampler, ingress_procs

__all__ = ["FeedBenchConfig", "run_feed_bench"]

Progress = Callable[[str, int | None], Callable[[int], None]]
Call = Callable[[str], Awaitable[dict[str, float]]]


@dataclass(frozen=True, slots=True)
class FeedBenchConfig:
    world: WorldSpec = field(default_factory=WorldSpec)
    rate: float | None = None
    concurrency: int | None = None
    seconds: float = 20.0
    count: int = 10
    via: str = "inprocess"
    ranking: str = "auto"  # --via serve: "deployment" (a Serve hop), "inprocess" (in the replica), "auto"
    ranker: str = "prior"  # where the bench ranks in-process: prior | network | an artifact URI (bench_ranker)
    states: str = "replica"  # --via serve: users' state folded in the replica, or in shard actors ("shards")
    serve_mode: str = "proxy"  # serve.modes: set in the process (use_serve_mode) before Ray starts; recorded
    cache_dir: str | None = None
    baseline_seconds: float = 5.0
    probe_every_s: float = 0.25


def _pct(xs: list[float], q: float) -> float:
    return round(float(np.percentile(xs, q)), 3) if xs else 0.0


async def _drive(call: Call, users: list[str], cfg: FeedBenchConfig, seconds: float,
                 stages: dict[str, list[float]]) -> tuple[list[float], int, float]:
    """Run the load; returns (latencies ms, errors, elapsed s)."""
    rng = random.Random(cfg.world.seed + 2)
    lat: list[float] = []
    errors = 0

    async def one(user: str, t_sched: float) -> None:
        nonlocal errors
        try:
            timings = dict(await call(user))
        except Exception:
            errors += 1
            return
        lat.append((time.perf_counter() - t_sched) * 1000)
        stages.setdefault("_degraded", []).append(timings.pop("_degraded", 0.0))
        for k, v in timings.items():
            stages.setdefault(k, []).append(v)

    t0 = time.perf_counter()
    if cfg.rate:
        tasks = []
        n = int(cfg.rate * seconds)
        for i in range(n):
            t_sched = t0 + i / cfg.rate
            delay = t_sched - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(one(rng.choice(users), t_sched)))
        await asyncio.gather(*tasks)
    else:
        stop = t0 + seconds

        async def worker() -> None:
            while time.perf_counter() < stop:
                await one(rng.choice(users), time.perf_counter())

        await asyncio.gather(*(worker() for _ in range(cfg.concurrency or 8)))
    return lat, errors, time.perf_counter() - t0


async def _http_load(url: str, concurrency: int, seconds: float,
                     sampler: CpuSampler | None = None) -> tuple[float, dict[str, float]]:
    """Closed-loop GETs of ``url`` for ``seconds``: requests per second, and the CPU ms per request of
    the ``sampler``'s processes."""
    import aiohttp

    done = 0
    stop = time.perf_counter() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < stop:
                async with session.get(url) as r:
                    await r.read()
                    if r.status == 200:
                        done += 1

        if sampler is not None:
            sampler.start()
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        rps = done / (time.perf_counter() - t0)
        return rps, sampler.per_request_ms(done) if sampler is not None else {}


def _baseline(port: int, cfg: FeedBenchConfig) -> tuple[float, dict[str, float]]:
    from ray import serve

    from serve.ingress import REPLICA_ENV

    # the replica settings the feed's replica runs with (the platform's: its environment, its collector
    # thresholds), so the ratio compares the apps
    @serve.deployment(name="empty", max_ongoing_requests=256,
                      ray_actor_options={"num_cpus": 0, "runtime_env": {"env_vars": dict(REPLICA_ENV)}})
    class Empty:
        def __init__(self) -> None:
            collect_less_often()  # as the ingress's replicas (reelstack.heap)

        async def __call__(self, request: Any) -> str:
            return "ok"

    serve.run(Empty.bind(), name="bench-baseline", route_prefix="/baseline")  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{port}/baseline"
    asyncio.run(_http_load(url, 8, 1.0))  # warm the proxy and the replica
    freeze_long_lived("baseline load generator")  # as for the feed's load (run_serve_load)
    sampler = CpuSampler({**ingress_procs(cfg.serve_mode), "replica": "ray::ServeReplica:bench-baseline:"})
    rps, cpu = asyncio.run(_http_load(url, cfg.concurrency or 16, cfg.baseline_seconds, sampler))
    serve.delete("bench-baseline")
    return rps, cpu


def _inprocess(world: BenchWorld, cfg: FeedBenchConfig) -> dict[str, Any]:
    from serve.feed import FeedConfig, FeedService, ViewFeatures, ViewTrending

    svc = FeedService(world.catalogue, states=world.states, ranker=bench_ranker(cfg.ranker),
                      trending=ViewTrending(world.trending), features=ViewFeatures(world.features),
                      impressions=world, config=FeedConfig(), rng=random.Random(cfg.world.seed))
    cursors: dict[str, str | None] = {}

    async def call(user: str) -> dict[str, float]:
        page = await svc.get_page(user, cfg.count, cursors.get(user))
        cursors[user] = page.cursor
        return {**page.timings_ms, "_degraded": 0.0 if page.personalized else 1.0}

    async def probe(stop: asyncio.Event, out: list[float]) -> None:
        rng = random.Random(cfg.world.seed + 3)
        while not stop.is_set():
            user = rng.choice(world.users)
            vid = rng.choice(world.by_topic[rng.choice(list(world.by_topic)[:50])])
            world.learn([vid])
            world.apply(world.interaction(user, vid, like=True))  # the POST has returned
            t0 = time.perf_counter()
            want = (await world.states.get_state(user)).version
            while ((await svc.get_page(user, cfg.count)).user_state_version or 0) < want:
                await asyncio.sleep(0)
            out.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(cfg.probe_every_s)

    async def main() -> dict[str, Any]:
        stages: dict[str, list[float]] = {}
        await _drive(call, world.users, cfg, 1.0, {})  # warm-up
        stop = asyncio.Event()
        fresh: list[float] = []
        prober = asyncio.ensure_future(probe(stop, fresh))
        cpu0 = time.process_time()
        lat, errors, elapsed = await _drive(call, world.users, cfg, cfg.seconds, stages)
        cpu = time.process_time() - cpu0
        stop.set()
        await prober
        await svc.drain()
        return {"lat": lat, "errors": errors, "elapsed": elapsed, "stages": stages, "fresh": fresh,
                "cpu_ms_per_page": round(1000 * cpu / max(1, len(lat) + len(fresh)), 3)}

    return asyncio.run(main())


def run_feed_bench(cfg: FeedBenchConfig, phase: Progress) -> dict[str, Any]:
    import logging

    import ray
    from ray import serve

    from reelstack.services import free_port

    cache = Path(cfg.cache_dir).expanduser() if cfg.cache_dir else None
    if cfg.via == "serve" and cache is not None and (cache / cfg.world.key() / "meta.pkl").exists():
        world, build_s = None, 0.0  # the Serve replica loads the cached catalogue itself
    else:
        catalogue, topics, build_s = build_catalogue(cfg.world, cache, phase)
        world = BenchWorld(cfg.world, catalogue, topics)
        if cfg.via == "serve":
            world = None  # only the cache was needed here
        else:
            world.warm_up(phase)
            freeze_long_lived("feed bench world built")
    phase("baseline: an empty Serve app over HTTP", None)
    ray.init(num_cpus=os.cpu_count() or 2, include_dashboard=False, logging_level=logging.WARNING,
             log_to_driver=False)
    port = free_port()
    ranking = "inprocess"
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        baseline, baseline_cpu = _baseline(port, cfg)
        phase(f"feed load ({cfg.via})", None)
        if cfg.via == "serve":
            from .feed_serve import resolve_ranking, run_serve_load

            ranking = resolve_ranking(cfg.ranking)
            res = run_serve_load(cfg, port, str(cache) if cache is not None else None, ranking)
        else:
            assert world is not None
            res = _inprocess(world, cfg)
        phase("baseline again, after the load", None)
        after, after_cpu = _baseline(port, cfg)
    finally:
        serve.shutdown()  # type: ignore[no-untyped-call]
        ray.shutdown()
    lat, stages = res["lat"], res["stages"]
    degraded = stages.pop("_degraded", [])
    runs = [baseline, after]
    baseline = sum(runs) / 2
    baseline_cpu = {k: round((v + after_cpu.get(k, v)) / 2, 3) for k, v in baseline_cpu.items()}
    return {
        "rps": round(len(lat) / res["elapsed"], 1),
        "p50_ms": _pct(lat, 50),
        "p99_ms": _pct(lat, 99),
        "baseline_rps": round(baseline, 1),
        "baseline_rps_runs": [round(r, 1) for r in runs],
        "stage_p99_ms": {k: _pct(v, 99) for k, v in stages.items()},
        "stage_mean_ms": {k: round(float(np.mean(v)), 3) for k, v in stages.items() if v},
        "freshness_p99_ms": _pct(res["fresh"], 99),
        "freshness_probes": len(res["fresh"]),
        # --via inprocess: this process's CPU time per page (pipeline + load generator + probe, all here)
        "cpu_ms_per_page": res.get("cpu_ms_per_page"),
        # --via serve: CPU ms per request of the Serve proxy, the replica and this process (load generator
        # and driver), read from /proc over the measured load; the baseline's the same way
        "cpu_ms_per_request": res.get("cpu_ms_per_request"),
        "baseline_cpu_ms_per_request": baseline_cpu,
        "requests": len(lat),
        "errors": res["errors"],
        "degraded_pages": int(sum(degraded)),  # personalized: false (a stage past its budget, ...)
        # pages that re-ranked the user's slate (the scroll's previous ranking) instead of ranking anew
        "slate_share": round(len(stages.get("slate", [])) / max(1, len(lat)), 3),
        "mode": "open" if cfg.rate else "closed",
        "rate": cfg.rate,
        "concurrency": cfg.concurrency,
        "via": cfg.via,
        "ranking": ranking if cfg.via == "serve" else "inprocess",
        # what ranked: --ranker in-process; the deployment ranks with the published model (prior until one is)
        "ranker": cfg.ranker if ranking == "inprocess" else "deployment",
        "states": cfg.states if cfg.via == "serve" else "replica",
        "serve_mode": cfg.serve_mode,  # the feed's and the baseline's (serve.modes)
        "catalog": cfg.world.catalog,
        "users": cfg.world.users,
        "catalogue_build_s": round(build_s, 1),
        "cpus": os.cpu_count(),
    }
