"""Which candidates a viewer may be shown: published, not removed, age-appropriate, unseen, not unwanted.

Pure set and array lookups over the catalogue (O(1) per candidate), so every source's output passes
through the filter before it costs anything downstream: ``Viewer.admit_mask`` tests a batch of labels
with array operations (flags, age gate, unwanted creators and sounds), then the seen test on the
survivors; ``Viewer.admits`` is the same test for one label. Demoted videos pass (ranking multiplies
their score by ``demote_factor``); the seen test is the shard's exact ring plus Bloom filter, and the
ids this replica served recently (impressions the shard may not have applied yet).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from actors.seen import bloom_contains
from actors.view import UserView
from events.ids import now_us as _now_us
from projections.common import is_adult

from .bloom import probe_for
from .catalogue import MATURE, VISIBLE, Catalogue

__all__ = ["ADULT_BANDS", "SeenLabels", "Viewer", "viewer_of"]

ADULT_BANDS = frozenset({"18-24", "25-34", "35-44", "45-54", "55+"})


@dataclass(slots=True)
class Viewer:
    user_id: str
    adult: bool
    neg_creators: frozenset[int]
    neg_sounds: frozenset[int]
    seen_recent: frozenset[str]
    view: UserView | None = None  # None: no shard state (fallback pages)
    # the catalogue labels of (at least) ``seen_exact``, sorted (``SeenLabels``): the batch test reads these
    seen_labels: npt.NDArray[np.int64] | None = None
    # derived: the unwanted ids as arrays, and (when first asked) ``seen_exact``
    _neg_c: npt.NDArray[np.int32] = field(init=False)
    _neg_s: npt.NDArray[np.int32] = field(init=False)
    _seen_exact: frozenset[str] | None = field(init=False, default=None)

    @property
    def seen_exact(self) -> frozenset[str]:
        """Every id known seen exactly: the shard's ring and the ids served here (built when first read:
        a page filtered by ``seen_labels`` never needs it)."""
        if self._seen_exact is None:
            ring = self.view.seen if self.view is not None else ()
            self._seen_exact = self.seen_recent.union(ring) if ring else self.seen_recent
        return self._seen_exact

    def __post_init__(self) -> None:
        self._neg_c = np.fromiter(self.neg_creators, dtype=np.int32, count=len(self.neg_creators))
        self._neg_s = np.fromiter(self.neg_sounds, dtype=np.int32, count=len(self.neg_sounds))

    def _seen(self, video_id: str) -> bool:
        if video_id in self.seen_exact:
            return True
        v = self.view
        return v is not None and bool(v.bloom) and bloom_contains(v.bloom, video_id, v.bloom_hashes)

    def admits(self, cat: Catalogue, label: int) -> bool:
        flags = int(cat.flags[label])
        if not flags & VISIBLE or (flags & MATURE and not self.adult):
            return False
        if self.neg_creators and int(cat.creator[label]) in self.neg_creators:
            return False
        if self.neg_sounds and int(cat.sound[label]) in self.neg_sounds:
            return False
        return not self._seen(cat.video_ids[label])

    def admit_mask(self, cat: Catalogue, labels: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """``admits`` for every label at once."""
        flags = cat.flags[labels]
        ok: npt.NDArray[np.bool_] = (flags & VISIBLE) != 0
        if not self.adult:
            ok &= (flags & MATURE) == 0
        if len(self._neg_c):
            ok &= ~np.isin(cat.creator[labels], self._neg_c)
        if len(self._neg_s):
            ok &= ~np.isin(cat.sound[labels], self._neg_s)
        idx = np.flatnonzero(ok)
        ids, known = cat.video_ids, self.seen_labels
        if known is not None:  # as labels: a binary search each
            if len(known) and len(idx):
                survivors = labels[idx]
                ok[idx[known[np.minimum(np.searchsorted(known, survivors), len(known) - 1)] == survivors]] = False
        else:  # by id: a lookup each (on a large catalogue, a cache miss each)
            seen = self.seen_exact
            gone = [i for i, label in zip(idx.tolist(), labels[idx].tolist(), strict=True) if ids[label] in seen]
            if gone:
                ok[gone] = False
        v = self.view
        if v is not None and v.bloom:  # older seen ids: the catalogue's bit positions, tested as arrays
            ok[idx[probe_for(cat).contains(v.bloom, v.bloom_hashes, ids, labels[idx])]] = False
        return ok


class SeenLabels:
    """The catalogue labels of each recent user's exactly seen ids (``Viewer.seen_exact``: the shard's ring
    and the ids served here), kept across requests. A request adds the ids seen since its user's last one
    (those not in the user's entry yet), so the feed's filter tests a candidate by its label instead of
    looking up every candidate's id, and a page costs in proportion to what is new since the last one, not
    to what the entry holds. An id not in the catalogue yet is looked up again next time (it may be
    published meanwhile); ids that left the ring stay (they are in the user's Bloom filter) until a user's
    entry holds ``max_ids``, when it is rebuilt from the current ids. An LRU of ``max_users`` users."""

    def __init__(self, *, max_users: int = 5_000, max_ids: int = 4_096) -> None:
        self.max_users = max_users
        self.max_ids = max_ids
        # per user: the ids resolved so far (grown in place) and their labels, sorted (a new array per change:
        # a page holding the previous one keeps it intact)
        self._users: OrderedDict[str, tuple[set[str], npt.NDArray[np.int64]]] = OrderedDict()

    def of(self, cat: Catalogue, user_id: str, *seen: Iterable[str]) -> npt.NDArray[np.int64]:
        """The sorted labels of every id in ``seen`` (one or more collections of ids) the catalogue has."""
        entry = self._users.get(user_id)
        if entry is None or len(entry[0]) > self.max_ids:
            ids: set[str] = set()
            labels = np.zeros(0, dtype=np.int64)
        else:
            ids, labels = entry
        fresh = [vid for part in seen for vid in part if vid not in ids]
        if fresh:
            label_of = cat.label_of
            found = {vid: label for vid in fresh if (label := label_of.get(vid)) is not None}
            if found:
                ids.update(found)
                new = np.fromiter(found.values(), dtype=np.int64, count=len(found))
                new.sort()
                labels = np.insert(labels, np.searchsorted(labels, new), new)
        self._users[user_id] = (ids, labels)
        self._users.move_to_end(user_id)
        while len(self._users) > self.max_users:
            self._users.popitem(last=False)
        return labels

    def __len__(self) -> int:
        return len(self._users)


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
