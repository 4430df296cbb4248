"""``reel experiments`` start / ramp / stop / list and ``reel capacity`` through the CLI (no platform)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from reelstack.cli import main
from sim.experiments import ExperimentStore


def test_experiment_lifecycle(tmp_path: Path) -> None:
    run = CliRunner().invoke
    d = ["--data-dir", str(tmp_path)]
    r = run(main, ["experiments", "start", "ex", "--arm", "explore10", "--arm", "explore30:3", *d])
    assert r.exit_code == 0, r.output
    exp = ExperimentStore(tmp_path).get("ex")
    assert [(a.name, a.weight, a.overrides) for a in exp.arms] == [
        ("explore10", 1.0, {"exploration_share": 0.1}),
        ("explore30", 3.0, {"exploration_share": 0.3}),
    ]
    r = run(main, ["experiments", "ramp", "ex", "explore30=0", *d])
    assert r.exit_code == 0 and json.loads(r.output) == {"explore10": 1.0, "explore30": 0.0}
    assert run(main, ["experiments", "ramp", "ex", "nope=1", *d]).exit_code == 2
    assert run(main, ["experiments", "stop", "ex", *d]).exit_code == 0
    assert json.loads(run(main, ["experiments", "list", *d]).output)[0]["status"] == "stopped"
    bad = run(main, ["experiments", "start", "x", "--arm", "a,explore=1", *d])
    assert bad.exit_code == 2 and "unknown overrides" in bad.output


def test_capacity_needs_a_results_file(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["capacity", "--results", str(tmp_path / "none.json")])
    assert r.exit_code == 1 and "reel bench all" in r.output
    (tmp_path / "r.json").write_text(
        json.dumps({"benchmarks": {"log": {"append_eps": 8000, "partitions": 8}}})
    )
    r = CliRunner().invoke(main, ["capacity", "--results", str(tmp_path / "r.json"), "--json"])
    out = json.loads(r.output)
    parts = {ln["name"]: ln for ln in out["plan"]}["kafka_partitions"]
    assert parts["uses"]["per_partition_eps"]["source"].startswith("log.append_eps=8000")
