"""Waiting for Ray to restart a killed actor: until a new process answers its ``status()``."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

__all__ = ["until_restarted"]


async def until_restarted(ray: Any, handle: Any, pid: int, *, what: str, timeout_s: float = 60.0) -> dict[str, Any]:
    """The status of ``handle``'s actor once a process other than ``pid`` answers: after
    ``ray.kill(handle, no_restart=False)`` the old process may still answer for a moment, and what the
    test writes next must reach the new one."""
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(ray.exceptions.RayActorError):  # while Ray restarts it
            status: dict[str, Any] = await handle.status.remote()
            if status["pid"] != pid:
                return status
        assert time.monotonic() < deadline, f"Ray did not restart {what}"
        await asyncio.sleep(0.1)
