"""``KeyLocks``: one asyncio lock per key, kept only while someone holds or waits for it.

The toggle routes (like / unlike, follow / unfollow) check a view, append an event, and wait until the
view has folded it. Two requests of the same user for the same target at once (a double tap, a retry
without an ``Idempotency-Key``) would both pass the check before either event is folded, and append the
event twice. Holding the key's lock from the check to the fold makes the second request see the first
one's result (409). It covers the requests one replica serves; the client's retries normally reach the
replica of their connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

__all__ = ["KeyLocks"]


class KeyLocks:
    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}  # key -> (lock, holders and waiters)

    def __len__(self) -> int:
        return len(self._locks)

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
