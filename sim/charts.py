"""PNG charts of ``reel bench all`` results (matplotlib, headless): latency percentiles, throughput vs
concurrency, quality vs baselines, cold-start curves. Each chart is drawn only when its data exists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["pyplot", "write_charts"]


def pyplot() -> Any:
    """matplotlib.pyplot on the headless Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_charts(results: dict[str, Any], out_dir: Path) -> list[str]:
    plt = pyplot()
    b = results.get("benchmarks", {})
    written: list[str] = []

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        fig.savefig(out_dir / name, dpi=110)
        plt.close(fig)
        written.append(name)

    sweep = [p for p in (b.get("feed") or {}).get("sweep", []) if "rps" in p]
    if sweep:
        sweep.sort(key=lambda p: p["concurrency"])
        cs = [p["concurrency"] for p in sweep]
        fig, ax = plt.subplots(figsize=(6, 4))
        where = {"inprocess": "ranked in the replica", "deployment": "ranking deployment"}
        ranked = where.get(str(sweep[0].get("ranking")), str(sweep[0].get("ranking", "?")))
        ranker = sweep[0].get("ranker")
        label = f"feed (Serve, {ranked}" + (f", {ranker} ranker" if ranker and ranker != "deployment" else "") + ")"
        ax.plot(cs, [p["rps"] for p in sweep], "o-", label=label)
        ax.plot(cs, [p.get("baseline_rps", 0) for p in sweep], "s--", label="empty Serve app (baseline)")
        ax.plot(cs, [0.8 * p.get("baseline_rps", 0) for p in sweep], ":", color="gray",
                label="target: 0.8 x baseline")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("concurrent clients")
        ax.set_ylabel("requests / s")
        ax.set_title(f"Feed throughput vs concurrency ({results.get('cpus')} cores)")
        ax.set_ylim(0, 1.45 * max([p.get("baseline_rps", 0) for p in sweep] + [p["rps"] for p in sweep]))
        ax.legend(loc="upper left", fontsize=8)  # above the lines: the y range leaves room
        save(fig, "feed_throughput.png")
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(cs, [p["p50_ms"] for p in sweep], "o-", label="p50")
        ax.plot(cs, [p["p99_ms"] for p in sweep], "o-", label="p99")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("concurrent clients")
        ax.set_ylabel("ms")
        ax.set_title("Feed latency percentiles")
        ax.legend()
        save(fig, "feed_latency.png")
    lat = {k: b[k] for k in ("ranker", "ann", "shards") if isinstance(b.get(k), dict) and "error" not in b[k]}
    bars = []
    for k, v in lat.items():
        for key, label in (
            ("p50_ms", "p50"),
            ("p99_ms", "p99"),
            ("get_state_p50_ms", "state p50"),
            ("get_state_p99_ms", "state p99"),
            ("query_p50_ms", "p50"),
            ("query_p99_ms", "p99"),
        ):
            if isinstance(v.get(key), int | float):
                bars.append((f"{k} {label}", float(v[key])))
    if bars:
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.barh([n for n, _ in bars], [x for _, x in bars])
        ax.set_xlabel("ms")
        ax.set_title("Component latency percentiles")
        save(fig, "component_latency.png")
    ev = b.get("eval")
    if isinstance(ev, dict) and "project" in ev:
        rows = [("project", ev["project"]), *ev.get("baselines", {}).items()]
        fig, ax = plt.subplots(figsize=(7, 4))
        width = 0.8 / len(rows)
        metrics = ("recall@10", "recall@50", "ndcg@10", "auc")
        for i, (name, res) in enumerate(rows):
            ax.bar(
                [m + i * width for m in range(len(metrics))],
                [float(res.get(m) or 0) for m in metrics],
                width,
                label=name,
            )
        ax.set_xticks([m + 0.4 - width / 2 for m in range(len(metrics))], metrics)
        ax.set_title("Offline quality vs baselines (reel eval)")
        ax.legend(fontsize=7)
        save(fig, "quality_vs_baselines.png")
    sim = b.get("simulate")
    if isinstance(sim, dict) and sim.get("arms"):
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for arm, m in sim["arms"].items():
            for ax, key in zip(axes, ("cold_start", "adaptation"), strict=True):
                curve = m[key]["curve"]
                if curve:
                    ks = sorted(int(k) for k in curve)
                    ax.plot(ks, [curve[str(k)] for k in ks], "o-", label=arm, markersize=3)
        for ax, title in zip(axes, ("new users", "after an interest shift"), strict=True):
            ax.axhline(0.7, color="grey", ls=":", label="70 % target")
            ax.set_xlabel("interactions")
            ax.set_ylabel("on-interest share of the page")
            ax.set_title(f"On-interest share vs interactions: {title}")
            ax.set_ylim(0, 1)
            ax.legend(fontsize=8)
        save(fig, "sim_on_interest.png")
    return written
