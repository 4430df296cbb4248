"""``KeyLocks``: holders of one key take turns, other keys do not wait, and idle keys are forgotten."""

from __future__ import annotations

import asyncio

from serve.api.keylocks import KeyLocks


async def test_one_key_takes_turns_other_keys_run_and_nothing_is_kept_after() -> None:
    locks, trace = KeyLocks(), []

    async def hold(key: str, tag: str) -> None:
        async with locks.hold(key):
            trace.append(f"{tag}+")
            await asyncio.sleep(0.01)
            trace.append(f"{tag}-")

    await asyncio.gather(hold("a", "a1"), hold("a", "a2"), hold("b", "b1"))
    assert trace.index("a1-") < trace.index("a2+")  # the second holder of "a" waited for the first
    assert trace.index("b1+") < trace.index("a1-")  # "b" did not wait for "a"
    assert len(locks) == 0


async def test_a_holder_that_raises_releases_the_key() -> None:
    locks = KeyLocks()
    try:
        async with locks.hold("k"):
            raise ValueError("refused")
    except ValueError:
        pass
    async with locks.hold("k"):
        pass
    assert len(locks) == 0
