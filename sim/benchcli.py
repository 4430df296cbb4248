"""The ``reel bench all`` command (registered on the ``reel bench`` group by bench/cli.py)."""

from __future__ import annotations

import json
from pathlib import Path

import click

__all__ = ["all_command"]


@click.command(name="all")
@click.option("--quick", is_flag=True, help="Small sizes: a few minutes on 2 cores.")
@click.option(
    "--out",
    "out_dir",
    default="docs/bench",
    show_default=True,
    help="Folder of results.json and the PNG charts.",
)
@click.option(
    "--sim-result",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="A `reel simulate --json` output to include (cold-start curves, watch time per view).",
)
@click.option(
    "--eval-dataset",
    default=None,
    help="Run `reel eval` on this interactions file too (e.g. the KuaiRand TSV).",
)
@click.option(
    "--only",
    multiple=True,
    help="Run only these benchmarks (log, projections, shards, transcode, "
    "pipeline, moderation, ann, ranker, feed, eval, state_size).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def all_command(
    quick: bool,
    out_dir: str,
    sim_result: str | None,
    eval_dataset: str | None,
    only: tuple[str, ...],
    as_json: bool,
) -> None:
    """Run every benchmark; write <out>/results.json and charts (read by `reel capacity`)."""
    from .benchall import run_all

    results = run_all(
        quick=quick,
        out_dir=Path(out_dir),
        sim_result=Path(sim_result) if sim_result else None,
        eval_dataset=eval_dataset,
        only=set(only) or None,
        say=lambda s: click.echo(s, err=True),
    )
    if as_json:
        click.echo(json.dumps(results, indent=2))
    else:
        click.echo(f"wrote {Path(out_dir) / 'results.json'} and {len(results['charts'])} charts")
