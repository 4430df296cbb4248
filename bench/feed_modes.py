"""`reel bench feed-modes`: the feed bench in each Serve mode, interleaved, with medians and a chart.

A Serve mode is fixed for the life of a Ray (``serve.modes``), so each run is a ``reel bench feed``
process of its own. Rounds alternate the modes (proxy, throughput, proxy, throughput, ...), so a shared
host that speeds up or slows down meanwhile moves both. The summary gives each mode's median feed rate,
p99, baseline and ratio, and the throughput mode's speed-up over the proxy mode; the chart shows every
run (feed and empty app, requests/s on a log scale; the feed's p99).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from serve.modes import SERVE_MODES

__all__ = ["feed_bench_command", "modes_chart", "run_modes", "summarise"]

Runner = Callable[[str], dict[str, Any]]
KEYS = ("rps", "p50_ms", "p99_ms", "baseline_rps", "freshness_p99_ms")


def feed_bench_command(mode: str, args: Sequence[str]) -> list[str]:
    """The ``reel bench feed`` process of one run: ``args`` (its flags) in Serve mode ``mode``, JSON out."""
    return [sys.executable, "-c", "from reelstack.cli import main; main()", "bench", "feed", *args,
            "--serve-mode", mode, "--json"]


def subprocess_runner(args: Sequence[str], timeout_s: float = 1800.0) -> Runner:
    def run(mode: str) -> dict[str, Any]:
        done = subprocess.run(feed_bench_command(mode, args), capture_output=True, text=True, timeout=timeout_s)
        if done.returncode != 0:
            raise RuntimeError(f"reel bench feed --serve-mode {mode} failed (exit {done.returncode}):\n"
                               f"{done.stderr[-2000:]}")
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    return run


def run_modes(run: Runner, rounds: int, modes: Sequence[str] = tuple(SERVE_MODES),
              progress: Callable[[str], None] = lambda line: None) -> list[dict[str, Any]]:
    """``rounds`` x each mode, interleaved; one row per run: round, mode, the figures and the ratio."""
    rows = []
    for r in range(1, rounds + 1):
        for mode in modes:
            progress(f"round {r}/{rounds}: {mode}")
            res = run(mode)
            row = {"round": r, "mode": mode, **{k: res[k] for k in KEYS},
                   "ratio": round(res["rps"] / res["baseline_rps"], 3) if res["baseline_rps"] else None,
                   "cpu_ms_per_request": res.get("cpu_ms_per_request")}
            rows.append(row)
            progress(f"  {mode}: {row['rps']} req/s (baseline {row['baseline_rps']}), p99 {row['p99_ms']} ms")
    return rows


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per mode, the medians of its runs; ``speedup``: the throughput mode's median rate over the proxy's."""
    per: dict[str, dict[str, float]] = {}
    for mode in dict.fromkeys(r["mode"] for r in rows):
        mine = [r for r in rows if r["mode"] == mode]
        per[mode] = {k: round(statistics.median(float(r[k]) for r in mine), 3) for k in (*KEYS, "ratio")
                     if all(r.get(k) is not None for r in mine)}
        per[mode]["runs"] = len(mine)
    speedup = None
    if "proxy" in per and "throughput" in per and per["proxy"]["rps"]:
        speedup = round(per["throughput"]["rps"] / per["proxy"]["rps"], 2)
    return {"median": per, "speedup": speedup}


def modes_chart(rows: Sequence[dict[str, Any]], out: Path, title: str) -> None:
    """Every run: feed and empty-app requests/s per mode (log scale, the 0.8x target marked) and the feed's p99."""
    from sim.charts import pyplot

    plt = pyplot()
    modes = list(dict.fromkeys(r["mode"] for r in rows))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for i, mode in enumerate(modes):
        mine = [r for r in rows if r["mode"] == mode]
        xs = [i + (j - (len(mine) - 1) / 2) * 0.18 for j in range(len(mine))]
        ax1.bar([x - 0.04 for x in xs], [r["rps"] for r in mine], 0.08, color="C0",
                label="feed" if i == 0 else None)
        ax1.bar([x + 0.04 for x in xs], [r["baseline_rps"] for r in mine], 0.08, color="C7",
                label="empty Serve app (baseline)" if i == 0 else None)
        ax1.scatter([x + 0.04 for x in xs], [0.8 * r["baseline_rps"] for r in mine], marker="_", s=200,
                    color="C3", label="target: 0.8 x baseline" if i == 0 else None, zorder=3)
        for x, r in zip(xs, mine, strict=True):
            ax1.annotate(f"{r['rps']:.0f}", (x - 0.04, r["rps"]), ha="center", va="bottom", fontsize=7)
        ax2.bar(xs, [r["p99_ms"] for r in mine], 0.12, color="C1")
    for ax in (ax1, ax2):
        ax.set_xticks(range(len(modes)), modes)
        ax.set_xlabel("Serve mode (one bar per run, rounds interleaved)")
    ax1.set_yscale("log")
    ax1.set_ylabel("requests / s")
    ax1.set_title("Saturated throughput")
    ax1.legend(fontsize=7, loc="upper left")
    ax2.set_ylabel("ms")
    ax2.set_title("Feed p99")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
