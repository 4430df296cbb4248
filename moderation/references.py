"""Reference data the scorers match against, folded from the log: protected sounds, seen videos, accounts.

``References.apply(event)`` is a pure in-memory fold (no IO, no clock): ``ProtectedSoundRegistered``
fills the copyright registry; ``VideoTranscoded`` records each video's pHash fingerprint (for
near-duplicate re-uploads); ``VideoUploaded`` records upload times per creator (bursts);
``UserRegistered`` records account creation and language. ``LogFollower`` keeps one up to date by
reading the log's partitions from where it stopped (each Serve replica and each port holds one).
"""

from __future__ import annotations

import asyncio
import bisect
from collections import Counter
from collections.abc import Iterable, Sequence

import msgspec
import numpy as np
import numpy.typing as npt

from events.log import EventLog
from events.schema import (
    Event,
    ProtectedSoundRegistered,
    UserRegistered,
    VideoRemoved,
    VideoTranscoded,
    VideoUploaded,
)

from .inputs import AccountContext

__all__ = ["LogFollower", "ProtectedSound", "References", "SeenVideo"]

_US = 1_000_000


class ProtectedSound(msgspec.Struct, frozen=True, kw_only=True):
    sound_id: str
    title: str
    owner: str
    fingerprint: str


class SeenVideo(msgspec.Struct, frozen=True, kw_only=True):
    video_id: str
    creator_id: str
    fingerprint: tuple[str, ...]
    removed: bool = False


#: 64-bit pHashes are indexed by their four 16-bit bands: two hashes within 3 bits share a band.
_BANDS = 4


def _bands(h: str) -> list[tuple[int, str]]:
    return [(i, h[i * 4 : i * 4 + 4]) for i in range(_BANDS)]


#: Protected sounds are indexed by the top 20 bits of every 32-bit sub-fingerprint (AcoustID-style).
_SOUND_KEY_SHIFT = 12


class References:
    def __init__(self, exhaustive_below: int = 5000, exhaustive_sounds_below: int = 200) -> None:
        self.exhaustive_below = exhaustive_below
        self.exhaustive_sounds_below = exhaustive_sounds_below
        self.sound_index: dict[int, list[tuple[str, int]]] = {}  # top bits -> [(sound, item position)]
        self.sounds: dict[str, ProtectedSound] = {}
        self.videos: dict[str, SeenVideo] = {}
        self.bands: dict[tuple[int, str], set[str]] = {}  # (band, 4 hex digits) -> videos
        self.uploads: dict[str, list[int]] = {}  # creator -> sorted upload times (µs)
        self.upload_at: dict[str, int] = {}  # video -> upload time
        self.accounts: dict[str, tuple[int, str]] = {}  # user -> (registered at µs, language)
        self.events = 0

    def apply(self, event: Event) -> None:
        self.events += 1
        match event:
            case ProtectedSoundRegistered():
                if event.sound_id not in self.sounds:
                    self._index_sound(event.sound_id, event.fingerprint)
                self.sounds[event.sound_id] = ProtectedSound(
                    sound_id=event.sound_id,
                    title=event.title,
                    owner=event.owner,
                    fingerprint=event.fingerprint,
                )
            case VideoTranscoded():
                if event.video_fingerprint:
                    for h in event.video_fingerprint:
                        for band in _bands(h):
                            self.bands.setdefault(band, set()).add(event.video_id)
                    self.videos[event.video_id] = SeenVideo(
                        video_id=event.video_id,
                        creator_id=event.creator_id,
                        fingerprint=event.video_fingerprint,
                    )
            case VideoRemoved():
                seen = self.videos.get(event.video_id)
                if seen is not None and event.by == "creator":  # a creator deleting is not a banned original
                    self.videos[event.video_id] = msgspec.structs.replace(seen, removed=True)
            case VideoUploaded():
                if event.video_id not in self.upload_at:
                    self.upload_at[event.video_id] = event.ts
                    bisect.insort(self.uploads.setdefault(event.creator_id, []), event.ts)
            case UserRegistered():
                if event.user_id not in self.accounts:
                    self.accounts[event.user_id] = (event.ts, event.language)
            case _:
                pass

    def apply_all(self, events: Iterable[Event]) -> References:
        for e in events:
            self.apply(e)
        return self

    def _index_sound(self, sound_id: str, fingerprint: str) -> None:
        from media.fingerprint import decode_fingerprint

        try:
            items = decode_fingerprint(fingerprint)
        except Exception:  # undecodable: it can never match, so it is not indexed
            return
        for pos, key in enumerate((items >> _SOUND_KEY_SHIFT).tolist()):
            self.sound_index.setdefault(key, []).append((sound_id, pos))

    def sound_candidates(self, items: npt.NDArray[np.uint32], min_votes: int = 4) -> list[str]:
        """Protected sounds worth an exact alignment with an upload's sub-fingerprints: all of them while
        fewer than ``exhaustive_sounds_below`` are registered, else those where at least ``min_votes``
        upload items share their top 20 bits with the sound's items *at one consistent offset*
        (a re-encoded copy keeps about a third of its items' top bits exact; chance hits scatter)."""
        if len(self.sounds) < self.exhaustive_sounds_below:
            return list(self.sounds)
        votes: Counter[tuple[str, int]] = Counter()
        for j, key in enumerate((items >> _SOUND_KEY_SHIFT).tolist()):
            for sid, pos in self.sound_index.get(key, ()):
                votes[(sid, pos - j)] += 1
        return sorted({sid for (sid, _), n in votes.items() if n >= min_votes})

    def similar_videos(self, fingerprint: Sequence[str]) -> list[SeenVideo]:
        """Seen videos worth an exact ``video_distance``: all of them while fewer than
        ``exhaustive_below`` are known, else those sharing a 16-bit band of any per-second pHash."""
        if len(self.videos) < self.exhaustive_below:
            return list(self.videos.values())
        ids: set[str] = set()
        for h in fingerprint:
            for band in _bands(h):
                ids |= self.bands.get(band, set())
        return [self.videos[v] for v in ids]

    def account(self, creator_id: str, at_us: int) -> AccountContext:
        """The uploader as of ``at_us``: account age, uploads in the hour up to it, language."""
        times = self.uploads.get(creator_id, [])
        recent = bisect.bisect_right(times, at_us) - bisect.bisect_left(times, at_us - 3600 * _US)
        registered = self.accounts.get(creator_id)
        return AccountContext(
            account_age_s=None if registered is None else max(0.0, (at_us - registered[0]) / _US),
            uploads_last_hour=recent,
            language=None if registered is None else registered[1],
        )


class LogFollower:
    """Folds every new event of ``log`` into ``refs``; ``catch_up`` reads to the current end."""

    def __init__(self, log: EventLog, refs: References | None = None) -> None:
        self.log = log
        self.refs = refs or References()
        self.offsets: dict[int, int] = {}
        self._lock: asyncio.Lock | None = None  # made on first use, on the loop that catches up

    async def catch_up(self, batch: int = 2000) -> int:
        """Fold what was appended since the last call; returns how many records. Callers at the same
        time take turns (two reading from the same offsets would fold every record twice)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            return await self._catch_up(batch)

    async def _catch_up(self, batch: int) -> int:
        n = 0
        for info in await self.log.partition_info():
            offset = max(self.offsets.get(info.partition, info.start), info.start)
            while offset < info.end:
                records = await self.log.read(info.partition, offset, batch)
                if not records:
                    break
                for r in records:
                    self.refs.apply(r.event)
                offset = records[-1].offset + 1
                n += len(records)
            self.offsets[info.partition] = offset
        return n
