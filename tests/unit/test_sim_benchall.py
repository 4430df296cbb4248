"""``reel bench all``: every benchmark is planned (quick and full), charts are drawn from results."""

from __future__ import annotations

from pathlib import Path

from sim.benchall import plan_benchmarks, state_size
from sim.charts import write_charts

ALL = {"log", "projections", "shards", "transcode", "pipeline", "moderation", "ann", "ranker", "feed"}


def test_every_benchmark_is_planned(tmp_path: Path) -> None:
    for quick in (True, False):
        plans = plan_benchmarks(tmp_path, quick=quick, eval_dataset=str(tmp_path))
        assert {p.name.split("@")[0] for p in plans} == ALL | {"eval"}
        assert all(p.argv[0] in ("bench", "eval") for p in plans)
    assert (
        len([p for p in plan_benchmarks(tmp_path, quick=False, eval_dataset=None) if "feed" in p.name]) >= 3
    )
    assert not any(p.name == "eval" for p in plan_benchmarks(tmp_path, quick=True, eval_dataset="/no/such"))


def test_state_size_is_measured_from_the_shard_encoding() -> None:
    small, big = state_size(views=5), state_size(views=150)
    assert 0 < small["user_state_bytes"] < big["user_state_bytes"]


def test_charts_from_results(tmp_path: Path) -> None:
    results = {
        "cpus": 2,
        "benchmarks": {
            "feed": {
                "sweep": [
                    {
                        "concurrency": c,
                        "rps": 10.0 * c,
                        "p50_ms": 5.0 * c,
                        "p99_ms": 9.0 * c,
                        "baseline_rps": 100.0,
                    }
                    for c in (1, 4)
                ]
            },
            "ranker": {"p50_ms": 3.0, "p99_ms": 7.0},
            "eval": {
                "project": {"recall@10": 0.2, "recall@50": 0.4, "ndcg@10": 0.1, "auc": 0.7},
                "baselines": {"popular": {"recall@10": 0.1, "recall@50": 0.3, "ndcg@10": 0.05, "auc": 0.6}},
            },
            "simulate": {
                "arms": {
                    "p": {"cold_start": {"curve": {"0": 0.2, "4": 0.8}}, "adaptation": {"curve": {"3": 0.3}}}
                }
            },
        },
    }
    names = write_charts(results, tmp_path)
    assert set(names) == {
        "feed_throughput.png",
        "feed_latency.png",
        "component_latency.png",
        "quality_vs_baselines.png",
        "sim_on_interest.png",
    }
    assert all((tmp_path / n).read_bytes().startswith(b"\x89PNG") for n in names)
    assert write_charts({"benchmarks": {}}, tmp_path / "..") == []
