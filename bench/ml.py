"""`reel bench ann|ranker|online`: the learning stack's figures (ml/bench.py, ml/online.py)."""

from __future__ import annotations

import json
from collections.abc import Mapping

import click

__all__ = ["ann_command", "online_command", "ranker_command"]


def _print(result: Mapping[str, object], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        for k, v in result.items():
            click.echo(f"{k:>24}  {v:.4f}" if isinstance(v, float) else f"{k:>24}  {v}")


@click.command(name="ann")
@click.option("--items", type=click.IntRange(min=200), default=1_000_000, show_default=True)
@click.option("--dim", type=click.IntRange(min=2), default=64, show_default=True)
@click.option("--queries", type=click.IntRange(min=1), default=200, show_default=True)
@click.option("--m", "m", type=click.IntRange(min=2), default=16, show_default=True, help="HNSW M.")
@click.option("--ef-construction", type=click.IntRange(min=8), default=100, show_default=True)
@click.option("--ef", type=click.IntRange(min=8), default=160, show_default=True, help="Query-time ef.")
@click.option("--threads", type=click.IntRange(min=1), default=2, show_default=True, help="Build threads.")
@click.option("--json", "as_json", is_flag=True)
def ann_command(
    items: int, dim: int, queries: int, m: int, ef_construction: int, ef: int, threads: int, as_json: bool
) -> None:
    """HNSW over synthetic clustered vectors: recall@100 vs exact search, query p99, build time."""
    from ml.bench import bench_ann

    _print(
        bench_ann(items, dim, queries=queries, m=m, ef_construction=ef_construction, ef=ef, threads=threads),
        as_json,
    )


@click.command(name="ranker")
@click.option("--candidates", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="torch intra-op threads: one per request; replicas scale across cores.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--members", type=click.IntRange(min=1), default=1, show_default=True,
              help="1: the served model (the ensemble distilled into one network); >1: the ensemble itself.")
def ranker_command(candidates: int, threads: int, members: int, as_json: bool) -> None:
    """Latency of scoring one page of candidates with the multi-task ranker on CPU."""
    from ml.bench import bench_ranker

    _print(bench_ranker(candidates, threads=threads, members=members), as_json)


@click.command(name="online")
@click.option("--dataset", "path", required=True, help="KuaiRand folder or interactions CSV.")
@click.option("--format", "fmt", type=click.Choice(["kuairand", "interactions"]), default="kuairand")
@click.option("--warmup", type=click.FloatRange(0.05, 0.95), default=0.5, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def online_command(path: str, fmt: str, warmup: float, as_json: bool) -> None:
    """Monolith-style replay: AUC of the online-updated model vs the same model frozen after warm-up."""
    from ml.importers import read_interactions_csv, read_kuairand, rows_to_events
    from ml.online import online_vs_frozen

    rows = read_kuairand(path) if fmt == "kuairand" else read_interactions_csv(path)
    _print(
        online_vs_frozen(
            list(rows_to_events(rows)), warmup=warmup, progress=lambda s: click.echo(s, err=True)
        ),
        as_json,
    )
