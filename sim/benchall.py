"""``reel bench all``: run every benchmark the project has, write one results file and PNG charts.

Each benchmark runs as its own ``reel ...  --json`` subprocess (they start Ray, brokers or heavy models;
a fresh process keeps them from disturbing each other), with full or ``--quick`` sizes. The feed is
swept over client concurrency (throughput vs concurrency, latency percentiles). ``state_size`` is
measured in-process: the encoded checkpoint record of a user after ``videos_per_user`` views, folded
by the shard's own ``apply``. A simulation result (``reel simulate --json`` output) and ``reel eval``
join when given. A benchmark that fails is recorded with its error; the others still run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BenchPlan", "plan_benchmarks", "run_all", "state_size"]

EVAL_DATASET = "/work/shared/data/kuairand"  # the KuaiRand subset folder (reel eval --format kuairand)


@dataclass(frozen=True, slots=True)
class BenchPlan:
    name: str
    argv: list[str]
    timeout_s: float


def plan_benchmarks(work: Path, *, quick: bool, eval_dataset: str | None) -> list[BenchPlan]:
    q = quick
    plans = [
        BenchPlan(
            "log",
            ["bench", "log", "--url", f"file://{work}/log", "--events", "20000" if q else "200000"],
            300,
        ),
        BenchPlan(
            "projections",
            [
                "bench",
                "projections",
                "--store",
                f"sqlite://{work}/proj.db",
                "--events",
                "20000" if q else "200000",
            ],
            300,
        ),
        BenchPlan(
            "shards",
            [
                "bench",
                "shards",
                "--users",
                "200" if q else "2000",
                "--events",
                "5000" if q else "100000",
                "--videos",
                "200" if q else "1000",
                "--probes",
                "30" if q else "300",
                "--reads",
                "200" if q else "2000",
                "--load-eps",
                "200" if q else "1000",
            ],
            600,
        ),
        BenchPlan(
            "transcode",
            [
                "bench",
                "transcode",
                "--seconds",
                "4" if q else "15",
                "--vertical",
                "--height",
                "360" if q else "720",
            ],
            600,
        ),
        BenchPlan(
            "pipeline",
            [
                "bench",
                "pipeline",
                "--seconds",
                "4" if q else "15",
                "--width",
                "360" if q else "720",
                "--height",
                "640" if q else "1280",
            ],
            600,
        ),
        BenchPlan(
            "moderation",
            ["bench", "moderation", "--videos", "3" if q else "20", "--seconds", "4" if q else "15"],
            900,
        ),
        BenchPlan(
            "ann",
            ["bench", "ann", "--items", "20000" if q else "1000000", "--queries", "50" if q else "200"],
            900,
        ),
        BenchPlan("ranker", ["bench", "ranker", "--candidates", "400" if q else "1000"], 300),
    ]
    for c in (2, 8) if q else (1, 4, 16, 32):
        plans.append(
            BenchPlan(
                f"feed@{c}",
                [
                    "bench",
                    "feed",
                    "--catalog",
                    "2000" if q else "100000",
                    "--users",
                    "100" if q else "1000",
                    "--concurrency",
                    str(c),
                    "--seconds",
                    "5" if q else "20",
                ],
                900,
            )
        )
    if eval_dataset and Path(eval_dataset).exists():
        fmt = "kuairand" if Path(eval_dataset).is_dir() else "interactions"
        plans.append(
            BenchPlan(
                "eval",
                ["eval", "--dataset", eval_dataset, "--format", fmt, "--text", "hashing"],
                1200,
            )
        )
    return plans


def _run(plan: BenchPlan, say: Callable[[str], None]) -> dict[str, Any]:
    cmd = [sys.executable, "-c", "from reelstack.cli import main; main()", *plan.argv, "--json"]
    t0 = time.perf_counter()
    say(f"reel {' '.join(plan.argv)} --json")
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=plan.timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {plan.timeout_s:.0f} s", "command": "reel " + " ".join(plan.argv)}
    wall = round(time.perf_counter() - t0, 1)
    out = p.stdout.strip()
    start = out.find("{")
    try:
        data = json.loads(out[start:]) if start >= 0 else None
    except ValueError:
        data = None
    if p.returncode != 0 or not isinstance(data, dict):
        return {
            "error": (p.stderr.strip().splitlines() or ["no output"])[-1][:500],
            "rc": p.returncode,
            "command": "reel " + " ".join(plan.argv) + " --json",
            "wall_s": wall,
        }
    data["command"] = "reel " + " ".join(plan.argv) + " --json"
    data["wall_s"] = wall
    return data


def state_size(views: int = 150) -> dict[str, Any]:
    """Bytes of one user's checkpoint record after ``views`` views (the shard's own fold and encoding)."""
    import random

    import msgspec
    import numpy as np

    from actors.snapshot import to_record
    from actors.user_state import StateParams, VideoInfo, apply, new_state
    from events.ids import new_event_id, now_us
    from events.schema import Liked, ViewEnded

    params = StateParams()
    rng = random.Random(1)
    state = new_state("u-" + new_event_id(), params)
    ts = now_us()
    for i in range(views):
        vid = "v-" + new_event_id()
        emb = np.asarray([rng.gauss(0, 1) for _ in range(params.dim)], dtype=np.float32)
        info = VideoInfo(video_id=vid, embedding=emb, creator_id=f"c{i % 40}", sound_id=f"s{i % 30}")
        ts += 5_000_000
        state = apply(
            state,
            ViewEnded(
                event_id=new_event_id(),
                ts=ts,
                user_id=state.user_id,
                video_id=vid,
                watch_ms=rng.randint(500, 9000),
                duration_ms=8000,
            ),
            info,
            params,
        )
        if i % 7 == 0:
            state = apply(
                state,
                Liked(event_id=new_event_id(), ts=ts + 1, user_id=state.user_id, video_id=vid),
                info,
                params,
            )
    size = len(msgspec.msgpack.encode(to_record(state)))
    return {
        "user_state_bytes": size,
        "views": views,
        "dim": params.dim,
        "seen_ring": params.seen_ring,
        "note": f"msgpack UserRecord after {views} views (actors.snapshot.to_record)",
    }


def run_all(
    *,
    quick: bool,
    out_dir: Path,
    sim_result: Path | None,
    eval_dataset: str | None,
    only: set[str] | None,
    say: Callable[[str], None],
) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="reel-bench-all-"))
    results: dict[str, Any] = {
        "quick": quick,
        "cpus": os.cpu_count(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_avg_1m_start": round(os.getloadavg()[0], 2),
        "benchmarks": {},
    }
    b = results["benchmarks"]
    previous = out_dir / "results.json"
    if only and previous.exists():  # a partial run updates the earlier full one
        with contextlib.suppress(ValueError):
            b.update(json.loads(previous.read_text()).get("benchmarks", {}))
    sweep: list[dict[str, Any]] = []
    try:
        for plan in plan_benchmarks(work, quick=quick, eval_dataset=eval_dataset):
            base = plan.name.split("@")[0]
            if only and base not in only:
                continue
            r = _run(plan, say)
            if base == "feed":
                r["concurrency"] = int(plan.name.split("@")[1])
                sweep.append(r)
                b["feed"] = {"sweep": sweep, "command": "reel bench feed --concurrency C --json (C swept)"}
            else:
                b[plan.name] = r
            say(f"  {plan.name}: {'ERROR ' + r['error'] if 'error' in r else 'ok'} ({r.get('wall_s')} s)")
    finally:  # the benchmarks' scratch logs and databases
        shutil.rmtree(work, ignore_errors=True)
    if not only or "state_size" in only:
        b["state_size"] = state_size()
    if sim_result is not None:
        b["simulate"] = json.loads(sim_result.read_text())
    results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    out_dir.mkdir(parents=True, exist_ok=True)
    from .charts import write_charts

    results["charts"] = write_charts(results, out_dir)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2))
    return results
