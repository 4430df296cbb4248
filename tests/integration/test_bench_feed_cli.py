"""``reel bench feed --json`` end to end, in each Serve mode, on a small world (figures are not judged here).

Each run is a process of its own (the bench starts its own Ray; the Serve mode is read when Ray
starts). The JSON carries the figures issue 8 asks for (``rps``, ``p50_ms``, ``p99_ms``,
``baseline_rps``, ``stage_p99_ms`` per stage, ``freshness_p99_ms``), every request succeeded, the
freshness probe ran, and the CPU per request names the processes of the mode: Serve's proxy actor, plus
HAProxy in ``throughput`` mode, for the feed and for the baseline alike.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from bench.feed_modes import feed_bench_command


@pytest.mark.parametrize("mode", ["proxy", "throughput"])
def test_bench_feed_prints_its_figures(tmp_path: Path, mode: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_SERVE_", "RAY_ADDRESS"))}
    cmd = feed_bench_command(mode, ["--catalog", "400", "--users", "20", "--concurrency", "2", "--seconds", "2",
                                    "--baseline-seconds", "1", "--cache-dir", str(tmp_path / "cache")])
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout)  # stdout is the JSON alone (logs go to stderr)
    for key in ("rps", "p50_ms", "p99_ms", "baseline_rps", "freshness_p99_ms"):
        assert isinstance(out[key], float) and out[key] > 0, (key, out)
    assert {"state", "retrieval", "ranking", "rerank", "page", "total"} <= set(out["stage_p99_ms"])
    assert out["errors"] == 0 and out["requests"] > 0 and out["freshness_probes"] > 0
    assert out["serve_mode"] == mode and out["via"] == "serve"
    ingress = {"proxy", "haproxy"} if mode == "throughput" else {"proxy"}
    assert set(out["cpu_ms_per_request"]) == ingress | {"replica", "load_generator"}
    assert set(out["baseline_cpu_ms_per_request"]) == ingress | {"replica", "load_generator"}
    assert out["cpu_ms_per_request"]["replica"] > 0
    if mode == "throughput":
        assert out["cpu_ms_per_request"]["haproxy"] > 0  # the requests really went through HAProxy
