"""Every projection of the platform, by name (the runner, the CLI and `reel up` start them from here)."""

from __future__ import annotations

import importlib

from .base import Projection

__all__ = ["PROJECTION_MODULES", "all_projections", "get_projection"]

#: name -> module; each module exposes ``PROJECTION`` (an instance satisfying ``Projection``).
PROJECTION_MODULES: dict[str, str] = {
    "catalog": "projections.catalog",
    "counters": "projections.counters",
    "trending": "projections.trending",
    "social": "projections.social",
    "search": "projections.search",
    "analytics": "projections.analytics",
    "notifications": "projections.notifications",
    "features": "projections.features",
    "moderation": "projections.moderation",
}


def get_projection(name: str) -> Projection:
    try:
        module = PROJECTION_MODULES[name]
    except KeyError:
        known = ", ".join(sorted(PROJECTION_MODULES))
        raise KeyError(f"unknown projection {name!r}; known: {known}") from None
    projection: Projection = importlib.import_module(module).PROJECTION
    return projection


def all_projections() -> list[Projection]:
    return [get_projection(name) for name in PROJECTION_MODULES]
