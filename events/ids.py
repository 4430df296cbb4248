"""Identifiers and clocks: UUIDv7 event ids (time-ordered) and epoch-microsecond timestamps."""

from __future__ import annotations

import os
import time
import uuid

__all__ = ["new_event_id", "new_event_ids", "now_us", "uuid7"]


def now_us() -> int:
    """Wall-clock time in epoch microseconds (the unit of every event's ``ts``)."""
    return time.time_ns() // 1000


def _uuid7_int(ms: int, rand: int) -> int:
    value = (ms & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a, 12 bits
    value |= 0b10 << 62  # variant
    value |= rand & 0x3FFF_FFFF_FFFF_FFFF  # rand_b, 62 bits
    return value


def uuid7(ts_ms: int | None = None, rand: int | None = None) -> uuid.UUID:
    """A RFC 9562 version-7 UUID: 48 bits of Unix milliseconds, then 74 random bits.

    ``rand`` supplies the random bits (for reproducible generated logs); default: os.urandom.
    """
    ms = time.time_ns() // 1_000_000 if ts_ms is None else ts_ms
    if rand is None:
        rand = int.from_bytes(os.urandom(10), "big")
    return uuid.UUID(int=_uuid7_int(ms, rand))


def _canonical(value: int) -> str:
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def new_event_id() -> str:
    """A new ``uuid7`` in its canonical string form (formatted directly, without ``uuid.UUID``)."""
    return _canonical(_uuid7_int(time.time_ns() // 1_000_000, int.from_bytes(os.urandom(10), "big")))


def new_event_ids(n: int) -> list[str]:
    """``n`` new ``uuid7`` strings at once: one clock read and one call for the random bits (a feed page
    makes one per video shown, and one for itself)."""
    ms = time.time_ns() // 1_000_000
    raw = os.urandom(10 * n)
    return [_canonical(_uuid7_int(ms, int.from_bytes(raw[k: k + 10], "big"))) for k in range(0, 10 * n, 10)]
