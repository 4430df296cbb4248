"""Small pure helpers every fold shares: engagement definitions, calendar days, age bands."""

from __future__ import annotations

import datetime as _dt
import math
from functools import lru_cache

__all__ = [
    "SKIP_MIN_MS",
    "age_band",
    "completion",
    "day_of",
    "decayed_add",
    "decayed_value",
    "esc",
    "inv_ts",
    "is_adult",
    "is_complete",
    "is_skip",
    "normalize_hashtag",
]

#: A view shorter than this is a skip, whatever the clip's length.
SKIP_MIN_MS = 3_000
#: ... and so is one that saw less than this share of a short (<= 60 s) clip.
SKIP_MIN_SHARE = 0.2
SHORT_CLIP_MS = 60_000
#: A view counts as complete when it reached this share of the clip (or looped).
COMPLETE_SHARE = 0.9

_US_PER_DAY = 86_400_000_000
_US_PER_YEAR = 31_556_952_000_000  # mean Gregorian year


def completion(watch_ms: int, duration_ms: int, loops: int = 0) -> float:
    """Watched share of the clip, loops included (1.0 = watched once through, 2.5 = two and a half times)."""
    if duration_ms <= 0:
        return 0.0
    return loops + min(watch_ms / duration_ms, 1.0) if loops else watch_ms / duration_ms


def is_skip(watch_ms: int, duration_ms: int, loops: int = 0) -> bool:
    if loops > 0:
        return False
    if watch_ms < SKIP_MIN_MS:
        return True
    return duration_ms <= SHORT_CLIP_MS and watch_ms < SKIP_MIN_SHARE * duration_ms


def is_complete(watch_ms: int, duration_ms: int, loops: int = 0) -> bool:
    return loops > 0 or (duration_ms > 0 and watch_ms >= COMPLETE_SHARE * duration_ms)


def day_of(ts_us: int) -> str:
    """UTC calendar day of an event timestamp, as ``YYYY-MM-DD`` (sorts lexicographically)."""
    return _day_name(ts_us // _US_PER_DAY)


@lru_cache(maxsize=4096)
def _day_name(day: int) -> str:
    return _dt.datetime.fromtimestamp(day * 86_400, tz=_dt.UTC).strftime("%Y-%m-%d")


# Exponentially decayed scores are held as a log2-domain "rank": rank = log2(score at t) + t / half_life.
# It encodes (score, last-update time) in one float, decays lazily (score at ``now`` is
# 2 ** (rank - now / half_life)), and orders scores exactly as comparing them re-decayed to any common
# time would — so a top list sorted by rank never needs re-sorting as time passes.


def decayed_add(rank: float | None, ts_us: int, weight: float, half_life_us: int) -> float:
    """The rank after adding ``weight`` (> 0) at ``ts_us`` to a decayed score held as ``rank`` (None: 0)."""
    point = ts_us / half_life_us + math.log2(weight)
    if rank is None:
        return point
    hi, lo = (rank, point) if rank >= point else (point, rank)
    return hi + math.log2(1.0 + 2.0 ** (lo - hi))


def decayed_value(rank: float | None, now_us: int, half_life_us: int) -> float:
    """The decayed score at ``now_us`` of a rank from ``decayed_add`` (0.0 for None)."""
    if rank is None:
        return 0.0
    return float(2.0 ** min(rank - now_us / half_life_us, 1000.0))


def _age(birth_year: int | None, ts_us: int) -> int | None:
    if birth_year is None:
        return None
    return 1970 + ts_us // _US_PER_YEAR - birth_year


def age_band(birth_year: int | None, ts_us: int) -> str:
    """Audience age band at the time of the event: 13-17, 18-24, 25-34, 35-44, 45-54, 55+ or unknown."""
    age = _age(birth_year, ts_us)
    if age is None or age < 0:
        return "unknown"
    for upper, band in ((17, "13-17"), (24, "18-24"), (34, "25-34"), (44, "35-44"), (54, "45-54")):
        if age <= upper:
            return band if age >= 13 else "under-13"
    return "55+"


def is_adult(birth_year: int | None, ts_us: int) -> bool:
    """18 or older at ``ts_us``; unknown age is never adult (mature content is gated on this)."""
    age = _age(birth_year, ts_us)
    return age is not None and age >= 18


_INV_BASE = 10**17 - 1


def esc(part: str) -> str:
    """An id made safe as one ``:``-separated key segment (``%`` and ``:`` percent-encoded), so that
    ``f"x:{esc(a)}:{esc(b)}"`` never collides and ``scan(f"x:{esc(a)}:")`` matches only ``a``'s keys."""
    if ":" in part or "%" in part:
        return part.replace("%", "%25").replace(":", "%3A")
    return part


def inv_ts(ts_us: int) -> str:
    """A fixed-width key segment that sorts newest first (ascending key order = descending time)."""
    return f"{_INV_BASE - ts_us:017d}"


def normalize_hashtag(tag: str) -> str:
    """``" #DanceOff "`` -> ``"danceoff"``: lower-case, no leading ``#``, no surrounding blanks."""
    return tag.strip().lstrip("#").strip().lower()
