"""`reel bench feed --via serve`: the feed behind Ray Serve over HTTP, ranking where the platform ranks.

The bench app's replica rebuilds the benchmark world (the cached catalogue, warmed-up users) and
serves ``GET /bench-feed/feed?user=`` (a page: ``FeedService`` in-process, ranking through the
``serve.ranking`` deployment's handle, or in the replica with ``--ranking inprocess``) and
``POST /bench-feed/interact?user=`` (a like; answers the user's new state version). The users' state
is folded in the replica (``--states replica``), or kept in user shard actors over a log as on the
platform (``--states shards``, ``bench.feed_shards``: a Ray call per page, and a like returns once
the user's shard has applied it). The load generator and the freshness probe drive both over HTTP.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

from ray import serve

from events.schema import Event, VideoPublished
from reelstack.heap import collect_less_often, freeze_long_lived
from serve.ingress import REPLICA_ENV

from .feed_shards import ShardStates
from .procs import CpuSampler, ingress_procs

__all__ = ["FeedBenchApp", "resolve_ranking", "run_serve_load"]


@serve.deployment(name="feed-bench", max_ongoing_requests=256,
                  ray_actor_options={"num_cpus": 0, "runtime_env": {"env_vars": REPLICA_ENV}})
class FeedBenchApp:
    async def __init__(self, spec: Any, cache_dir: str | None, ranking: Any, count: int,  # type: ignore[misc]
                       config: Any = None, ranker: str = "prior", states: str = "replica") -> None:
        from serve.feed import FeedConfig, FeedService, ViewFeatures, ViewTrending
        from serve.ranking import ServeRanker

        from .feed_world import BenchWorld, bench_ranker, build_catalogue

        def phase(name: str, total: int | None) -> Any:
            return lambda n: None

        catalogue, topics, _ = build_catalogue(spec, Path(cache_dir) if cache_dir else None, phase)
        self.world = world = BenchWorld(spec, catalogue, topics)
        if states == "shards":
            world.recorded = []  # the warm-up goes to the shards' log
        world.warm_up(phase)
        self.shards: ShardStates | None = None
        sink: Any = world
        if states == "shards":
            self.shards = ShardStates()
            await self.shards.start(world.recorded or [])
            self.learned = {e.video_id for e in world.recorded or [] if isinstance(e, VideoPublished)}
            world.recorded = None
            sink = _ShardSink(world, self.shards)
        self.count = count
        self.rng = random.Random(spec.seed + 5)
        self.cursors: dict[str, str | None] = {}
        self.svc = FeedService(catalogue, states=self.shards or world.states,
                               ranker=ServeRanker(ranking) if ranking is not None else bench_ranker(ranker),
                               trending=ViewTrending(world.trending), features=ViewFeatures(world.features),
                               impressions=sink, config=config or FeedConfig(), rng=random.Random(spec.seed))
        freeze_long_lived("feed bench world built")  # as the ingress does once its catalogue is loaded
        collect_less_often()  # and with the ingress's collector thresholds

    async def _interact(self, user: str) -> int | None:
        """A like of a popular-topic video: applied in process, or (shards) appended to the log and
        waited for until the user's shard applied it, as the platform's like route does."""
        w = self.world
        vid = self.rng.choice(w.by_topic[self.rng.choice(list(w.by_topic)[:50])])
        if self.shards is None:
            w.learn([vid])
            w.apply(w.interaction(user, vid, like=True))
            return (await w.states.get_state(user)).version
        new = [vid] if vid not in self.learned else []
        self.learned.update(new)
        events = w.catalog_events(new) + w.interaction(user, vid, like=True)  # the user's events last
        w.apply_views(events)
        await self.shards.applied(user, await self.shards.append(events))
        return (await self.shards.get_state(user)).version

    async def __del__(self) -> None:
        """Serve calls this when the bench deletes the app: stop the shards and remove their log."""
        if self.shards is not None:
            await self.shards.close()

    async def __call__(self, request: Any) -> dict[str, Any]:
        user = request.query_params["user"]
        if request.method == "POST":
            return {"version": await self._interact(user)}
        page = await self.svc.get_page(user, self.count, self.cursors.get(user))
        self.cursors[user] = page.cursor
        return {"version": page.user_state_version, "timings": page.timings_ms, "n": len(page.items),
                "personalized": page.personalized}


class _ShardSink:
    """Impressions: the features and trending folds here, the user state through the shards' log."""

    def __init__(self, world: Any, shards: ShardStates) -> None:
        self.world = world
        self.shards = shards

    async def append(self, events: list[Event]) -> None:
        self.world.apply_views(events)
        await self.shards.append(events)


def resolve_ranking(mode: str) -> str:
    """Where the feed ranks for ``--ranking mode``: the platform's rule for ``auto`` (``REEL_RANKING_MODE``:
    in the ingress replica unless the Ray cluster has GPUs). Call with Ray initialised."""
    import ray

    from reelstack.settings import Settings
    from serve.feed.wiring import ranking_in_process

    gpus = float(ray.cluster_resources().get("GPU", 0.0))  # type: ignore[no-untyped-call]
    return "inprocess" if ranking_in_process(Settings(ranking_mode=mode), gpus) else "deployment"


def run_serve_load(cfg: Any, port: int, cache_dir: str | None, ranking_mode: str) -> dict[str, Any]:
    import aiohttp

    from serve.ranking import ranking_app

    from .feed import _drive

    ranking = ranking_app(num_cpus=0.0, min_replicas=1, max_replicas=1) if ranking_mode == "deployment" else None
    from reelstack.settings import load_settings
    from serve.feed.wiring import feed_config

    # the feed's knobs as the platform's ingress takes them (REEL_FEED_CONFIG, a JSON file of FeedConfig fields)
    app = FeedBenchApp.bind(cfg.world, cache_dir, ranking, cfg.count,  # type: ignore[attr-defined]
                            feed_config(load_settings()), cfg.ranker, cfg.states)
    serve.run(app, name="feed-bench", route_prefix="/bench-feed")
    url = f"http://127.0.0.1:{port}/bench-feed"
    users = [f"u{k:06d}" for k in range(cfg.world.users)]

    async def main() -> dict[str, Any]:
        # connections for the load plus the freshness probe's own (else it starves behind the load)
        conc = max(cfg.concurrency or 0, int((cfg.rate or 0) * 0.2), 16) + 2
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conc)) as session:
            async def call(user: str) -> dict[str, float]:
                async with session.get(url, params={"user": user}) as r:
                    r.raise_for_status()
                    body = await r.json()
                timings: dict[str, float] = body["timings"]
                return {**timings, "_degraded": 0.0 if body["personalized"] else 1.0}

            probes = [0]  # the probe's own requests (they count in the CPU per request)

            async def probe(stop: asyncio.Event, out: list[float]) -> None:
                rng = random.Random(cfg.world.seed + 3)
                while not stop.is_set():
                    user = rng.choice(users)
                    async with session.post(url, params={"user": user}) as r:
                        want = (await r.json())["version"]
                    probes[0] += 1
                    t0 = time.perf_counter()
                    while True:
                        async with session.get(url, params={"user": user}) as r:
                            probes[0] += 1
                            if ((await r.json())["version"] or 0) >= want:
                                break
                    out.append((time.perf_counter() - t0) * 1000)
                    await asyncio.sleep(cfg.probe_every_s)

            await _drive(call, users, cfg, 2.0, {})  # warm-up
            # the load generator's own full collections walked Ray's and aiohttp's heap for ~140 ms, a
            # pause every request in flight was charged with: keep them off what this process holds now
            freeze_long_lived("feed bench load generator")
            stages: dict[str, list[float]] = {}
            stop = asyncio.Event()
            fresh: list[float] = []
            procs = {**ingress_procs(cfg.serve_mode), "replica": "ray::ServeReplica:feed-bench:"}
            if cfg.states == "shards":
                procs["shards"] = "ray::UserShard"
            sampler = CpuSampler(procs)
            sampler.start()
            prober = asyncio.ensure_future(probe(stop, fresh))
            lat, errors, elapsed = await _drive(call, users, cfg, cfg.seconds, stages)
            stop.set()
            await prober
            return {"lat": lat, "errors": errors, "elapsed": elapsed, "stages": stages, "fresh": fresh,
                    "cpu_ms_per_request": sampler.per_request_ms(len(lat) + errors + probes[0])}

    try:
        return asyncio.run(main())
    finally:
        serve.delete("feed-bench")
