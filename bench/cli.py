"""`reel bench`: benchmark commands; figures to stdout (a table, or JSON), progress to stderr."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, redirect_stdout

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from events.errors import EventsError

from .log import BenchError, LogBenchConfig, run_log_bench

__all__ = ["bench"]


@click.group()
def bench() -> None:
    """Measure throughput of Reelstack's components."""


@contextmanager
def _phases() -> Iterator[Callable[[str, int | None], Callable[[int], None]]]:
    """Progress bars on stderr, one per phase (hidden when stderr is not a terminal). Whatever else prints
    to stdout meanwhile (Ray's forwarded worker and raylet lines) goes to stderr too: stdout carries the
    command's figures only, printed after the run."""
    console = Console(stderr=True)
    with ExitStack() as stack:
        stack.enter_context(redirect_stdout(sys.stderr))
        bar = stack.enter_context(Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console, disable=not console.is_terminal,
        ))

        def phase(name: str, total: int | None) -> Callable[[int], None]:
            if not console.is_terminal:  # logs get one line per phase instead of a bar
                click.echo(f"{name}" + (f" ({total:,})" if total else "") + " ...", err=True)
            task = bar.add_task(name, total=total)
            return lambda n: bar.advance(task, n)

        yield phase


@bench.command(name="log")
@click.option("--url", required=True, metavar="URL",
              help="file:///dir (a fresh subdirectory is used per run) or kafka://host:port (fresh topic).")
@click.option("--events", "n_events", type=click.IntRange(min=1), default=100_000, show_default=True)
@click.option("--partitions", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--batch", type=click.IntRange(min=1), default=512, show_default=True,
              help="Events per append call.")
@click.option("--producers", type=click.IntRange(min=1), default=8, show_default=True,
              help="Concurrent asyncio tasks appending batches.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Replay processes over disjoint partitions [default: number of CPUs].")
@click.option("--start-broker", is_flag=True,
              help="kafka://: start a local in-memory tansu broker at the URL's port if none answers.")
@click.option("--keep", is_flag=True, help="Keep the benchmark's file log instead of deleting it.")
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the generated workload.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def log_bench(url: str, n_events: int, partitions: int, batch: int, producers: int, workers: int | None,
              start_broker: bool, keep: bool, seed: int, as_json: bool) -> None:
    """Durable append and replay (read + decode) throughput of an event log."""
    cfg = LogBenchConfig(url=url, events=n_events, partitions=partitions, batch=batch, producers=producers,
                         workers=workers or os.cpu_count() or 1, start_broker=start_broker, keep=keep,
                         seed=seed)
    try:
        with _phases() as phase:
            result = run_log_bench(cfg, phase)
    except (BenchError, EventsError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    table = Table(title=f"reel bench log: {result['backend']}", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key in ("events", "partitions", "batch", "producers", "append_eps", "replay_eps", "replay_workers",
                "payload_bytes_per_event", "disk_bytes_per_event", "broker"):
        if key in result:
            value = result[key]
            table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    Console().print(table)
    click.echo(str(result["durability"]))


@bench.command(name="shards")
@click.option("--users", type=click.IntRange(min=1), default=2_000, show_default=True)
@click.option("--events", "n_events", type=click.IntRange(min=1), default=100_000, show_default=True,
              help="Interactions in the log when the shards start (the apply_eps workload).")
@click.option("--shards", type=click.IntRange(min=1), default=4, show_default=True)
@click.option("--partitions", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--videos", type=click.IntRange(min=1), default=1_000, show_default=True)
@click.option("--probes", type=click.IntRange(min=1), default=300, show_default=True,
              help="Freshness probes (append -> applied by the owning shard).")
@click.option("--reads", type=click.IntRange(min=1), default=2_000, show_default=True,
              help="Sequential get_state calls timed.")
@click.option("--load-eps", type=click.IntRange(min=0), default=1_000, show_default=True,
              help="Background interactions per second appended during the freshness probes.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--keep", is_flag=True, help="Keep the benchmark's log and checkpoints.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def shards_bench(users: int, n_events: int, shards: int, partitions: int, videos: int, probes: int,
                 reads: int, load_eps: int, seed: int, keep: bool, as_json: bool) -> None:
    """User shards on a local Ray: apply throughput, freshness (append -> state), get_state latency."""
    from .shards import ShardBenchConfig, run_shard_bench

    if partitions < shards:
        raise click.BadParameter("needs at least as many partitions as shards", param_hint="--partitions")
    cfg = ShardBenchConfig(users=users, events=n_events, shards=shards, partitions=partitions, videos=videos,
                           probes=probes, reads=reads, load_eps=load_eps, seed=seed, keep=keep)
    try:
        with _phases() as phase:
            result = run_shard_bench(cfg, phase)
    except EventsError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    table = Table(title="reel bench shards", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in result.items():
        table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    Console().print(table)


def _register_media() -> None:
    from .transcode import transcode_command  # the media benchmark lives next to its code

    bench.add_command(transcode_command)
    from .pipeline import pipeline_command  # upload -> published (pipeline/)

    bench.add_command(pipeline_command)


_register_media()


def _register_feed() -> None:
    from .feed_cli import feed_command, feed_modes_command  # the feed benchmark lives next to its harness

    bench.add_command(feed_command)
    bench.add_command(feed_modes_command)


_register_feed()


@bench.command(name="projections")
@click.option("--store", "store_url", required=True, metavar="URL",
              help="View store under test: sqlite:///path/views.db, redis://host:port[/db] or memory://.")
@click.option("--events", "n_events", type=click.IntRange(min=1), default=100_000, show_default=True)
@click.option("--projection", default="counters", show_default=True, help="Registered projection to fold.")
@click.option("--partitions", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Events per atomic commit [default: the store's catch-up batch].")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--profile", is_flag=True, help="cProfile the rebuild; the top functions go to stderr.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def projections_bench(store_url: str, n_events: int, projection: str, partitions: int, batch_size: int | None,
                      seed: int, profile: bool, as_json: bool) -> None:
    """Fold throughput: rebuild a view from offset 0 of a fresh file log into the store (fold_eps)."""
    from projections.errors import ProjectionsError
    from reelstack.logs import configure_logging

    from .projections import ProjBenchConfig, run_projection_bench

    configure_logging("warning")  # stdout carries the figures only
    cfg = ProjBenchConfig(store=store_url, events=n_events, projection=projection, partitions=partitions,
                          batch_size=batch_size, seed=seed, profile=profile)
    try:
        with _phases() as phase:
            result = run_projection_bench(cfg, phase)
    except (ProjectionsError, EventsError, KeyError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    table = Table(title=f"reel bench projections: {projection} into {result['store']}", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in result.items():
        table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    Console().print(table)


def _register_moderation() -> None:
    from .moderation import moderation_command  # the automated moderation stage (moderation/)

    bench.add_command(moderation_command)


_register_moderation()


def _register_ml() -> None:
    from .ml import ann_command, online_command, ranker_command  # the learning stack (ml/)

    bench.add_command(ann_command)
    bench.add_command(ranker_command)
    bench.add_command(online_command)


_register_ml()


def _register_all() -> None:
    from sim.benchcli import all_command

    bench.add_command(all_command)


_register_all()
