"""The simulation's figures from its trace (pure): engagement, cold start, adaptation, exploration,
diversity and freshness, per experiment arm.

Definitions (also printed with the results):

- cold start: the on-interest share of the page a new user is served after ``k`` interactions (views),
  averaged over the arm's users (pages before any interest shift); the figure is the first ``k``
  where that mean reaches ``target`` (0.70), and ``None`` when it never does within the run.
- adaptation: the same curve over interactions since a user's interest shift, against the new topics.
- exploration: share of impressions that went to new creators' videos, and for each good new video
  (creator quality >= 0.6) the wall seconds and simulated interactions from publication to
  ``views_threshold`` views (1,000 views scaled to the simulated audience: 5 % of its users, >= 5).
- diversity: distinct creators and hashtags among a user's first 50 videos (fewer if the run is shorter).
- freshness: seconds / interactions from publication until a good new video has been shown to
  ``reach_users`` users whose home topics include its topic.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from .trace import PageRecord, Trace, UploadRecord, ViewRecord

__all__ = ["DEFINITIONS", "compute_metrics", "crossing", "curve", "degraded_reasons", "views_threshold"]

DEFINITIONS = {
    "cold_start_interactions": "first k (views) where the mean on-interest share of pages served after k "
    "interactions reaches the target (pre-shift pages of all users of the arm)",
    "adaptation_interactions": "first k since an interest shift where the mean share on the NEW topics "
    "reaches the target",
    "views_threshold": "1,000 views scaled to the simulation: 5 % of simulated users, at least 5",
    "good_video": "a new creator's video whose latent quality is >= 0.6",
    "diversity_window": "a user's first 50 videos",
}
GOOD = 0.6


def degraded_reasons(pages: Iterable[PageRecord], top: int = 5) -> dict[str, int]:
    """How many pages were not personalised, by the kind of reason (the API's ``reason`` up to its first
    detail: "ranking unavailable", "user state unavailable", ...), the most frequent first."""
    kinds = Counter(re.split(r"[:(;]", p.reason or "no reason given", maxsplit=1)[0].strip()
                    for p in pages if not p.personalized)
    return dict(kinds.most_common(top))


def views_threshold(users: int) -> int:
    return max(5, math.ceil(users * 0.05))


def curve(pages: Iterable[PageRecord], *, shifted: bool = False) -> dict[int, tuple[float, int]]:
    """``{k: (mean on-interest share, pages)}`` over interactions (since the shift if ``shifted``)."""
    acc: dict[int, list[float]] = defaultdict(list)
    for p in pages:
        k = p.since_shift if shifted else (p.k if p.since_shift is None else None)
        if k is not None:
            acc[k].append(p.on_interest)
    return {k: (sum(v) / len(v), len(v)) for k, v in sorted(acc.items())}


def crossing(points: dict[int, tuple[float, int]], target: float, *, min_pages: int = 3) -> int | None:
    for k, (share, n) in sorted(points.items()):
        if n >= min_pages and share >= target:
            return k
    return None


def _rate(views: Sequence[ViewRecord], attr: str) -> float | None:
    return round(sum(1 for v in views if getattr(v, attr)) / len(views), 4) if views else None


def _median(xs: Sequence[float]) -> float | None:
    return round(statistics.median(xs), 3) if xs else None


def _engagement(views: Sequence[ViewRecord]) -> dict[str, Any]:
    sessions: dict[tuple[int, int], int] = defaultdict(int)
    for v in views:
        sessions[(v.user, v.session)] += v.watch_ms
    return {
        "views": len(views),
        "sessions": len(sessions),
        "watch_s_per_session": round(sum(sessions.values()) / 1000 / len(sessions), 2) if sessions else None,
        "watch_s_per_view": round(sum(v.watch_ms for v in views) / 1000 / len(views), 3) if views else None,
        "watch_fraction": round(sum(v.watch_ms for v in views) / sum(v.duration_ms for v in views), 4)
        if views
        else None,
        "completion_rate": _rate(views, "completed"),
        "like_rate": _rate(views, "liked"),
        "share_rate": _rate(views, "shared"),
        "follow_rate": _rate(views, "followed"),
        "skip_rate": _rate(views, "skipped"),
        "on_interest_share": _rate(views, "on_interest"),
    }


def _diversity(views: Sequence[ViewRecord], window: int = 50) -> dict[str, Any]:
    by_user: dict[int, list[ViewRecord]] = defaultdict(list)
    for v in views:
        by_user[v.user].append(v)
    creators, tags, sizes = [], [], []
    for seq in by_user.values():
        first = seq[:window]
        creators.append(len({v.creator_id for v in first}))
        tags.append(len({h for v in first for h in v.hashtags}))
        sizes.append(len(first))

    def mean(xs: list[int]) -> float | None:
        return round(sum(xs) / len(xs), 2) if xs else None

    return {
        "window": window,
        "mean_videos_in_window": mean(sizes),
        "distinct_creators": mean(creators),
        "distinct_hashtags": mean(tags),
    }


def _exploration(trace: Trace, views: Sequence[ViewRecord], users_in_arm: int) -> dict[str, Any]:
    new_ids = {u.video_id for u in trace.uploads if u.new_creator}
    shown_new = sum(1 for v in views if v.video_id in new_ids)
    return {
        "new_creator_impression_share": round(shown_new / len(views), 4) if views else None,
        "new_creator_impressions": shown_new,
        "users": users_in_arm,
    }


def _new_videos(trace: Trace, threshold: int, reach_users: int) -> dict[str, Any]:
    by_video: dict[str, list[ViewRecord]] = defaultdict(list)
    for v in trace.views:
        by_video[v.video_id].append(v)
    good = [u for u in trace.uploads if u.new_creator and u.quality >= GOOD and u.published_t is not None]
    poor = [u for u in trace.uploads if u.new_creator and u.quality < GOOD and u.published_t is not None]
    to_thr_s, to_thr_ticks, reach_s, reach_ticks, never = [], [], [], [], 0
    for u in good:
        assert u.published_t is not None and u.published_tick is not None
        seen = sorted(by_video.get(u.video_id, []), key=lambda v: v.t)
        if len(seen) >= threshold:
            hit = seen[threshold - 1]
            to_thr_s.append(max(0.0, hit.t - u.published_t))
            to_thr_ticks.append(max(0, hit.tick - u.published_tick))
        else:
            never += 1
        audience: set[int] = set()
        for v in seen:
            if v.on_interest:
                audience.add(v.user)
                if len(audience) >= reach_users:
                    reach_s.append(max(0.0, v.t - u.published_t))
                    reach_ticks.append(max(0, v.tick - u.published_tick))
                    break

    def views_of(us: list[UploadRecord]) -> list[int]:
        return [len(by_video.get(u.video_id, [])) for u in us]

    return {
        "published_new_videos": len(good) + len(poor),
        "good": len(good),
        "views_threshold": threshold,
        "good_reaching_threshold": len(to_thr_s),
        "good_not_reaching_threshold": never,
        "median_s_to_threshold": _median(to_thr_s),
        "median_interactions_to_threshold": _median(to_thr_ticks),
        "mean_views_good": round(statistics.mean(views_of(good)), 2) if good else None,
        "mean_views_poor": round(statistics.mean(views_of(poor)), 2) if poor else None,
        "freshness": {
            "reach_users": reach_users,
            "reached": len(reach_s),
            "median_s_to_reach": _median(reach_s),
            "median_interactions_to_reach": _median(reach_ticks),
        },
    }


def compute_metrics(trace: Trace, *, target: float = 0.7) -> dict[str, Any]:
    arms = sorted(set(trace.arms.values()))
    out: dict[str, Any] = {"arms": {}}
    for arm in arms:
        users = [u for u, a in trace.arms.items() if a == arm]
        views = [v for v in trace.views if v.arm == arm]
        pages = [p for p in trace.pages if p.arm == arm]
        cold = curve(pages)
        adapt = curve(pages, shifted=True)
        out["arms"][arm] = {
            "users": len(users),
            "engagement": _engagement(views),
            "cold_start": {
                "target": target,
                "interactions": crossing(cold, target),
                "curve": {str(k): round(s, 3) for k, (s, _) in cold.items()},
            },
            "adaptation": {
                "target": target,
                "shifted_users": len({p.user for p in pages if p.since_shift is not None}),
                "interactions": crossing(adapt, target),
                "curve": {str(k): round(s, 3) for k, (s, _) in adapt.items()},
            },
            "exploration": _exploration(trace, views, len(users)),
            "diversity": _diversity(views),
            "personalized_pages": round(sum(1 for p in pages if p.personalized) / len(pages), 3)
            if pages
            else None,
            "degraded_reasons": degraded_reasons(pages),
        }
    thr = views_threshold(trace.users)
    out["new_creators"] = _new_videos(trace, thr, reach_users=3)
    out["definitions"] = DEFINITIONS
    return out
