"""The catalogue's videos' Bloom-filter bit positions, each computed once: a seen test over many candidates
becomes array lookups.

A user's seen set spills older ids into a Bloom filter (``actors.seen``) whose bit positions for a video
depend only on its id and the filter's shape (bits, hashes), never on the user. Hashing a candidate's id
costs a blake2b digest in Python; the feed tests a hundred or more candidates per page against the
viewer's filter, the same popular videos for many viewers. ``BloomProbe`` keeps each label's positions
per shape (computed the first time a label is tested) and answers a batch with a few array operations.
"""

from __future__ import annotations

from collections.abc import Sequence
from weakref import WeakKeyDictionary

import numpy as np
import numpy.typing as npt

from actors.seen import bloom_positions

__all__ = ["BloomProbe", "probe_for"]


class BloomProbe:
    """Bit positions by label, for each filter shape seen (``positions``), and the batch test (``contains``)."""

    def __init__(self) -> None:
        self._by_shape: dict[tuple[int, int], npt.NDArray[np.int64]] = {}

    def positions(self, video_ids: Sequence[str], labels: npt.NDArray[np.int64], bits: int,
                  hashes: int) -> npt.NDArray[np.int64]:
        """One row of ``hashes`` bit positions per label (``video_ids[label]`` is its id)."""
        table = self._by_shape.get((bits, hashes))
        if table is None or len(table) < len(video_ids):
            grown = np.full((max(len(video_ids), 2 * (0 if table is None else len(table)), 16), hashes), -1,
                            dtype=np.int64)
            if table is not None:
                grown[: len(table)] = table
            table = self._by_shape[(bits, hashes)] = grown
        rows = table[labels]
        for j in np.flatnonzero(rows[:, 0] < 0).tolist():  # first test of these labels with this shape
            label = int(labels[j])
            rows[j] = table[label] = bloom_positions(video_ids[label], bits, hashes)
        return rows

    def contains(self, bloom: bytes, hashes: int, video_ids: Sequence[str],
                 labels: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """``actors.seen.bloom_contains(bloom, video_ids[label], hashes)`` for every label at once."""
        if not bloom or not len(labels):
            return np.zeros(len(labels), dtype=np.bool_)
        pos = self.positions(video_ids, labels, len(bloom) * 8, hashes)
        filt = np.frombuffer(bloom, dtype=np.uint8)
        hit: npt.NDArray[np.bool_] = ((filt[pos >> 3] >> (pos & 7)) & 1).all(axis=1)
        return hit


_PROBES: WeakKeyDictionary[object, BloomProbe] = WeakKeyDictionary()


def probe_for(catalogue: object) -> BloomProbe:
    """The probe of a catalogue (kept as long as the catalogue is)."""
    probe = _PROBES.get(catalogue)
    if probe is None:
        probe = _PROBES[catalogue] = BloomProbe()
    return probe
