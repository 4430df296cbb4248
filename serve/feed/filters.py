"""Which candidates a viewer may be shown: published, not removed, age-appropriate, unseen, not unwanted.

Pure set and array lookups over the catalogue (O(1) per candidate), so every source's output passes
through ``Viewer.admits`` before it costs anything downstream. Demoted videos pass (ranking multiplies
their score by ``demote_factor``); the seen test is the shard's exact ring plus Bloom filter, and the
ids this replica served recently (impressions the shard may not have applied yet).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from actors.view import UserView, might_have_seen
from events.ids import now_us as _now_us
from projections.common import is_adult

from .catalogue import MATURE, VISIBLE, Catalogue

__all__ = ["ADULT_BANDS", "Viewer", "viewer_of"]

ADULT_BANDS = frozenset({"18-24", "25-34", "35-44", "45-54", "55+"})


@dataclass(slots=True)
class Viewer:
    user_id: str
    adult: bool
    neg_creators: frozenset[int]
    neg_sounds: frozenset[int]
    seen_recent: frozenset[str]
    view: UserView | None = None  # None: no shard state (fallback pages)

    def admits(self, cat: Catalogue, label: int) -> bool:
        flags = int(cat.flags[label])
        if not flags & VISIBLE or (flags & MATURE and not self.adult):
            return False
        if self.neg_creators and int(cat.creator[label]) in self.neg_creators:
            return False
        if self.neg_sounds and int(cat.sound[label]) in self.neg_sounds:
            return False
        vid = cat.video_ids[label]
        if vid in self.seen_recent:
            return False
        return self.view is None or not might_have_seen(self.view, vid)


def viewer_of(cat: Catalogue, user_id: str, view: UserView | None, *, birth_year: int | None,
              served: Collection[str], now_us: int | None = None) -> Viewer:
    """The filter of one request; age from ``birth_year`` when the ingress knows it, else the shard's."""
    if birth_year is not None:
        adult = is_adult(birth_year, _now_us() if now_us is None else now_us)
    else:
        adult = view is not None and view.age_band in ADULT_BANDS
    ids = cat.names.ids
    neg_c = frozenset(ids[c] for c in (view.neg_creators if view else ()) if c in ids)
    neg_s = frozenset(ids[s] for s in (view.neg_sounds if view else ()) if s in ids)
    return Viewer(user_id=user_id, adult=adult, neg_creators=neg_c, neg_sounds=neg_s,
                  seen_recent=frozenset(served), view=view)
