"""Token-bucket rate limits per key (user id, client address); pure apart from an injectable clock.

``TokenBuckets(rate, burst).take(key)`` returns 0 when the request may go, else the seconds until a
token is available (the ``Retry-After``). Buckets idle long enough to be full again are forgotten,
so memory stays bounded by the number of recently active keys.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["TokenBuckets", "address_limits"]


def address_limits(rate_per_s: float, burst: int) -> TokenBuckets | None:
    """The per-client-address buckets, or None when ``rate_per_s`` is 0 (no per-address limit)."""
    return TokenBuckets(rate_per_s, burst) if rate_per_s > 0 else None


class TokenBuckets:
    def __init__(self, rate_per_s: float, burst: int, *, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("a rate limit needs rate_per_s > 0 and burst >= 1")
        self.rate = rate_per_s
        self.burst = float(burst)
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def take(self, key: str, cost: float = 1.0) -> float:
        """Spend ``cost`` tokens of ``key``'s bucket: 0.0 if allowed, else seconds to wait."""
        now = self.clock()
        tokens, at = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens >= cost:
            self._buckets[key] = (tokens - cost, now)
            if len(self._buckets) > self.max_keys:
                self._forget(now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (cost - tokens) / self.rate

    def _forget(self, now: float) -> None:
        full_after = self.burst / self.rate
        for key, (_, at) in list(self._buckets.items()):
            if now - at >= full_after:
                del self._buckets[key]
