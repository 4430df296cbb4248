"""``FeedService._stage``: a stage's coroutine runs up to its first wait before any timer is set; what
waits runs on under the stage's budget, with its result, errors and cancellation passed through."""

from __future__ import annotations

import asyncio

import pytest

from serve.feed import FeedConfig, FeedService
from serve.feed.errors import StageFailedError, StageTimeoutError
from tests.feed_world import World


def _service() -> FeedService:
    return World().service(config=FeedConfig())


@pytest.mark.asyncio
async def test_a_stage_that_never_waits_answers_without_a_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    svc = _service()
    timers: list[float] = []
    real = asyncio.timeout
    monkeypatch.setattr(asyncio, "timeout", lambda d: timers.append(d) or real(d))

    async def sync() -> int:
        return 7

    assert await svc._stage("state", sync(), 50) == 7
    assert timers == []

    async def waits() -> int:
        await asyncio.sleep(0.001)
        await asyncio.sleep(0)
        return 8

    assert await svc._stage("state", waits(), 50) == 8
    assert timers == [0.05]


@pytest.mark.asyncio
async def test_a_stage_past_its_budget_times_out_and_its_coroutine_is_cancelled() -> None:
    svc = _service()
    cleaned: list[str] = []

    async def slow() -> int:
        try:
            await asyncio.sleep(5)
        finally:
            cleaned.append("slow")
        return 1

    with pytest.raises(StageTimeoutError):
        await svc._stage("ranking", slow(), 20)
    assert cleaned == ["slow"]


@pytest.mark.asyncio
@pytest.mark.parametrize("waits_first", [False, True])
async def test_a_stage_that_fails_before_or_after_a_wait_fails_as_a_stage(waits_first: bool) -> None:
    svc = _service()

    async def broken() -> int:
        if waits_first:
            await asyncio.sleep(0)
        raise KeyError("gone")

    with pytest.raises(StageFailedError, match="KeyError"):
        await svc._stage("retrieval", broken(), 50)
    assert svc.breakers["retrieval"]._failures == 1  # counted against the stage


@pytest.mark.asyncio
async def test_cancelling_the_request_reaches_the_stage_that_is_waiting() -> None:
    svc = _service()
    started, cleaned = asyncio.Event(), []

    async def waiting() -> int:
        started.set()
        try:
            await asyncio.sleep(5)
        finally:
            cleaned.append(True)
        return 1

    task = asyncio.ensure_future(svc._stage("state", waiting(), 10_000))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == [True]


@pytest.mark.asyncio
async def test_cancelling_reaches_a_stage_between_bare_yields() -> None:
    svc = _service()
    spins, cleaned = [0], []

    async def spinning() -> int:
        try:
            while spins[0] < 10_000:  # each sleep(0) is a bare yield: the task throws cancellation in here
                spins[0] += 1
                await asyncio.sleep(0)
        finally:
            cleaned.append(True)
        return spins[0]

    task = asyncio.ensure_future(svc._stage("state", spinning(), 10_000))
    while spins[0] < 3:
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == [True] and spins[0] < 100
