"""Circuit breaker transitions: closed -> open after N failures -> half-open -> closed or open."""

from __future__ import annotations

import pytest

from serve.feed.breaker import CircuitBreaker
from serve.feed.errors import CircuitOpenError


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_opens_after_threshold_consecutive_failures() -> None:
    clock = Clock()
    b = CircuitBreaker("ranking", failure_threshold=3, reset_after_s=5.0, clock=clock)
    for _ in range(2):
        b.before()
        b.failure()
    assert b.state == "closed"
    b.before()
    b.failure()
    assert b.state == "open"
    with pytest.raises(CircuitOpenError) as err:
        b.before()
    assert err.value.stage == "ranking" and 0 < err.value.retry_in_s <= 5.0


def test_success_resets_the_failure_count() -> None:
    b = CircuitBreaker("state", failure_threshold=2, clock=Clock())
    b.failure()
    b.success()
    b.failure()
    assert b.state == "closed"


def test_half_open_trial_success_closes_failure_reopens() -> None:
    clock = Clock()
    b = CircuitBreaker("retrieval", failure_threshold=1, reset_after_s=5.0, clock=clock)
    b.failure()
    assert b.state == "open"
    clock.t += 5.0
    assert b.state == "half_open"
    b.before()  # the one trial call passes
    with pytest.raises(CircuitOpenError):
        b.before()  # a second concurrent trial does not
    b.failure()
    assert b.state == "open" and b.opened == 2
    clock.t += 5.0
    b.before()
    b.success()
    assert b.state == "closed"
    b.before()
