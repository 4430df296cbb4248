"""Routing policy: category scores -> approve / review / reject and the age rating; pure.

The worst band over the categories wins (per-category thresholds; with the defaults this is "the
maximum score routes"): any score above its ``reject_above`` rejects, else any at or above its
``review_at`` holds for review, else the video is approved. The category named is the highest-scoring
one in the winning band (the creator is told it on rejection). Unscored categories (``None``) are not
counted in the maximum: they hold the video for review unless ``allow_unscored`` lists them, and they
are always named in the reason. A nudity score from ``mature_from`` up rates the video mature.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from .config import ModerationConfig

__all__ = ["Routing", "route"]

Decision = Literal["approve", "review", "reject"]
_RANK = {"approve": 0, "review": 1, "reject": 2}


class Routing(msgspec.Struct, frozen=True, kw_only=True):
    decision: Decision
    category: str | None
    max_score: float | None
    age_rating: Literal["general", "mature"]
    reason: str
    unscored: tuple[str, ...] = ()


def _band(score: float, review_at: float, reject_above: float) -> Decision:
    if score > reject_above:
        return "reject"
    if score >= review_at:
        return "review"
    return "approve"


def route(
    scores: dict[str, float | None], config: ModerationConfig, notes: dict[str, str] | None = None
) -> Routing:
    notes = notes or {}
    decision: Decision = "approve"
    category: str | None = None
    best = -1.0
    for cat, score in scores.items():
        if score is None:
            continue
        p = config.policy(cat)
        band = _band(score, p.review_at, p.reject_above)
        if _RANK[band] > _RANK[decision] or (band == decision and band != "approve" and score > best):
            decision, category, best = band, cat, score
    known = [s for s in scores.values() if s is not None]
    max_score = max(known) if known else None
    unscored = tuple(c for c, s in scores.items() if s is None)
    blocking = tuple(c for c in unscored if c not in config.allow_unscored)
    if blocking and decision == "approve":
        decision, category = "review", blocking[0]
    nudity = scores.get("nudity")
    mature = nudity is not None and nudity >= config.mature_from
    parts: list[str] = []
    if decision == "reject":
        parts.append(f"rejected for {category} (score {best:.2f})")
    elif decision == "review" and category in blocking:
        parts.append(f"held for review: {category} could not be scored")
    elif decision == "review":
        parts.append(f"held for review: {category} (score {best:.2f})")
    else:
        parts.append("approved" + (f" (highest score {max_score:.2f})" if max_score is not None else ""))
    if category and notes.get(category):
        parts.append(notes[category])
    if unscored:
        parts.append(
            "unscored: "
            + ", ".join(
                c
                + (" (allowed by configuration)" if c in config.allow_unscored else "")
                + (f" [{notes[c]}]" if notes.get(c) else "")
                for c in unscored
            )
        )
    if mature:
        parts.append("rated mature (nudity score band)")
    return Routing(
        decision=decision,
        category=category if decision != "approve" else None,
        max_score=max_score,
        age_rating="mature" if mature else "general",
        reason="; ".join(parts),
        unscored=unscored,
    )
