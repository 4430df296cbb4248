"""``reel experiments report``: an experiment's per-arm metrics from the event log, with CIs and guardrails.

Exposure is the ``experiment`` field of ``Impression`` events (the feed writes the arm of every
impression); a user belongs to the arm of their first exposure. Outcomes are joined by user from
``ViewEnded``, ``Liked`` and ``Shared`` after that first exposure. Metrics per user (the unit of
randomisation): watch seconds per user and per view, completion rate (watched >= the clip's length),
skip rate (< 25 % watched), like and share rate per view, and new-creator exposure — the share of
impressions on videos of creators whose first video was published after the experiment started.
Guardrails: safety (share of the arm's impressions on videos later removed) and creator health (share
of new creators whose videos got ``creator_views`` views from the arm's users, that threshold scaled
by the arm's share of exposed users).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from events.log import read_in_time_order
from events.schema import Impression, Liked, Shared, VideoPublished, VideoRemoved, ViewEnded

from .stats import bootstrap_lift, bootstrap_ratio

__all__ = ["ArmData", "collect", "experiment_report", "summarise"]


@dataclass(slots=True)
class _User:
    arm: str
    first_ts: int
    impressions: int = 0
    new_creator_impr: int = 0
    removed_impr: int = 0
    views: int = 0
    watch_ms: int = 0
    completes: int = 0
    skips: int = 0
    likes: int = 0
    shares: int = 0
    shown: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ArmData:
    users: dict[str, _User] = field(default_factory=dict)


async def _events(log_url: str) -> list[Any]:
    opts: dict[str, object] = {"readonly": True} if log_url.startswith("file://") else {}
    return await read_in_time_order(log_url, **opts)


def collect(events: list[Any], name: str) -> tuple[dict[str, _User], dict[str, Any]]:
    """Fold the (time-ordered) events into per-user exposure and outcomes for experiment ``name``."""
    users: dict[str, _User] = {}
    creator_of: dict[str, str] = {}
    first_pub: dict[str, int] = {}
    removed: set[str] = set()
    start: int | None = None
    for e in events:
        if isinstance(e, VideoPublished):
            creator_of[e.video_id] = e.creator_id
            first_pub.setdefault(e.creator_id, e.ts)
        elif isinstance(e, VideoRemoved):
            removed.add(e.video_id)
        elif isinstance(e, Impression):
            arm = e.experiment.get(name)
            u = users.get(e.user_id)
            if u is None:
                if arm is None:
                    continue
                start = e.ts if start is None else start
                u = users[e.user_id] = _User(arm=arm, first_ts=e.ts)
            u.impressions += 1
            u.shown.append(e.video_id)
        elif isinstance(e, ViewEnded) and e.user_id in users:
            u = users[e.user_id]
            u.views += 1
            u.watch_ms += e.watch_ms
            u.completes += e.loops > 0 or e.watch_ms >= e.duration_ms
            u.skips += e.watch_ms < 0.25 * e.duration_ms
        elif isinstance(e, Liked) and e.user_id in users:
            users[e.user_id].likes += 1
        elif isinstance(e, Shared) and e.user_id in users:
            users[e.user_id].shares += 1
    new_creators = {c for c, ts in first_pub.items() if start is not None and ts >= start}
    for u in users.values():
        u.new_creator_impr = sum(1 for v in u.shown if creator_of.get(v) in new_creators)
        u.removed_impr = sum(1 for v in u.shown if v in removed)
    return users, {"start_ts": start, "new_creators": new_creators, "creator_of": creator_of}


def _views_by_creator(
    events: list[Any], users: dict[str, _User], creator_of: dict[str, str]
) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for e in events:
        if isinstance(e, ViewEnded) and e.user_id in users and e.video_id in creator_of:
            out[users[e.user_id].arm][creator_of[e.video_id]] += 1
    return out


METRICS: dict[str, tuple[str, str | None]] = {
    "watch_s_per_user": ("watch_s", None),
    "watch_s_per_view": ("watch_s", "views"),
    "completion_rate": ("completes", "views"),
    "skip_rate": ("skips", "views"),
    "like_rate": ("likes", "views"),
    "share_rate": ("shares", "views"),
    "new_creator_impression_share": ("new_creator_impr", "impressions"),
    "removed_impression_share": ("removed_impr", "impressions"),
}


def _column(us: list[_User], key: str | None) -> list[float] | None:
    if key is None:
        return None
    if key == "watch_s":
        return [u.watch_ms / 1000 for u in us]
    return [float(getattr(u, key)) for u in us]


def summarise(
    events: list[Any],
    name: str,
    *,
    control: str | None = None,
    resamples: int = 1000,
    creator_views: int = 100,
) -> dict[str, Any]:
    users, info = collect(events, name)
    arms = sorted({u.arm for u in users.values()})
    if not arms:
        return {
            "experiment": name,
            "arms": {},
            "lift": {},
            "control": None,
            "guardrails": {},
            "note": "no impressions carry this experiment; is it running and are users fetching feeds?",
        }
    control = control if control in arms else arms[0]
    by_arm = {a: [u for u in users.values() if u.arm == a] for a in arms}
    out: dict[str, Any] = {"experiment": name, "control": control, "arms": {}, "lift": {}, "guardrails": {}}
    for a, us in by_arm.items():
        out["arms"][a] = {
            "users": len(us),
            "impressions": sum(u.impressions for u in us),
            "views": sum(u.views for u in us),
            "metrics": {},
        }
        for m, (num, den) in METRICS.items():
            ci = bootstrap_ratio(_column(us, num) or [], _column(us, den), resamples=resamples, seed=1)
            out["arms"][a]["metrics"][m] = ci
    for a in arms:
        if a == control:
            continue
        out["lift"][a] = {}
        for m, (num, den) in METRICS.items():
            t, c = by_arm[a], by_arm[control]
            out["lift"][a][m] = bootstrap_lift(
                (_column(t, num) or [], _column(t, den)),
                (_column(c, num) or [], _column(c, den)),
                resamples=resamples,
                seed=2,
            )
    total = len(users)
    per_creator = _views_by_creator(events, users, info["creator_of"])
    new = info["new_creators"]
    for a in arms:
        thr = max(1, math.ceil(creator_views * len(by_arm[a]) / total))
        reached = sum(1 for c in new if per_creator[a].get(c, 0) >= thr)
        removed = out["arms"][a]["metrics"]["removed_impression_share"]
        out["guardrails"][a] = {
            "safety_removed_impression_share": removed["mean"],
            "creator_health": {
                "new_creators": len(new),
                "views_threshold": thr,
                "reached": reached,
                "share": reached / len(new) if new else None,
            },
        }
        if a != control:
            lift = out["lift"][a]["removed_impression_share"]
            out["guardrails"][a]["safety_ok"] = (
                not (removed["lo"] > out["arms"][control]["metrics"]["removed_impression_share"]["hi"])
                if not math.isnan(lift["mean"])
                else True
            )
    out["definitions"] = {
        "creator_views": creator_views,
        "unit": "user (first exposure decides the arm)",
        "ci": f"95 % percentile bootstrap over users, {resamples} resamples",
    }
    return out


async def experiment_report(
    log_url: str, name: str, *, control: str | None = None, resamples: int = 1000, creator_views: int = 100
) -> dict[str, Any]:
    return summarise(
        await _events(log_url), name, control=control, resamples=resamples, creator_views=creator_views
    )
