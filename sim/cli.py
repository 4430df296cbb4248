"""``reel simulate``, ``reel experiments`` and ``reel capacity``: thin click shells over ``sim``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

__all__ = ["capacity", "experiments", "simulate"]

#: ``--arms`` shortcuts: a bare preset name needs no overrides.
PRESETS: dict[str, dict[str, Any]] = {
    "personalised": {},
    "popular": {"personalize": False},
    "explore10": {"exploration_share": 0.1},
    "explore30": {"exploration_share": 0.3},
}


def _data_dir(data_dir: str | None) -> str:
    from reelstack.settings import load_settings

    return load_settings(data_dir=data_dir).data_dir


def _arms(specs: tuple[str, ...]) -> list[Any]:
    from .experiments import parse_arm

    arms = []
    for spec in specs:
        arm = parse_arm(spec)
        if not arm.overrides and arm.name in PRESETS:
            arm = type(arm)(name=arm.name, weight=arm.weight, overrides=dict(PRESETS[arm.name]))
        arms.append(arm)
    return arms


def _err(text: str) -> None:
    click.echo(text, err=True)


@click.command("simulate")
@click.option("--users", type=click.IntRange(min=1), default=200, show_default=True)
@click.option(
    "--steps",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Interactions (videos watched) per user.",
)
@click.option("--base-url", default="http://127.0.0.1:8000", show_default=True)
@click.option(
    "--arms",
    "arm_specs",
    multiple=True,
    default=("personalised", "popular"),
    show_default=True,
    help="Arms of the run's experiment: a preset (personalised, popular, explore10, explore30) or "
    "name[:weight][,key=value...]. Repeat the option per arm.",
)
@click.option(
    "--experiment",
    "exp_name",
    default=None,
    help="Experiment name (default: sim-<arm names>). Written to <data-dir>/experiments.json.",
)
@click.option("--no-experiment", is_flag=True, help="Do not configure an experiment; one group 'all'.")
@click.option("--keep-experiment", is_flag=True, help="Leave the run's experiment running afterwards.")
@click.option("--data-dir", default=None, help="The platform's data dir (REEL_DATA_DIR or .reel).")
@click.option(
    "--catalogue",
    type=click.IntRange(min=0),
    default=160,
    show_default=True,
    help="Clips uploaded through the API before the users start.",
)
@click.option("--creators", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--new-creators", type=click.IntRange(min=0), default=8, show_default=True)
@click.option("--page-size", type=click.IntRange(min=1, max=50), default=4, show_default=True)
@click.option("--concurrency", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option(
    "--trace-out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the raw trace (pages, views, uploads) as JSON here.",
)
@click.option("--json", "as_json", is_flag=True)
def simulate(
    users: int,
    steps: int,
    base_url: str,
    arm_specs: tuple[str, ...],
    exp_name: str | None,
    no_experiment: bool,
    keep_experiment: bool,
    data_dir: str | None,
    catalogue: int,
    creators: int,
    new_creators: int,
    page_size: int,
    concurrency: int,
    seed: int,
    trace_out: str | None,
    as_json: bool,
) -> None:
    """Closed-loop simulation of synthetic users against a running platform, over its HTTP API."""
    from .driver import SimConfig, SimError
    from .driver import simulate as run
    from .experiments import Experiment, ExperimentError, ExperimentStore
    from .metrics import compute_metrics

    name = None
    if not no_experiment:
        try:
            arms = _arms(arm_specs)
            name = exp_name or "sim-" + "-".join(a.name for a in arms)
            store = ExperimentStore(_data_dir(data_dir))
            store.upsert(Experiment(name=name, arms=arms))
        except ExperimentError as exc:
            raise click.UsageError(str(exc)) from None
        _err(f"experiment {name}: arms {[a.name for a in arms]} written to {store.path}")
    cfg = SimConfig(
        base_url=base_url,
        users=users,
        steps=steps,
        page_size=page_size,
        concurrency=concurrency,
        seed=seed,
        catalogue=catalogue,
        creators=creators,
        new_creators=new_creators,
        experiment=name,
    )
    try:
        trace = run(cfg, progress=_err)
    except (SimError, OSError) as exc:
        raise click.ClickException(
            f"simulation failed: {exc} (is `reel up` running at {base_url}?)"
        ) from None
    finally:
        if name is not None and not keep_experiment:  # later runs must not inherit this run's arms
            ExperimentStore(_data_dir(data_dir)).set_status(name, "stopped")
    metrics = compute_metrics(trace)
    result = {
        "users": users,
        "steps": steps,
        "page_size": page_size,
        "experiment": name,
        "wall_s": round(trace.wall_s, 1),
        "requests": trace.requests,
        "errors": trace.errors,
        "uploads": {
            "catalogue": sum(1 for u in trace.uploads if not u.new_creator),
            "new_creators": sum(1 for u in trace.uploads if u.new_creator),
            "published": sum(1 for u in trace.uploads if u.status == "published"),
        },
        **metrics,
    }
    if trace_out:
        import dataclasses

        Path(trace_out).write_text(json.dumps(dataclasses.asdict(trace), default=list))
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for arm, m in result["arms"].items():
        e = m["engagement"]
        click.echo(
            f"{arm}: users {m['users']}, cold start {m['cold_start']['interactions']} interactions, "
            f"watch/session {e['watch_s_per_session']} s, completion {e['completion_rate']}, "
            f"like {e['like_rate']}, skip {e['skip_rate']}, new-creator share "
            f"{m['exploration']['new_creator_impression_share']}"
        )


@click.group("experiments")
def experiments() -> None:
    """A/B experiments: configure arms, ramp, roll back, report from the event log."""


@experiments.command("start")
@click.argument("name")
@click.option(
    "--arm",
    "arm_specs",
    multiple=True,
    required=True,
    help="name[:weight][,key=value...] (or a preset: personalised, popular, explore10, explore30).",
)
@click.option("--traffic", type=click.FloatRange(0, 1), default=1.0, show_default=True)
@click.option("--data-dir", default=None)
def start(name: str, arm_specs: tuple[str, ...], traffic: float, data_dir: str | None) -> None:
    """Create (or replace) experiment NAME; a running platform picks it up within a second."""
    from .experiments import Experiment, ExperimentError, ExperimentStore

    try:
        store = ExperimentStore(_data_dir(data_dir))
        store.upsert(Experiment(name=name, arms=_arms(arm_specs), traffic=traffic))
    except ExperimentError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"experiment {name} running ({store.path})")


@experiments.command("ramp")
@click.argument("name")
@click.argument("weights", nargs=-1, required=True)
@click.option("--data-dir", default=None)
def ramp(name: str, weights: tuple[str, ...], data_dir: str | None) -> None:
    """Change arm weights: ``reel experiments ramp NAME control=0.5 treatment=0.5``.

    Weight 0 rolls an arm back (its users move to the other arms)."""
    from .experiments import ExperimentError, ExperimentStore

    try:
        parsed = {k: float(v) for k, _, v in (w.partition("=") for w in weights)}
        exp = ExperimentStore(_data_dir(data_dir)).set_weights(name, parsed)
    except (ExperimentError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(json.dumps({a.name: a.weight for a in exp.arms}))


@experiments.command("stop")
@click.argument("name")
@click.option("--data-dir", default=None)
def stop(name: str, data_dir: str | None) -> None:
    """Stop NAME (every user back to the default feed); the definition stays for the report."""
    from .experiments import ExperimentError, ExperimentStore

    try:
        ExperimentStore(_data_dir(data_dir)).set_status(name, "stopped")
    except ExperimentError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"experiment {name} stopped")


@experiments.command("list")
@click.option("--data-dir", default=None)
def list_(data_dir: str | None) -> None:
    """The configured experiments as JSON."""
    import msgspec

    from .experiments import ExperimentStore

    click.echo(
        msgspec.json.format(msgspec.json.encode(ExperimentStore(_data_dir(data_dir)).load()), indent=2)
    )


@experiments.command("report")
@click.argument("name")
@click.option("--log-url", default=None, help="The platform's log (default: REEL_LOG_URL or the data dir's).")
@click.option("--data-dir", default=None)
@click.option("--control", default=None, help="The arm lifts are measured against (default: the first).")
@click.option("--resamples", type=click.IntRange(min=100), default=1000, show_default=True)
@click.option(
    "--creator-views",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Creator-health guardrail: views a new creator should reach (scale it with the audience).",
)
@click.option("--json", "as_json", is_flag=True)
def report(
    name: str,
    log_url: str | None,
    data_dir: str | None,
    control: str | None,
    resamples: int,
    creator_views: int,
    as_json: bool,
) -> None:
    """Each arm's metrics from the event log with 95 % bootstrap CIs, lifts and guardrails."""
    import asyncio

    from reelstack.settings import load_settings

    from .abreport import experiment_report

    settings = load_settings(data_dir=data_dir, log_url=log_url)
    out = asyncio.run(
        experiment_report(
            settings.log_url, name, control=control, resamples=resamples, creator_views=creator_views
        )
    )
    if as_json:
        click.echo(json.dumps(out, indent=2))
        return
    for arm, m in out["arms"].items():
        click.echo(f"{arm}: users {m['users']}")
        for key, ci in m["metrics"].items():
            click.echo(f"  {key:32s} {ci['mean']:.4f}  [{ci['lo']:.4f}, {ci['hi']:.4f}]")
    for arm, lifts in out["lift"].items():
        for key, ci in lifts.items():
            click.echo(
                f"lift {arm} vs {out['control']} {key}: {ci['mean']:+.2%} [{ci['lo']:+.2%}, {ci['hi']:+.2%}]"
            )
    click.echo(json.dumps(out["guardrails"], indent=2))


@click.command("capacity")
@click.option("--dau", type=click.IntRange(min=1), default=500_000_000, show_default=True)
@click.option("--videos-per-user", type=click.FloatRange(min=0), default=150, show_default=True)
@click.option("--uploads-per-day", type=click.IntRange(min=0), default=10_000_000, show_default=True)
@click.option(
    "--results",
    "results_path",
    default="docs/bench/results.json",
    show_default=True,
    help="The file `reel bench all` writes.",
)
@click.option("--json", "as_json", is_flag=True)
def capacity(
    dau: int, videos_per_user: float, uploads_per_day: int, results_path: str, as_json: bool
) -> None:
    """A cluster plan for a scale, from the platform's own measured benchmark figures (math shown)."""
    from .capacity import Scale, figures_from_results, plan, render

    try:
        results = json.loads(Path(results_path).read_text())
    except (OSError, ValueError) as exc:
        raise click.ClickException(
            f"cannot read {results_path} ({exc}); run `reel bench all --json` first"
        ) from None
    figures = figures_from_results(results)
    out = plan(Scale(dau=dau, videos_per_user=videos_per_user, uploads_per_day=uploads_per_day), figures)
    if as_json:
        click.echo(json.dumps(out, indent=2))
    else:
        sys.stdout.write(render(out))
