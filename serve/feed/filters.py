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
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain

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
    seen_recent: Collection[str]  # ids served here lately (the shard may not have folded their impressions)
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
            self._seen_exact = frozenset(chain(self.seen_recent, ring))
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


@dataclass(slots=True)
class _Seen:
    ids: set[str]  # resolved so far (grown in place)
    labels: npt.NDArray[np.int64]  # their labels, sorted (a new array per change: a page holding one keeps it)
    ring_last: str | None = None  # the ring's newest id as of the last request
    unresolved: set[str] = field(default_factory=set)  # seen ids the catalogue did not have yet


class SeenLabels:
    """The catalogue labels of each recent user's exactly seen ids (``Viewer.seen_exact``: the shard's ring
    and the ids served here), kept across requests, so the feed's filter tests a candidate by its label
    instead of looking up every candidate's id.

    A page costs in proportion to what is new since the user's last one, not to what the entry holds:
    the ids a page serves are added as it is served (``served``), and of the shard's ring only the ids
    after the newest one the last request saw are looked at. The ring is the shard's FIFO of distinct
    ids, oldest first, so whatever it learnt since comes after that id; while the user has held events
    (``UserView.held``: their ids are appended to the ring in sorted order) or that id has left the ring,
    the whole ring is read again. An id not in the catalogue yet is looked up again on every request
    (it may be published meanwhile); ids that left the ring stay (they are in the user's Bloom filter)
    until an entry holds ``max_ids``, when it is rebuilt from the ring and the served ids. An LRU of
    ``max_users`` users."""

    def __init__(self, *, max_users: int = 5_000, max_ids: int = 4_096, max_unresolved: int = 1_024) -> None:
        self.max_users = max_users
        self.max_ids = max_ids
        self.max_unresolved = max_unresolved
        self._users: OrderedDict[str, _Seen] = OrderedDict()

    def of(self, cat: Catalogue, user_id: str, ring: Sequence[str], served: Iterable[str] = (), *,
           whole: bool = False) -> npt.NDArray[np.int64]:
        """The sorted labels of the ids in the user's ``ring`` and ``served`` (their ids served here lately,
        read only when the entry is (re)built: later pages report theirs with ``served``) that the catalogue
        has. ``whole``: read the whole ring (the user has held events)."""
        entry = self._users.get(user_id)
        if entry is None or len(entry.ids) > self.max_ids:
            entry = _Seen(set(), np.zeros(0, dtype=np.int64))
            self._add(cat, entry, chain(served, ring))
        else:
            self._add(cat, entry, chain(list(entry.unresolved), ring if whole else _since(ring, entry.ring_last)))
        entry.ring_last = ring[-1] if ring else None
        self._users[user_id] = entry
        self._users.move_to_end(user_id)
        while len(self._users) > self.max_users:
            self._users.popitem(last=False)
        return entry.labels

    def served(self, user_id: str, ids: Sequence[str], labels: npt.NDArray[np.int64]) -> None:
        """Ids just served to the user, with their ``labels`` (the shard's ring has them only once it folded
        their impressions)."""
        entry = self._users.get(user_id)
        if entry is not None:  # else the next request builds the entry, served ids included
            known = entry.ids
            self._merge(entry, {vid: label for vid, label in zip(ids, labels.tolist(), strict=True)
                                if vid not in known})

    def _add(self, cat: Catalogue, entry: _Seen, ids: Iterable[str]) -> None:
        known, label_of = entry.ids, cat.label_of
        found: dict[str, int] = {}
        for vid in ids:
            if vid in known or vid in found:
                continue
            label = label_of.get(vid)
            if label is None:
                if len(entry.unresolved) < self.max_unresolved:
                    entry.unresolved.add(vid)
            else:
                found[vid] = label
        if found:
            entry.unresolved.difference_update(found)
            self._merge(entry, found)

    @staticmethod
    def _merge(entry: _Seen, found: dict[str, int]) -> None:
        """Add ids new to ``entry`` with their labels."""
        if not found:
            return
        entry.ids.update(found)
        new = np.fromiter(found.values(), dtype=np.int64, count=len(found))
        new.sort()
        entry.labels = np.insert(entry.labels, np.searchsorted(entry.labels, new), new)

    def __len__(self) -> int:
        return len(self._users)


def _since(ring: Sequence[str], last: str | None) -> Sequence[str]:
    """The ids of ``ring`` after ``last`` (all of it when ``last`` is None or has left the ring)."""
    if last is not None:
        for i in range(len(ring) - 1, -1, -1):
            if ring[i] == last:
                return ring[i + 1:]
    return ring


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
                  seen_recent=tuple(served), view=view)  # a copy: the page's own ids join ``served`` later
