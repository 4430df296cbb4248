"""Reading a test's file log back: the user ids of every record, for "did every append land" checks."""

from __future__ import annotations

from events import open_log


async def logged_user_ids(url: str, partitions: int = 2) -> list[str]:
    """Every record's ``user_id`` in the log at ``url`` (opened read-only, partition by partition)."""
    log = await open_log(url, partitions=None, readonly=True)
    try:
        return [r.event.user_id for p in range(partitions)  # type: ignore[union-attr]
                for r in await log.read(p, 0, 100_000)]
    finally:
        await log.close()
