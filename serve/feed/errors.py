"""Errors of the feed pipeline: one root, keyword-only structured fields, messages that say what to do."""

from __future__ import annotations

from typing import Any

__all__ = [
    "BadCursorError",
    "CircuitOpenError",
    "FeedError",
    "StageFailedError",
    "StageTimeoutError",
]


class FeedError(Exception):
    """Root of every error raised by ``serve.feed``."""

    def __reduce__(self) -> tuple[Any, ...]:
        # the fields are keyword-only, so pickling's default (``cls(*args)``) cannot rebuild it: restore
        # the message and fields without __init__ (an error raised in a Ray actor or task reaches the caller)
        return type(self).__new__, (type(self), *self.args), self.__dict__


class BadCursorError(FeedError, ValueError):
    """A page cursor that was not issued by this feed for this user (or is damaged)."""

    def __init__(self, *, detail: str) -> None:
        self.detail = detail
        super().__init__(f"invalid feed cursor ({detail}): drop the cursor to start the feed again")


class StageFailedError(FeedError):
    """A stage of the feed pipeline failed; the service falls back instead of failing the request."""

    def __init__(self, *, stage: str, detail: str) -> None:
        self.stage = stage
        self.detail = detail
        super().__init__(f"feed stage {stage!r} failed: {detail}")


class StageTimeoutError(StageFailedError):
    def __init__(self, *, stage: str, budget_ms: float) -> None:
        self.budget_ms = budget_ms
        super().__init__(stage=stage, detail=f"no answer within its {budget_ms:g} ms budget")


class CircuitOpenError(StageFailedError):
    """The stage's circuit breaker is open: it failed repeatedly, so it is skipped until ``retry_in_s``."""

    def __init__(self, *, stage: str, retry_in_s: float) -> None:
        self.retry_in_s = retry_in_s
        super().__init__(stage=stage, detail=f"circuit open after repeated failures; next try in "
                                             f"{retry_in_s:.1f} s")
