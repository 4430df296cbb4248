"""A circuit breaker per feed stage: after repeated failures skip the stage for a while, then probe it.

States: ``closed`` (calls pass; ``failure_threshold`` consecutive failures open it, once they span at
least ``min_span_s``: requests that were in flight together and timed out together in one slow moment
are one incident, not a stage that is down, and would otherwise shut the stage for ``reset_after_s``),
``open`` (calls
are refused at once with ``CircuitOpenError`` for ``reset_after_s``), ``half_open`` (up to
``half_open_calls`` trial calls pass; one success closes it, one failure opens it again). A failing
dependency then costs the feed nothing once open — no request waits out a timeout on it. The clock is
injectable so tests step time instead of sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from .errors import CircuitOpenError

__all__ = ["BreakerState", "CircuitBreaker"]

BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    def __init__(self, name: str, *, failure_threshold: int = 3, reset_after_s: float = 5.0,
                 half_open_calls: int = 1, min_span_s: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if failure_threshold < 1 or reset_after_s < 0 or half_open_calls < 1 or min_span_s < 0:
            raise ValueError("CircuitBreaker needs failure_threshold >= 1, reset_after_s >= 0, "
                             "half_open_calls >= 1, min_span_s >= 0")
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self.half_open_calls = half_open_calls
        self.min_span_s = min_span_s
        self._clock = clock
        self._state: BreakerState = "closed"
        self._failures = 0
        self._first_failure_at = 0.0  # of the current run of consecutive failures
        self._opened_at = 0.0
        self._trials = 0
        self.opened = 0  # times it opened (metrics)

    @property
    def state(self) -> BreakerState:
        if self._state == "open" and self._clock() - self._opened_at >= self.reset_after_s:
            self._state = "half_open"
            self._trials = 0
        return self._state

    def before(self) -> None:
        """Call before the stage: raises ``CircuitOpenError`` when the call must not be made."""
        state = self.state
        if state == "open":
            left = self.reset_after_s - (self._clock() - self._opened_at)
            raise CircuitOpenError(stage=self.name, retry_in_s=max(0.0, left))
        if state == "half_open":
            if self._trials >= self.half_open_calls:
                raise CircuitOpenError(stage=self.name, retry_in_s=0.0)
            self._trials += 1

    def success(self) -> None:
        self._failures = 0
        self._state = "closed"

    def failure(self) -> None:
        state = self.state
        now = self._clock()
        if self._failures == 0:
            self._first_failure_at = now
        self._failures += 1
        spanned = now - self._first_failure_at >= self.min_span_s
        if state == "half_open" or (self._failures >= self.failure_threshold and spanned):
            self._state = "open"
            self._opened_at = now
            self._failures = 0
            self.opened += 1
