"""A bounded "already seen" set: a ring of the last N video ids, older ids spilled into a Bloom filter.

The feed must never repeat a video, yet a heavy user sees thousands: the ring answers exactly for
recent ones, the Bloom filter (allocated when the ring first overflows) answers for older ones with
a small false-positive rate and no false negatives. Hashing is blake2b, never Python's ``hash``, so
the filter is the same in every process and after a restart (it is part of the shard checkpoint).
"""

from __future__ import annotations

import hashlib

__all__ = ["SeenSet", "bloom_contains", "bloom_positions"]


def bloom_positions(item: str, bits: int, hashes: int) -> list[int]:
    """Bit positions of ``item`` (Kirsch-Mitzenmacher double hashing over one blake2b digest)."""
    d = hashlib.blake2b(item.encode(), digest_size=16).digest()
    h1 = int.from_bytes(d[:8], "little")
    h2 = int.from_bytes(d[8:], "little") | 1
    return [(h1 + i * h2) % bits for i in range(hashes)]


def bloom_contains(bloom: bytes | bytearray, item: str, hashes: int) -> bool:
    """Membership test on a filter's bytes (what the feed gets from ``get_state``)."""
    if not bloom:
        return False
    bits = len(bloom) * 8
    return all(bloom[p >> 3] & (1 << (p & 7)) for p in bloom_positions(item, bits, hashes))


class SeenSet:
    """Ring of the ``ring`` most recent distinct ids plus a Bloom filter of ``bits`` bits for the rest."""

    __slots__ = ("_index", "_pos", "_ring", "bits", "bloom", "hashes", "size")

    def __init__(self, ring: int = 256, bits: int = 32_768, hashes: int = 4) -> None:
        if ring < 1 or bits < 8 or bits % 8 or hashes < 1:
            raise ValueError("SeenSet needs ring >= 1, bits a positive multiple of 8, hashes >= 1")
        self.size = ring
        self.bits = bits
        self.hashes = hashes
        self._ring: list[str] = []
        self._pos = 0  # next slot to overwrite once the ring is full
        self._index: set[str] = set()
        self.bloom = bytearray()  # empty until the ring first overflows

    def __contains__(self, item: str) -> bool:
        return item in self._index or bloom_contains(self.bloom, item, self.hashes)

    def __len__(self) -> int:
        return len(self._ring)

    def add(self, item: str) -> None:
        """Record ``item`` as seen (a no-op when it already is, or the filter says it may be)."""
        if item in self._index:
            return
        if self.bloom and bloom_contains(self.bloom, item, self.hashes):
            return
        if len(self._ring) < self.size:
            self._ring.append(item)
        else:
            old = self._ring[self._pos]
            self._index.discard(old)
            self._spill(old)
            self._ring[self._pos] = item
            self._pos = (self._pos + 1) % self.size
        self._index.add(item)

    def _spill(self, item: str) -> None:
        if not self.bloom:
            self.bloom = bytearray(self.bits // 8)
        for p in bloom_positions(item, self.bits, self.hashes):
            self.bloom[p >> 3] |= 1 << (p & 7)

    def recent(self) -> list[str]:
        """The ring's ids, oldest first (a canonical order, independent of the ring's rotation)."""
        return self._ring[self._pos:] + self._ring[: self._pos]

    @classmethod
    def restore(cls, recent: list[str], bloom: bytes, ring: int, bits: int, hashes: int) -> SeenSet:
        """Rebuild from ``recent()`` and the filter bytes (the checkpoint form)."""
        s = cls(ring, bits, hashes)
        s._ring = list(recent[-ring:])
        s._pos = 0
        s._index = set(s._ring)
        s.bloom = bytearray(bloom)
        return s
