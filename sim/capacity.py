"""Capacity planning (pure): a scale (DAU, videos per user, uploads per day) and the platform's own
benchmark figures -> a cluster plan, every number with its formula and the figures it came from.

``figures_from_results`` pulls the measured figures out of the file ``reel bench all`` writes; each
keeps its source (which benchmark, which key, on how many cores). ``plan`` does the arithmetic;
assumptions that no benchmark measures (peak factor, page size, average clip length, events per view,
replication) are named in ``Assumptions`` and printed with the plan.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Assumptions", "Figure", "Scale", "figures_from_results", "plan", "render"]

DAY_S = 86_400


@dataclass(frozen=True, slots=True)
class Scale:
    dau: int
    videos_per_user: float
    uploads_per_day: int


@dataclass(frozen=True, slots=True)
class Assumptions:
    peak_factor: float = 2.0  # peak hour QPS / daily mean QPS
    page_size: int = 10  # videos per feed request
    clip_seconds: float = 30.0  # average uploaded clip length
    events_per_view: float = 2.2  # impression + view_ended + likes/shares/follows (sim: ~2.1-2.3)
    watch_s_per_view: float = 12.0  # when no simulation measured it
    headroom: float = 0.7  # run every pool at <= 70 % of its measured capacity
    kafka_partition_eps: float | None = None  # override; default: the measured log append rate / partition
    kafka_replication: int = 3
    storage_replication: float = 1.0  # object stores replicate internally; 1.0 = billed bytes
    redis_overhead: float = 2.0  # Redis per-key overhead and fragmentation on top of the payload
    original_keep: bool = True  # keep the uploaded original next to the ladder


@dataclass(frozen=True, slots=True)
class Figure:
    value: float
    unit: str
    source: str  # "<bench>.<key> (<command>)"


def _get(results: Mapping[str, Any], path: str) -> Any:
    cur: Any = results
    for part in path.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return None
        cur = cur[part]
    return cur


def figures_from_results(results: Mapping[str, Any]) -> dict[str, Figure]:
    """The measured figures a plan needs, each traced to its benchmark result."""
    b = results.get("benchmarks", results)

    def cmd(name: str) -> str:
        return str(_get(b, f"{name}.command") or f"reel bench {name}")

    out: dict[str, Figure] = {}

    def put(name: str, value: Any, unit: str, source: str) -> None:
        if isinstance(value, int | float) and value > 0 and math.isfinite(value):
            out[name] = Figure(float(value), unit, source)

    # the feed: the best closed-loop point of the concurrency sweep
    sweep = _get(b, "feed.sweep") or []
    best = max(
        (p for p in sweep if isinstance(p, Mapping) and p.get("rps")), key=lambda p: p["rps"], default=None
    )
    if best is not None:
        cpus = best.get("cpus") or 1
        put(
            "feed_rps_per_replica",
            best["rps"],
            "req/s",
            f"feed.sweep[concurrency={best.get('concurrency')}].rps ({cmd('feed')}; one ingress replica, "
            f"{cpus} cores)",
        )
        put(
            "feed_rps_per_core",
            best["rps"] / cpus,
            "req/s/core",
            f"feed.sweep[concurrency={best.get('concurrency')}].rps / cpus={cpus}",
        )
        put(
            "feed_p99_ms",
            best.get("p99_ms"),
            "ms",
            f"feed.sweep[concurrency={best.get('concurrency')}].p99_ms",
        )
    r = _get(b, "ranker")
    if isinstance(r, Mapping) and r.get("p50_ms"):
        put(
            "ranker_pages_per_s",
            1000.0 / r["p50_ms"],
            "pages/s/replica",
            f"1000 / ranker.p50_ms={r['p50_ms']:.2f} ({cmd('ranker')}; {r.get('candidates')} candidates per "
            f"page, {r.get('device', 'cpu')})",
        )
        put("ranker_candidates", r.get("candidates"), "candidates/page", "ranker.candidates")
    t = _get(b, "transcode")
    if isinstance(t, Mapping) and t.get("seconds"):
        cpu = t.get("transcode_cpu_s")
        if cpu:
            put(
                "transcode_cpu_s_per_video_s",
                cpu / t["seconds"],
                "core-s per video-s",
                f"transcode.transcode_cpu_s={cpu} / seconds={t['seconds']} ({cmd('transcode')}, "
                f"{t.get('source')}, rungs {t.get('rungs')})",
            )
        put(
            "transcode_realtime_factor",
            t.get("realtime_factor"),
            "wall-s per video-s",
            f"transcode.realtime_factor ({t.get('cpus')} cores)",
        )
        mb = t.get("ours_mb")
        if mb:
            put(
                "ladder_mb_per_video_min",
                mb / t["seconds"] * 60,
                "MB/min",
                f"transcode.ours_mb={mb} / seconds={t['seconds']} x 60 (all rungs)",
            )
            rungs = len(t.get("rungs") or ()) or 1
            put(
                "rendition_mbit_s",
                mb * 8 / t["seconds"] / rungs,
                "Mbit/s",
                f"transcode.ours_mb x 8 / seconds / {rungs} rungs (mean rendition bitrate)",
            )
    p = _get(b, "pipeline")
    if isinstance(p, Mapping) and p.get("clip_bytes"):
        secs = float(str(p.get("clip") or "15").split()[0])
        put(
            "original_mb_per_video_min",
            p["clip_bytes"] / 1e6 / secs * 60,
            "MB/min",
            f"pipeline.clip_bytes={p['clip_bytes']} / {secs} s x 60 (the uploaded original)",
        )
    lg = _get(b, "log")
    if isinstance(lg, Mapping) and lg.get("append_eps"):
        parts = lg.get("partitions") or 1
        put(
            "log_append_eps_per_partition",
            lg["append_eps"] / parts,
            "events/s/partition",
            f"log.append_eps={lg['append_eps']} / partitions={parts} ({cmd('log')}, {lg.get('backend')})",
        )
        put(
            "log_bytes_per_event",
            lg.get("disk_bytes_per_event") or lg.get("payload_bytes_per_event"),
            "B",
            "log.disk_bytes_per_event",
        )
    pr = _get(b, "projections")
    if isinstance(pr, Mapping):
        put(
            "projection_fold_eps",
            pr.get("fold_eps"),
            "events/s/runner",
            f"projections.fold_eps ({cmd('projections')}, {pr.get('projection', 'counters')})",
        )
    sh = _get(b, "shards")
    if isinstance(sh, Mapping):
        per = (sh.get("apply_eps") or 0) / max(1, sh.get("shards") or 1)
        put(
            "shard_apply_eps",
            per,
            "events/s/shard",
            f"shards.apply_eps={sh.get('apply_eps')} / shards={sh.get('shards')} ({cmd('shards')})",
        )
    st = _get(b, "state_size")
    if isinstance(st, Mapping):
        put(
            "user_state_bytes",
            st.get("user_state_bytes"),
            "B/user",
            f"state_size.user_state_bytes ({st.get('note')})",
        )
    sim = _get(b, "simulate")
    if isinstance(sim, Mapping):
        arms = sim.get("arms") or {}
        arm = arms.get("personalised") or (next(iter(arms.values())) if arms else None)
        if isinstance(arm, Mapping):
            put(
                "watch_fraction",
                _get(arm, "engagement.watch_fraction"),
                "of the clip",
                "simulate.arms.personalised.engagement.watch_fraction (reel simulate; loops count)",
            )
    return out


@dataclass
class _Plan:
    lines: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def add(self, name: str, value: float, unit: str, formula: str, uses: dict[str, Any]) -> float:
        self.lines.append({"name": name, "value": value, "unit": unit, "formula": formula, "uses": uses})
        return value


def _use(f: Figure) -> dict[str, Any]:
    return {"value": round(f.value, 4), "unit": f.unit, "source": f.source}


def plan(scale: Scale, figures: Mapping[str, Figure], a: Assumptions | None = None) -> dict[str, Any]:
    a = a or Assumptions()
    p = _Plan()
    views_day = scale.dau * scale.videos_per_user
    p.add(
        "views_per_day",
        views_day,
        "views/day",
        "DAU x videos per user",
        {"dau": scale.dau, "videos_per_user": scale.videos_per_user},
    )
    qps_mean = views_day / a.page_size / DAY_S
    qps = p.add(
        "feed_qps_peak",
        math.ceil(qps_mean * a.peak_factor),
        "req/s",
        f"views/day / page_size {a.page_size} / 86400 x peak_factor {a.peak_factor}",
        {"mean_qps": round(qps_mean, 1)},
    )
    f = figures.get("feed_rps_per_replica")
    if f:
        reps = p.add(
            "serve_ingress_replicas",
            math.ceil(qps / (f.value * a.headroom)),
            "replicas",
            f"feed_qps_peak / (feed_rps_per_replica x headroom {a.headroom})",
            {"feed_rps_per_replica": _use(f)},
        )
        fc = figures.get("feed_rps_per_core")
        if fc:
            p.add(
                "serve_cores",
                math.ceil(qps / (fc.value * a.headroom)),
                "cores",
                f"feed_qps_peak / (feed_rps_per_core x headroom {a.headroom})",
                {"feed_rps_per_core": _use(fc), "replicas": reps},
            )
    else:
        p.missing.append("feed_rps_per_replica (reel bench feed)")
    f = figures.get("ranker_pages_per_s")
    if f:
        p.add(
            "ranking_replicas",
            math.ceil(qps / (f.value * a.headroom)),
            "replicas",
            f"feed_qps_peak / (ranker_pages_per_s x headroom {a.headroom}); one ranked page per request",
            {"ranker_pages_per_s": _use(f)},
        )
    else:
        p.missing.append("ranker (reel bench ranker)")
    video_s_day = scale.uploads_per_day * a.clip_seconds
    p.add(
        "uploaded_video_s_per_day",
        video_s_day,
        "video-s/day",
        f"uploads/day x clip_seconds {a.clip_seconds}",
        {"uploads_per_day": scale.uploads_per_day},
    )
    f = figures.get("transcode_cpu_s_per_video_s")
    if f:
        cores = video_s_day * f.value / DAY_S * a.peak_factor / a.headroom
        p.add(
            "transcode_cores",
            math.ceil(cores),
            "cores",
            f"video-s/day x transcode_cpu_s_per_video_s / 86400 x peak {a.peak_factor}"
            f" / headroom {a.headroom}",
            {"transcode_cpu_s_per_video_s": _use(f)},
        )
        fr = figures.get("transcode_realtime_factor")
        if fr:
            p.add(
                "transcode_workers",
                math.ceil(video_s_day * fr.value / DAY_S * a.peak_factor / a.headroom),
                "workers",
                "video-s/day x realtime_factor / 86400 x peak / headroom (one worker = the bench's machine)",
                {"transcode_realtime_factor": _use(fr)},
            )
    else:
        p.missing.append("transcode (reel bench transcode)")
    eps = views_day * a.events_per_view / DAY_S * a.peak_factor
    p.add(
        "log_events_per_s_peak",
        math.ceil(eps),
        "events/s",
        f"views/day x events_per_view {a.events_per_view} / 86400 x peak {a.peak_factor}",
        {},
    )
    f = figures.get("log_append_eps_per_partition")
    per_part = a.kafka_partition_eps or (f.value if f else None)
    if per_part:
        p.add(
            "kafka_partitions",
            math.ceil(eps / (per_part * a.headroom)),
            "partitions",
            "log_events_per_s_peak / (per-partition append rate x headroom)",
            {"per_partition_eps": _use(f) if f and not a.kafka_partition_eps else a.kafka_partition_eps},
        )
    fb = figures.get("log_bytes_per_event")
    if fb:
        p.add(
            "log_tb_per_day",
            round(views_day * a.events_per_view * fb.value * a.kafka_replication / 1e12, 2),
            "TB/day",
            f"events/day x log_bytes_per_event x replication {a.kafka_replication}",
            {"log_bytes_per_event": _use(fb)},
        )
    f = figures.get("projection_fold_eps")
    if f:
        p.add(
            "projection_runners_per_view",
            math.ceil(eps / (f.value * a.headroom)),
            "runners",
            "log_events_per_s_peak / (projection_fold_eps x headroom), per read model (partitioned)",
            {"projection_fold_eps": _use(f)},
        )
    f = figures.get("shard_apply_eps")
    if f:
        p.add(
            "user_shards",
            math.ceil(eps / (f.value * a.headroom)),
            "shard actors",
            "log_events_per_s_peak / (shard_apply_eps x headroom)",
            {"shard_apply_eps": _use(f)},
        )
    f = figures.get("user_state_bytes")
    if f:
        p.add(
            "redis_gb",
            round(scale.dau * f.value * a.redis_overhead / 1e9, 1),
            "GB",
            f"DAU x user_state_bytes x overhead {a.redis_overhead} (live user state of the day's users)",
            {"user_state_bytes": _use(f)},
        )
    f = figures.get("ladder_mb_per_video_min")
    if f:
        mb = video_s_day / 60 * f.value
        fo = figures.get("original_mb_per_video_min")
        uses = {"ladder_mb_per_video_min": _use(f)}
        if fo and a.original_keep:
            mb += video_s_day / 60 * fo.value
            uses["original_mb_per_video_min"] = _use(fo)
        p.add(
            "storage_tb_per_day",
            round(mb * a.storage_replication / 1e6, 2),
            "TB/day",
            "video-min/day x (ladder MB/min + original MB/min)",
            uses,
        )
    fw = figures.get("watch_fraction")
    watch = fw.value * a.clip_seconds if fw else a.watch_s_per_view
    f = figures.get("rendition_mbit_s")
    if f:
        pb = views_day * watch * f.value / 8 / 1e6
        p.add(
            "cdn_egress_pb_per_day",
            round(pb / 1000, 2),
            "PB/day",
            f"views/day x watch_fraction x clip_seconds {a.clip_seconds} x rendition_mbit_s / 8",
            {
                "rendition_mbit_s": _use(f),
                "watch_fraction": _use(fw) if fw else f"none measured: assumed {a.watch_s_per_view} s/view",
            },
        )
        p.add(
            "cdn_egress_peak_tbit_s",
            round(views_day * watch * f.value / DAY_S * a.peak_factor / 1e6, 2),
            "Tbit/s",
            "views/day x watch_s x Mbit/s / 86400 x peak",
            {},
        )
    return {
        "scale": asdict(scale),
        "assumptions": asdict(a),
        "plan": p.lines,
        "missing": p.missing,
        "figures": {k: asdict(v) for k, v in figures.items()},
    }


def render(out: Mapping[str, Any]) -> str:
    s = out["scale"]
    lines = [
        f"Capacity plan: {s['dau']:,} DAU x {s['videos_per_user']:g} videos, {s['uploads_per_day']:,} "
        "uploads/day",
        "assumptions: " + ", ".join(f"{k}={v}" for k, v in out["assumptions"].items()),
        "",
    ]
    for ln in out["plan"]:
        v = ln["value"]
        vs = f"{v:,.0f}" if isinstance(v, int | float) and float(v).is_integer() else f"{v:,}"
        lines.append(f"{ln['name']:>28} = {vs} {ln['unit']}")
        lines.append(f"{'':>28}   = {ln['formula']}")
        for k, u in ln["uses"].items():
            lines.append(
                f"{'':>30} {k}: {u['value']:,} {u['unit']}  <- {u['source']}"
                if isinstance(u, dict)
                else f"{'':>30} {k}: {u}"
            )
    if out["missing"]:
        lines.append("\nnot planned (no benchmark figure in the results file): " + ", ".join(out["missing"]))
    return "\n".join(lines) + "\n"
