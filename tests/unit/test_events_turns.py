"""``TurnFlush``: one flush per event-loop turn, however many callers request it."""

from __future__ import annotations

import asyncio

from events.turns import TurnFlush


async def test_requests_in_one_turn_flush_once_and_a_later_turn_flushes_again() -> None:
    flushes: list[int] = []
    turn = TurnFlush(lambda: flushes.append(len(flushes)))
    for _ in range(5):
        turn.request()
    assert flushes == []  # not before the loop has run what was ready
    await asyncio.sleep(0)
    assert flushes == [0]
    turn.request()
    await asyncio.sleep(0)
    assert flushes == [0, 1]


async def test_a_cancelled_flush_does_not_run_and_a_window_delays_it() -> None:
    flushes: list[str] = []
    turn = TurnFlush(lambda: flushes.append("x"))
    turn.request()
    turn.cancel()
    await asyncio.sleep(0)
    assert flushes == []
    slow = TurnFlush(lambda: flushes.append("w"), window_s=0.05)
    slow.request()
    await asyncio.sleep(0)
    assert flushes == []
    await asyncio.sleep(0.1)
    assert flushes == ["w"]
