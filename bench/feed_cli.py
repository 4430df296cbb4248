"""The `reel bench feed` command (registered on the `reel bench` group by bench/cli.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from serve.modes import SERVE_MODES

__all__ = ["feed_command", "feed_modes_command"]


@click.command(name="feed")
@click.option("--catalog", type=click.IntRange(min=100), default=100_000, show_default=True,
              help="Videos in the catalogue (the HNSW graph is cached under --cache-dir).")
@click.option("--users", type=click.IntRange(min=1), default=1_000, show_default=True)
@click.option("--rate", type=click.FloatRange(min=0.1), default=None, help="Open loop: requests per second.")
@click.option("--concurrency", type=click.IntRange(min=1), default=None,
              help="Closed loop: concurrent clients.")
@click.option("--seconds", type=click.FloatRange(min=1), default=20.0, show_default=True)
@click.option("--baseline-seconds", type=click.FloatRange(min=1), default=5.0, show_default=True,
              help="Length of each of the two baseline measurements (before and after the feed's load).")
@click.option("--count", type=click.IntRange(min=1, max=50), default=10, show_default=True,
              help="Videos per page.")
@click.option("--via", type=click.Choice(["serve", "inprocess"]), default="serve", show_default=True,
              help="serve: HTTP through Ray Serve (ranking per --ranking); "
                   "inprocess: FeedService called directly.")
@click.option("--ranking", type=click.Choice(["auto", "deployment", "inprocess"]), default="auto",
              show_default=True,
              help="--via serve: rank in the serve.ranking deployment or in the replica; auto: what the "
                   "platform does (REEL_RANKING_MODE's default: a deployment only when the cluster has GPUs).")
@click.option("--ranker", default="prior", show_default=True,
              help="What ranks where the bench ranks in-process: prior (the platform's ranker until the trainer "
                   "publishes a model), network (the served multi-task network with initial weights: its CPU "
                   "cost) or a ranker artifact URI (reel train ranker).")
@click.option("--states", type=click.Choice(["replica", "shards"]), default="replica", show_default=True,
              help="--via serve: the users' state folded inside the bench replica, or kept in user shard "
                   "actors over a log as the platform keeps it (a Ray call per page; a like returns once "
                   "the user's shard has applied it).")
@click.option("--serve-mode", type=click.Choice(list(SERVE_MODES)), default="proxy", show_default=True,
              help="How HTTP reaches the replicas (serve.modes): Serve's proxy actor, or Ray's throughput-optimised "
                   "Serve behind HAProxy. The baseline runs in the same mode.")
@click.option("--cache-dir", default="~/.cache/reelstack/bench-feed", show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def feed_command(catalog: int, users: int, rate: float | None, concurrency: int | None, seconds: float,
                 baseline_seconds: float,
                 count: int, via: str, ranking: str, ranker: str, states: str, serve_mode: str, cache_dir: str,
                 seed: int, as_json: bool) -> None:
    """Feed p50/p99 and throughput against an empty Serve app's baseline_rps; freshness of a like."""
    from serve.modes import use_serve_mode

    # first: Ray and ray.serve read it once, when they start; the bench deletes its apps with nothing in
    # flight, so their replicas need not wait Ray's 30 s for a load balancer to take them out
    use_serve_mode(serve_mode, drain_s=1.0)
    from .cli import _phases
    from .feed import FeedBenchConfig, run_feed_bench
    from .feed_world import WorldSpec

    if (rate is None) == (concurrency is None):
        raise click.UsageError("give exactly one of --rate (open loop) or --concurrency (closed loop)")
    if states == "shards" and via != "serve":
        raise click.UsageError("--states shards needs --via serve (the shard actors live on the bench's Ray)")
    if ranker != "prior" and via == "serve" and ranking == "deployment":
        raise click.UsageError("--ranker picks what ranks in-process; the ranking deployment serves the published "
                               "model: use --ranking inprocess (or auto on a CPU-only machine) with --ranker")
    cfg = FeedBenchConfig(world=WorldSpec(catalog=catalog, users=users, seed=seed), rate=rate,
                          concurrency=concurrency, seconds=seconds, baseline_seconds=baseline_seconds, count=count,
                          via=via, cache_dir=cache_dir, ranking=ranking, ranker=ranker, states=states,
                          serve_mode=serve_mode)
    with _phases() as phase:
        result = run_feed_bench(cfg, phase)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        click.echo(f"{key:>20}: {value}", file=sys.stdout)


@click.command(name="feed-modes")
@click.option("--catalog", type=click.IntRange(min=100), default=1_000_000, show_default=True)
@click.option("--users", type=click.IntRange(min=1), default=1_000, show_default=True)
@click.option("--concurrency", type=click.IntRange(min=1), default=16, show_default=True,
              help="Closed loop: concurrent clients (saturated throughput).")
@click.option("--seconds", type=click.FloatRange(min=1), default=20.0, show_default=True)
@click.option("--rounds", type=click.IntRange(min=1), default=2, show_default=True,
              help="Runs per mode; the modes alternate.")
@click.option("--states", type=click.Choice(["replica", "shards"]), default="replica", show_default=True)
@click.option("--cache-dir", default="~/.cache/reelstack/bench-feed", show_default=True)
@click.option("--chart", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a PNG of every run here (e.g. docs/bench/feed_modes.png).")
@click.option("--json", "as_json", is_flag=True, help="Print the runs and medians as JSON.")
def feed_modes_command(catalog: int, users: int, concurrency: int, seconds: float, rounds: int, states: str,
                       cache_dir: str, chart: Path | None, as_json: bool) -> None:
    """The feed saturated in each Serve mode (proxy, throughput), interleaved: each mode's rate, p99 and ratio."""
    from .feed_modes import modes_chart, run_modes, subprocess_runner, summarise

    args = ["--catalog", str(catalog), "--users", str(users), "--concurrency", str(concurrency),
            "--seconds", str(seconds), "--states", states, "--cache-dir", cache_dir]
    rows = run_modes(subprocess_runner(args), rounds, progress=lambda line: click.echo(line, err=True))
    result = {"runs": rows, **summarise(rows), "catalog": catalog, "users": users, "concurrency": concurrency,
              "seconds": seconds, "states": states}
    if chart is not None:
        title = (f"reel bench feed-modes --catalog {catalog} --users {users} --concurrency {concurrency} "
                 f"--seconds {seconds:g} --rounds {rounds} --states {states}")
        modes_chart(rows, chart, title)
        click.echo(f"chart: {chart}", err=True)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for mode, m in result["median"].items():
        click.echo(f"{mode:>10}: {m['rps']} req/s (median of {m['runs']}), baseline {m['baseline_rps']}, "
                   f"ratio {m.get('ratio')}, p99 {m['p99_ms']} ms")
    click.echo(f"throughput mode / proxy mode: {result['speedup']}x")
