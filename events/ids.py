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


def new_event_id() -> str:
    """A new ``uuid7`` in its canonical string form (formatted directly, without ``uuid.UUID``)."""
    return new_event_ids(1)[0]


def new_event_ids(n: int) -> list[str]:
    """``n`` new ``uuid7`` strings at once: one clock read and one call for the random bits (a feed page
    makes one per video shown, and one for itself). Formatted from the hex of the random bytes: the
    48-bit millisecond prefix (with the version digit) once, then per id 74 random bits (12 of
    ``rand_a``, 62 of ``rand_b`` under the variant's two bits)."""
    ms = time.time_ns() // 1_000_000
    head = f"{(ms >> 16) & 0xFFFF_FFFF:08x}-{ms & 0xFFFF:04x}-7"
    r = os.urandom(10 * n).hex()  # 20 hex digits per id, 19 used
    return [f"{head}{r[k: k + 3]}-{_VARIANT[int(r[k + 3], 16) & 3]}{r[k + 4: k + 7]}-{r[k + 7: k + 19]}"
            for k in range(0, 20 * n, 20)]


_VARIANT = "89ab"  # the variant's bits (0b10) and two random bits, as the fourth group's first hex digit
