"""Writer process for test_filelog_crash: several tasks append numbered events until it is killed.

Usage: ``python -m tests.integration.crash_writer URL RUN TASKS BATCH``. Prints ``ready`` once the
log is open, then after every acknowledged ``append`` one line ``ack A B``: events A..B-1 are
durable. Run ``r`` numbers its events from ``r * 10_000_000`` so numbers never repeat across runs
(a killed run may leave written but unacknowledged events behind). Event ``n`` is
``Liked(event_id=f"n{n}", user_id=f"u{n % 13}", video_id=str(n))``. Numbers are taken right before
``append`` stages them, so within a partition the numbers must increase with the offset.
"""

from __future__ import annotations

import asyncio
import itertools
import sys

from events import Liked, now_us, open_log

RUN_STRIDE = 10_000_000
SEGMENT_BYTES = 128 * 1024  # small, so kills also land around segment rolls and index writes


async def main(url: str, run: int, tasks: int, batch: int) -> None:
    log = await open_log(url, partitions=4, segment_bytes=SEGMENT_BYTES)
    print("ready", flush=True)
    numbers = itertools.count(run * RUN_STRIDE, batch)

    async def worker() -> None:
        while True:
            n = next(numbers)
            events = [Liked(event_id=f"n{i}", ts=now_us(), user_id=f"u{i % 13}", video_id=str(i))
                      for i in range(n, n + batch)]
            await log.append(events)
            sys.stdout.write(f"ack {n} {n + batch}\n")
            sys.stdout.flush()

    await asyncio.gather(*(worker() for _ in range(tasks)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
