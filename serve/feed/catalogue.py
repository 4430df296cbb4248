"""The feed's in-memory catalogue: every servable video's metadata, its HNSW vector and lookup lists.

Folded from the log (``observe``): ``VideoDetailsSubmitted`` gives caption, hashtags, sound and
privacy (held until publication), ``VideoPublished`` adds a public video to the ANN index and to the
per-creator / hashtag / sound lists and the fresh pool, ``VideoRemoved`` marks it deleted,
moderation decisions set the age rating, and reports (once per user, cleared by a reviewer's
approval) demote a video past ``demote_after``, the moderation view's rule. Each replica holds one;
``CatalogueTail`` keeps it fresh and snapshots it to disk so replicas start without a rebuild.

Per video only arrays indexed by a dense label and interned ids are kept, so a million videos fit
in well under a gigabyte. The vector of a video is the shards' content embedding
(``actors.embeddings.ContentEncoder``, same dim and seed) — the space the user vectors live in.
"""

from __future__ import annotations

import pickle
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import Protocol, overload

import msgspec
import numpy as np
import numpy.typing as npt

from actors.embeddings import ContentEncoder
from events.schema import (
    Event,
    ModerationDecided,
    Reported,
    ReviewDecided,
    VideoDetailsSubmitted,
    VideoPublished,
    VideoRemoved,
)
from ml.ann import AnnIndex
from projections.catalog import normalize_hashtags
from projections.moderation import DEMOTE_AFTER

__all__ = [
    "Catalogue", "CatalogueParams", "CatalogueRetriever", "Details", "VideoEncoder", "VideoIds", "is_catalogue_event",
]

VISIBLE, MATURE, DEMOTED = 1, 2, 4
NONE = -1


class VideoEncoder(Protocol):
    dim: int

    def encode(self, *, video_id: str, creator_id: str = "", caption: str = "",
               hashtags: Iterable[str] = (), sound_id: str | None = None) -> npt.NDArray[np.float32]: ...


class CatalogueParams(msgspec.Struct, frozen=True, kw_only=True):
    dim: int = 64
    seed: int = 0  # of the content encoder (the shards use 0)
    m: int = 16
    ef_construction: int = 100
    ef: int = 64
    per_key: int = 100  # newest videos kept per creator / hashtag / sound
    fresh_size: int = 5_000  # newest published videos (the exploration pool)
    demote_after: int = DEMOTE_AFTER


class Details(msgspec.Struct, frozen=True, kw_only=True):
    creator_id: str = ""
    caption: str = ""
    hashtags: tuple[str, ...] = ()
    sound_id: str | None = None
    privacy: str = "public"


_CATALOGUE_EVENTS = (VideoDetailsSubmitted, VideoPublished, VideoRemoved, ModerationDecided, ReviewDecided,
                     Reported)


def is_catalogue_event(event: Event) -> bool:
    return isinstance(event, _CATALOGUE_EVENTS)


class _Interner:
    __slots__ = ("ids", "names")

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.names: list[str] = []

    def __call__(self, name: str) -> int:
        i = self.ids.get(name)
        if i is None:
            i = self.ids[name] = len(self.names)
            self.names.append(name)
        return i


class VideoIds(Sequence[str]):
    """Catalogue labels read as their video ids, each resolved when it is read: a page's leftovers (kept for
    the fallback chain, a few read for prefetch) cost an array slice, not a string per candidate. Labels
    never change meaning (the catalogue only appends), so a view stays right as the catalogue grows."""

    __slots__ = ("_ids", "_labels")

    def __init__(self, labels: npt.NDArray[np.int64], ids: list[str]) -> None:
        self._labels = labels
        self._ids = ids

    def __len__(self) -> int:
        return len(self._labels)

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            ids = self._ids
            return [ids[label] for label in self._labels[i].tolist()]
        return self._ids[int(self._labels[i])]

    def __iter__(self) -> Iterator[str]:
        return iter(self[:])

    def __repr__(self) -> str:
        return f"VideoIds({self[:]!r})"


class Catalogue:
    """See the module docstring. Labels are dense ints; ``video_ids[label]`` is the video id."""

    def __init__(self, params: CatalogueParams | None = None, *, encoder: VideoEncoder | None = None,
                 capacity: int = 1024) -> None:
        self.params = params = params or CatalogueParams()
        self.encoder: VideoEncoder = encoder or ContentEncoder(params.dim, seed=params.seed)
        self.index = AnnIndex(params.dim, capacity=capacity, m=params.m,
                              ef_construction=params.ef_construction, ef=params.ef, seed=params.seed)
        self.video_ids: list[str] = []
        self.label_of: dict[str, int] = {}
        self.names = _Interner()  # creators, sounds and hashtags share one table
        cap = max(capacity, 16)
        self.creator = np.full(cap, NONE, dtype=np.int32)
        self.sound = np.full(cap, NONE, dtype=np.int32)
        self.published_us = np.zeros(cap, dtype=np.int64)
        self.flags = np.zeros(cap, dtype=np.uint8)
        self.hashtags: list[tuple[int, ...]] = []
        self.tag_ids = np.full((cap, 2), NONE, dtype=np.int32)  # hashtags per label, padded with NONE
        self.by_creator: dict[int, deque[int]] = {}
        self.by_hashtag: dict[int, deque[int]] = {}
        self.by_sound: dict[int, deque[int]] = {}
        self.fresh: deque[int] = deque(maxlen=params.fresh_size)
        self.pending: dict[str, Details] = {}  # details of videos not yet published
        self.mature_ids: set[str] = set()  # age rating known before publication
        self.reporters: dict[str, set[str]] = {}
        self.events = 0

    def __len__(self) -> int:
        return len(self.index)

    # ------------------------------------------------------------------------------- lookups

    def label(self, video_id: str) -> int | None:
        return self.label_of.get(video_id)

    def visible(self, label: int) -> bool:
        return bool(self.flags[label] & VISIBLE)

    def name(self, i: int) -> str | None:
        return None if i == NONE else self.names.names[i]

    def creator_of(self, label: int) -> str | None:
        return self.name(int(self.creator[label]))

    def sound_of(self, label: int) -> str | None:
        return self.name(int(self.sound[label]))

    def hashtags_of(self, label: int) -> tuple[str, ...]:
        names = self.names.names
        return tuple(names[h] for h in self.hashtags[label])

    def tag_matrix(self, labels: npt.NDArray[np.int64]) -> npt.NDArray[np.int32]:
        """The interned hashtags of ``labels`` as rows padded with ``NONE`` (vectorised feature building)."""
        return self.tag_ids[labels]

    def _set_tags(self, label: int, tags: tuple[int, ...]) -> None:
        if len(tags) > self.tag_ids.shape[1]:  # widen (rare: most videos carry a few hashtags)
            wider = np.full((len(self.tag_ids), len(tags)), NONE, dtype=np.int32)
            wider[:, : self.tag_ids.shape[1]] = self.tag_ids
            self.tag_ids = wider
        row = self.tag_ids[label]
        row[:] = NONE
        row[: len(tags)] = tags

    def recent(self, kind: str, name: str, k: int) -> list[int]:
        """Newest visible videos of a creator / hashtag / sound (``kind`` = creator|hashtag|sound)."""
        table = {"creator": self.by_creator, "hashtag": self.by_hashtag, "sound": self.by_sound}[kind]
        i = self.names.ids.get(name)
        lst = table.get(i) if i is not None else None
        if not lst:
            return []
        out: list[int] = []
        for label in reversed(lst):
            if self.flags[label] & VISIBLE:
                out.append(label)
                if len(out) >= k:
                    break
        return out

    # --------------------------------------------------------------------------------- folding

    def _grow(self, need: int) -> None:
        cap = len(self.creator)
        if need <= cap:
            return
        new = max(need, 2 * cap)
        for attr, fill in (("creator", NONE), ("sound", NONE), ("published_us", 0), ("flags", 0)):
            old = getattr(self, attr)
            arr = np.full(new, fill, dtype=old.dtype)
            arr[:cap] = old
            setattr(self, attr, arr)
        tags = np.full((new, self.tag_ids.shape[1]), NONE, dtype=np.int32)
        tags[:cap] = self.tag_ids
        self.tag_ids = tags

    def _new_label(self, video_id: str) -> int:
        label = self.label_of.get(video_id)
        if label is None:
            label = self.label_of[video_id] = len(self.video_ids)
            self.video_ids.append(video_id)
            self.hashtags.append(())
            self._grow(label + 1)
        return label

    def observe(self, event: Event) -> bool:
        """Fold one event; True when it changed what the feed may serve."""
        self.events += 1
        match event:
            case VideoDetailsSubmitted():
                if event.video_id not in self.label_of and event.video_id not in self.pending:
                    self.pending[event.video_id] = Details(
                        creator_id=event.creator_id, caption=event.caption,
                        hashtags=normalize_hashtags(event.hashtags), sound_id=event.sound_id,
                        privacy=event.privacy)
                return False
            case VideoPublished():
                d = self.pending.pop(event.video_id, None) or Details(creator_id=event.creator_id)
                if d.privacy != "public":
                    return False  # friends-only and private videos never enter the For You feed
                self.add_many([event.video_id], [d], [event.ts])
                return True
            case VideoRemoved():
                self.pending.pop(event.video_id, None)
                label = self.label_of.get(event.video_id)
                if label is None or not self.flags[label] & VISIBLE:
                    return False
                self.flags[label] &= ~np.uint8(VISIBLE)
                self.index.mark_deleted(label)
                return True
            case ModerationDecided() | ReviewDecided():
                return self._rating(event)
            case Reported():
                return self._report(event.video_id, event.user_id)
            case _:
                return False

    def _rating(self, event: ModerationDecided | ReviewDecided) -> bool:
        vid = event.video_id
        if isinstance(event, ReviewDecided) and event.decision == "approve" and vid in self.reporters:
            del self.reporters[vid]  # a reviewer cleared it: reports count afresh
            label = self.label_of.get(vid)
            if label is not None:
                self.flags[label] &= ~np.uint8(DEMOTED)
        rating = event.age_rating
        if rating is None:
            return False
        if rating == "mature":
            self.mature_ids.add(vid)
        else:
            self.mature_ids.discard(vid)
        label = self.label_of.get(vid)
        if label is not None:
            if rating == "mature":
                self.flags[label] |= MATURE
            else:
                self.flags[label] &= ~np.uint8(MATURE)
        return True

    def _report(self, video_id: str, user_id: str) -> bool:
        who = self.reporters.setdefault(video_id, set())
        if user_id in who:
            return False
        who.add(user_id)
        label = self.label_of.get(video_id)
        if len(who) > self.params.demote_after and label is not None and not self.flags[label] & DEMOTED:
            self.flags[label] |= DEMOTED
            return True
        return False

    def add_many(self, video_ids: Sequence[str], details: Sequence[Details], published_us: Sequence[int],
                 vectors: npt.NDArray[np.float32] | None = None) -> list[int]:
        """Publish videos (the bulk path of a rebuild or a benchmark; ``observe`` uses it one by one).
        ``vectors``: their embeddings when already computed, else the content encoder's."""
        labels: list[int] = []
        intern = self.names
        for i, (vid, d) in enumerate(zip(video_ids, details, strict=True)):
            label = self._new_label(vid)
            labels.append(label)
            c = intern(d.creator_id) if d.creator_id else NONE
            s = intern(d.sound_id) if d.sound_id else NONE
            tags = tuple(intern(h) for h in d.hashtags)
            self.creator[label], self.sound[label] = c, s
            self.hashtags[label] = tags
            self._set_tags(label, tags)
            if not self.published_us[label]:
                self.published_us[label] = published_us[i]
            flags = VISIBLE | (self.flags[label] & DEMOTED)
            if vid in self.mature_ids:
                flags |= MATURE
            self.flags[label] = flags
            per = self.params.per_key
            if c != NONE:
                self.by_creator.setdefault(c, deque(maxlen=per)).append(label)
            if s != NONE:
                self.by_sound.setdefault(s, deque(maxlen=per)).append(label)
            for h in tags:
                self.by_hashtag.setdefault(h, deque(maxlen=per)).append(label)
            self.fresh.append(label)
        if vectors is None:
            enc = self.encoder
            vectors = np.stack([enc.encode(video_id=vid, creator_id=d.creator_id, caption=d.caption,
                                           hashtags=d.hashtags, sound_id=d.sound_id)
                                for vid, d in zip(video_ids, details, strict=True)]) if labels else \
                np.zeros((0, self.params.dim), np.float32)
        self.index.add(np.asarray(labels, dtype=np.int64), vectors)
        return labels

    # ------------------------------------------------------------------------------ persistence

    def save(self, directory: Path, extra: dict[str, object] | None = None) -> None:
        """Snapshot to ``directory`` (the graph, vectors and metadata; ``extra``: e.g. log positions)."""
        directory.mkdir(parents=True, exist_ok=True)
        self.index.save(directory / "ann")
        n = len(self.video_ids)
        meta = {
            "params": msgspec.to_builtins(self.params), "video_ids": self.video_ids,
            "names": self.names.names,
            "hashtags": self.hashtags, "pending": self.pending, "mature_ids": self.mature_ids,
            "reporters": self.reporters, "events": self.events, "extra": extra or {},
            "fresh": list(self.fresh),
        }
        np.savez(directory / "arrays.npz", creator=self.creator[:n], sound=self.sound[:n],
                 published_us=self.published_us[:n], flags=self.flags[:n])
        tmp = directory / "meta.pkl.tmp"
        with tmp.open("wb") as f:
            pickle.dump(meta, f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(directory / "meta.pkl")

    @classmethod
    def load(cls, directory: Path, *,
             encoder: VideoEncoder | None = None) -> tuple[Catalogue, dict[str, object]]:
        """A catalogue from a ``save`` snapshot, and the snapshot's ``extra``."""
        with (directory / "meta.pkl").open("rb") as f:
            meta = pickle.load(f)  # our own snapshot file, written by ``save``
        params = msgspec.convert(meta["params"], CatalogueParams)
        self = cls(params, encoder=encoder, capacity=16)
        self.index = AnnIndex.load(directory / "ann", dim=params.dim, m=params.m,
                                   ef_construction=params.ef_construction, ef=params.ef, seed=params.seed)
        arrays = np.load(directory / "arrays.npz")
        n = len(meta["video_ids"])
        self._grow(n)
        self.creator[:n], self.sound[:n] = arrays["creator"], arrays["sound"]
        self.published_us[:n], self.flags[:n] = arrays["published_us"], arrays["flags"]
        self.video_ids = meta["video_ids"]
        self.label_of = {v: i for i, v in enumerate(self.video_ids)}
        for name in meta["names"]:
            self.names(name)
        self.hashtags = meta["hashtags"]
        lens = np.fromiter(map(len, self.hashtags), dtype=np.int64, count=n)
        width = int(lens.max()) if n else 0
        if width > self.tag_ids.shape[1]:
            self.tag_ids = np.full((len(self.creator), width), NONE, dtype=np.int32)
        flat = np.fromiter(chain.from_iterable(self.hashtags), dtype=np.int32, count=int(lens.sum()))
        rows = np.repeat(np.arange(n), lens)
        self.tag_ids[rows, np.arange(len(flat)) - np.repeat(np.cumsum(lens) - lens, lens)] = flat
        self.pending, self.mature_ids = meta["pending"], meta["mature_ids"]
        self.reporters, self.events = meta["reporters"], meta["events"]
        per = params.per_key
        for label in range(n):
            c, s = int(self.creator[label]), int(self.sound[label])
            if c != NONE:
                self.by_creator.setdefault(c, deque(maxlen=per)).append(label)
            if s != NONE:
                self.by_sound.setdefault(s, deque(maxlen=per)).append(label)
            for h in self.hashtags[label]:
                self.by_hashtag.setdefault(h, deque(maxlen=per)).append(label)
        self.fresh.extend(meta["fresh"])
        return self, dict(meta["extra"])


class CatalogueRetriever:
    """The ``Retriever`` port over a catalogue's own HNSW index (in-process: no hop, no copy)."""

    def __init__(self, catalogue: Catalogue, *, ef: int | None = None) -> None:
        self.catalogue = catalogue
        self.ef = ef

    async def search(self, vector: npt.NDArray[np.float32], k: int) -> tuple[list[int], list[float]]:
        labels, sims = self.catalogue.index.query(vector, k, ef=self.ef)
        return labels.tolist(), sims.tolist()
