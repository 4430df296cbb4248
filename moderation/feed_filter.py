"""The feed's safety filter: published, not removed, not demoted past a floor, age-gated for this viewer.

``FeedFilter.refresh(catalog_view, moderation_view)`` rebuilds three id sets from the views (published
videos, mature ones, demoted ones); ``allowed`` and ``filter`` then cost a few set lookups per
candidate (O(1)), so retrieval and ranking can call them on every candidate list. A video removed by
reports, rejected or removed is simply not in ``published`` (the catalog's status changed). Demoted
videos (more than 10 reports) get ranking factor ``demote_factor``; candidates whose factor is below
``drop_below`` are dropped (default 0: demoted videos stay, ranked lower). Mature videos reach only
viewers known to be 18 or older (``projections.common.is_adult``; unknown age is not adult).
"""

from __future__ import annotations

from collections.abc import Iterable

from projections import catalog
from projections import moderation as mod
from projections.base import QueryReader
from projections.common import is_adult

__all__ = ["FeedFilter"]

_PAGE = 5000


class FeedFilter:
    def __init__(self, *, demote_factor: float = 0.5, drop_below: float = 0.0) -> None:
        self.demote_factor = demote_factor
        self.drop_below = drop_below
        self.published: frozenset[str] = frozenset()
        self.mature: frozenset[str] = frozenset()
        self.demoted: frozenset[str] = frozenset()

    def refresh(self, catalog_view: QueryReader, moderation_view: QueryReader) -> FeedFilter:
        published: set[str] = set()
        mature: set[str] = set()
        demoted: set[str] = set()
        after: catalog.Listed | None = None
        while True:
            page = catalog.videos_by_status(catalog_view, "published", _PAGE, after=after)
            for listed in page:
                vid = listed.video_id
                flags = mod.video_flags(moderation_view, vid)
                if flags.removed_by_reports:
                    continue
                video = catalog.get_video(catalog_view, vid)
                published.add(vid)
                if flags.mature or (video is not None and video.age_rating == "mature"):
                    mature.add(vid)
                if flags.demoted:
                    demoted.add(vid)
            if len(page) < _PAGE:
                break
            after = page[-1]
        self.published, self.mature, self.demoted = (
            frozenset(published),
            frozenset(mature),
            frozenset(demoted),
        )
        return self

    def factor(self, video_id: str) -> float:
        """Ranking multiplier: ``demote_factor`` for demoted videos, else 1."""
        return self.demote_factor if video_id in self.demoted else 1.0

    def allowed(self, video_id: str, adult: bool) -> bool:
        if video_id not in self.published:
            return False
        if video_id in self.mature and not adult:
            return False
        return not (video_id in self.demoted and self.demote_factor < self.drop_below)

    def filter(self, candidates: Iterable[str], viewer_birth_year: int | None, now_us: int) -> list[str]:
        adult = is_adult(viewer_birth_year, now_us)
        return [v for v in candidates if self.allowed(v, adult)]
