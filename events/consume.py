"""Run a handler over a consumer group with retries and a dead-letter path (the same for every backend)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from .ids import now_us
from .log import Consumer, DeadLetter, EventLog, Record

__all__ = ["MAX_ATTEMPTS", "handle_with_retries"]

MAX_ATTEMPTS = 3
log = structlog.get_logger("events.consume")

Handler = Callable[[Record], Awaitable[None]]


async def handle_with_retries(
    log_: EventLog,
    consumer: Consumer,
    record: Record,
    handler: Handler,
    *,
    max_attempts: int = MAX_ATTEMPTS,
    backoff_s: float = 0.0,
) -> bool:
    """Call ``handler(record)`` up to ``max_attempts`` times; then dead-letter it.

    Returns True when the handler succeeded, False when the record was dead-lettered. Either way
    the consumer may move past the record: nothing is lost, and nothing blocks the partition.
    """
    error = ""
    for attempt in range(1, max_attempts + 1):
        try:
            await handler(record)
            return True
        except Exception as exc:  # the handler's failure is data here, not a crash
            error = f"{type(exc).__name__}: {exc}"
            log.warning("handler failed", group=consumer.group, partition=record.partition,
                        offset=record.offset, attempt=attempt, error=error)
            if backoff_s and attempt < max_attempts:
                await asyncio.sleep(backoff_s * 2 ** (attempt - 1))
    await log_.dead_letter(
        DeadLetter(
            group=consumer.group,
            partition=record.partition,
            offset=record.offset,
            event=record.event,
            error=error,
            attempts=max_attempts,
            ts=now_us(),
        )
    )
    return False
