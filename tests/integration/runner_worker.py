"""A runner process for the crash tests: ``python -m tests.integration.runner_worker LOG STORE BATCH VIEWS``.

Runs the named views (registry projections, plus ``tally``) until caught up. ``tally`` counts every
event it folds, per type and in total, so any double fold or lost event shows in its numbers; most
real folds are naturally idempotent under a refold (likes, follows, status changes) and would hide one.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from events import Event
from projections.admin import open_log_for_views, run_views
from projections.base import Delta, Projection, ViewReader
from projections.registry import get_projection
from projections.store import open_store

__all__ = ["TALLY", "Tally", "main"]


class Tally:
    name = "tally"
    version = 1
    value_type = int

    def keys(self, event: Event) -> Sequence[str]:
        return ("n", f"t:{type(event).__name__}")

    def fold(self, view: ViewReader, event: Event) -> Delta:
        kind = f"t:{type(event).__name__}"
        return {"n": (view.get("n") or 0) + 1, kind: (view.get(kind) or 0) + 1}


TALLY = Tally()


def projection(name: str) -> Projection:
    return TALLY if name == "tally" else get_projection(name)


async def _run(log_url: str, store_url: str, batch: int, names: Sequence[str]) -> None:
    store = open_store(store_url)
    log = await open_log_for_views(log_url, 4)
    try:
        await run_views(log, store, [projection(n) for n in names], asyncio.Event(), batch_size=batch,
                        catchup_batch_size=batch, until_caught_up=True)
    finally:
        await log.close()
        store.close()


def main(argv: Sequence[str]) -> None:
    log_url, store_url, batch, *names = argv
    asyncio.run(_run(log_url, store_url, int(batch), names))


if __name__ == "__main__":
    main(sys.argv[1:])
