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


def test_a_burst_of_failures_in_one_moment_does_not_open_it() -> None:
    """Pages in flight together that time out together are one slow moment: the breaker opens only when
    the consecutive failures span ``min_span_s`` (a stage that stays down), and a success starts over."""
    clock = Clock()
    b = CircuitBreaker("state", failure_threshold=3, reset_after_s=5.0, min_span_s=1.0, clock=clock)
    for _ in range(8):  # eight pages time out within 50 ms
        b.before()
        b.failure()
        clock.t += 0.006
    assert b.state == "closed" and b.opened == 0
    b.success()  # the stage answers again: the next run of failures starts its own span
    clock.t += 0.9
    b.failure()
    clock.t += 0.9
    b.failure()
    b.failure()
    assert b.state == "closed"  # three failures, but 0.9 s apart from the first of the run
    clock.t += 0.2
    b.failure()
    assert b.state == "open" and b.opened == 1  # still failing 1.1 s after the run began: down


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="min_span_s"):
        CircuitBreaker("state", min_span_s=-1.0)
