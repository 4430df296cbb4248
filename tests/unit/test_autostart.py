"""``AutoStart``: one start attempt begun at construction, shared by every waiter, retried after a failure."""

from __future__ import annotations

import asyncio

import pytest

from actors.autostart import AutoStart


async def test_the_start_runs_once_by_itself_and_every_waiter_shares_it() -> None:
    calls = []

    async def start() -> str:
        calls.append(1)
        await asyncio.sleep(0.01)
        return "up"

    auto = AutoStart(start, what="the test")
    await asyncio.sleep(0.05)  # nobody waited: it ran anyway
    assert calls == [1]
    assert await asyncio.gather(auto.wait(), auto.wait()) == ["up", "up"]
    assert calls == [1] and auto.error is None


async def test_a_failed_start_is_reported_and_the_next_wait_tries_again() -> None:
    attempts = []

    async def start() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("store down")
        return len(attempts)

    auto = AutoStart(start, what="the test")
    with pytest.raises(ConnectionError, match="store down"):
        await auto.wait()
    assert auto.error == "ConnectionError: store down"
    assert await auto.wait() == 2
    assert auto.error is None


async def test_cancel_ends_a_start_under_way() -> None:
    started, ended = asyncio.Event(), []

    async def start() -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        finally:
            ended.append("cancelled")

    auto = AutoStart(start, what="the test")
    await started.wait()
    await auto.cancel()
    assert ended == ["cancelled"]
