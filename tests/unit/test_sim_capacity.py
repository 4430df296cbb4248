"""Capacity math: each planned number recomputes from the figures it names; figures trace to results."""

from __future__ import annotations

import math

from sim.capacity import Assumptions, Scale, figures_from_results, plan, render

RESULTS = {
    "benchmarks": {
        "feed": {
            "sweep": [
                {"concurrency": 4, "rps": 100.0, "p99_ms": 80, "cpus": 2},
                {"concurrency": 16, "rps": 160.0, "p99_ms": 200, "cpus": 2},
            ]
        },
        "ranker": {"p50_ms": 4.0, "candidates": 1000},
        "transcode": {
            "seconds": 15,
            "transcode_cpu_s": 30.0,
            "realtime_factor": 1.5,
            "ours_mb": 6.0,
            "rungs": ["360p", "540p", "720p"],
            "cpus": 2,
        },
        "pipeline": {"clip_bytes": 3_000_000, "clip": "15 s 720x1280 H.264/AAC"},
        "log": {"append_eps": 80_000, "partitions": 8, "disk_bytes_per_event": 120, "backend": "file"},
        "projections": {"fold_eps": 50_000},
        "shards": {"apply_eps": 20_000, "shards": 4},
        "state_size": {"user_state_bytes": 4000, "note": "x"},
    }
}
SEED = Scale(dau=500_000_000, videos_per_user=150, uploads_per_day=10_000_000)


def test_figures_name_their_benchmark() -> None:
    f = figures_from_results(RESULTS)
    assert f["feed_rps_per_replica"].value == 160.0 and "concurrency=16" in f["feed_rps_per_replica"].source
    assert f["feed_rps_per_core"].value == 80.0
    assert (
        f["transcode_cpu_s_per_video_s"].value == 2.0
        and "transcode.transcode_cpu_s" in f["transcode_cpu_s_per_video_s"].source
    )
    assert f["log_append_eps_per_partition"].value == 10_000
    assert f["ranker_pages_per_s"].value == 250.0


def test_plan_numbers_follow_from_scale_figures_and_assumptions() -> None:
    a = Assumptions()
    out = {ln["name"]: ln for ln in plan(SEED, figures_from_results(RESULTS), a)["plan"]}
    views = 500_000_000 * 150
    qps = math.ceil(views / a.page_size / 86_400 * a.peak_factor)
    assert out["feed_qps_peak"]["value"] == qps
    assert out["serve_ingress_replicas"]["value"] == math.ceil(qps / (160 * a.headroom))
    assert out["serve_cores"]["value"] == math.ceil(qps / (80 * a.headroom))
    assert out["ranking_replicas"]["value"] == math.ceil(qps / (250 * a.headroom))
    video_s = 10_000_000 * a.clip_seconds
    assert out["transcode_cores"]["value"] == math.ceil(video_s * 2.0 / 86_400 * a.peak_factor / a.headroom)
    eps = views * a.events_per_view / 86_400 * a.peak_factor
    assert out["kafka_partitions"]["value"] == math.ceil(eps / (10_000 * a.headroom))
    assert out["redis_gb"]["value"] == round(500_000_000 * 4000 * a.redis_overhead / 1e9, 1)
    assert out["storage_tb_per_day"]["value"] == round(video_s / 60 * (24 + 12) / 1e6, 2)
    for line in out.values():
        for use in line["uses"].values():
            assert not isinstance(use, dict) or use["source"]


def test_missing_benchmarks_are_listed_not_invented() -> None:
    out = plan(SEED, figures_from_results({"benchmarks": {"log": RESULTS["benchmarks"]["log"]}}))
    names = {ln["name"] for ln in out["plan"]}
    assert "serve_ingress_replicas" not in names and "kafka_partitions" in names
    assert any("feed" in m for m in out["missing"])
    assert "not planned" in render(out)
