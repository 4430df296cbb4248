"""``reel import``, ``reel train`` and ``reel eval``: data in, models out, and the offline comparison."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .errors import MLError

__all__ = ["eval_", "import_", "train"]


def _log_url(url: str | None) -> str:
    if url:
        return url
    from reelstack.settings import load_settings  # the one place REEL_* settings are read

    return load_settings().resolved().log_url


def _read_rows(fmt: str, path: str):  # type: ignore[no-untyped-def]
    from .importers import read_interactions_csv, read_kuairand

    return read_kuairand(path) if fmt == "kuairand" else read_interactions_csv(path)


@click.command(name="import")
@click.option("--format", "fmt", type=click.Choice(["kuairand", "interactions"]), required=True)
@click.option("--url", default=None, metavar="URL", help="Event log to append to [default: REEL_LOG_URL].")
@click.argument("path")
def import_(fmt: str, url: str | None, path: str) -> None:
    """Import a dataset (KuaiRand folder or interactions CSV) as platform events into a log."""
    from .importers import append_events, rows_to_events

    try:
        rows = _read_rows(fmt, path)
    except MLError as exc:
        raise click.ClickException(str(exc)) from exc
    events = list(rows_to_events(rows))
    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]import"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("import", total=len(events))
        n = asyncio.run(append_events(_log_url(url), events, progress=lambda k: bar.advance(task, k)))
    click.echo(f"imported {len(rows):,} rows as {n:,} events into {_log_url(url)}")


@click.command()
@click.argument("kind", type=click.Choice(["retrieval", "ranker"]))
@click.option("--url", default=None, metavar="URL", help="Event log [default: REEL_LOG_URL].")
@click.option("--models-dir", default="./data/models", show_default=True)
@click.option("--text", type=click.Choice(["minilm", "hashing"]), default="minilm", show_default=True)
def train(kind: str, url: str | None, models_dir: str, text: str) -> None:
    """Train a model from the log, write a versioned artifact and append ModelVersionPublished."""
    from .train import train_model

    out = train_model(kind, _log_url(url), models_dir, text=text, progress=lambda s: click.echo(s, err=True))
    click.echo(json.dumps(out, indent=2))


@click.command(name="eval")
@click.option("--dataset", "path", required=False, help="KuaiRand folder or interactions CSV.")
@click.option("--format", "fmt", type=click.Choice(["kuairand", "interactions"]), default="interactions")
@click.option(
    "--online", "online", is_flag=True, help="Online vs frozen AUC on a time-ordered replay instead."
)
@click.option("--text", type=click.Choice(["minilm", "hashing"]), default="minilm", show_default=True)
@click.option("--log-dir", default=None, help="Where the fresh log goes [default: a temporary folder].")
@click.option("--json", "as_json", is_flag=True)
def eval_(path: str | None, fmt: str, online: bool, text: str, log_dir: str | None, as_json: bool) -> None:
    """Import into a fresh log, split by time, train, and compare the project with baselines."""
    import shutil
    import tempfile

    from .evaluate import EvalConfig, evaluate
    from .importers import append_events, rows_to_events
    from .recommend import RecConfig
    from .train import read_all

    if not path:
        raise click.UsageError("--dataset PATH is required")
    rows = _read_rows(fmt, path)
    folder = log_dir or tempfile.mkdtemp(prefix="reel-eval-")
    try:
        url = Path(folder).resolve().as_uri()
        asyncio.run(append_events(url, list(rows_to_events(rows))))
        events = asyncio.run(read_all(url))
    finally:  # a log in a temporary folder is only the way in: the events are in memory now
        if not log_dir:
            shutil.rmtree(folder, ignore_errors=True)

    def say(s: str) -> None:
        click.echo(s, err=True)

    if online:
        from .online import online_vs_frozen

        res = online_vs_frozen(events, progress=say)
        click.echo(
            json.dumps(res, indent=2)
            if as_json
            else f"online AUC {res['online_auc']:.4f}  frozen AUC {res['frozen_auc']:.4f}"
        )
        return
    from . import device

    result = evaluate(events, EvalConfig(rec=RecConfig(text=text), device=device()), progress=say)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    table = Table(title=f"reel eval {fmt} {path}", title_justify="left")
    for col in ("method", "recall@10", "recall@50", "ndcg@10", "coverage", "auc"):
        table.add_column(col, justify="right")
    rowsets = [("project", result["project"]), *result["baselines"].items()]  # type: ignore[attr-defined]
    for name, res in rowsets:
        table.add_row(
            name, *(f"{res[c]:.4f}" for c in ("recall@10", "recall@50", "ndcg@10", "coverage", "auc"))
        )
    Console(file=sys.stdout).print(table)
    click.echo(json.dumps(result["split"]))
