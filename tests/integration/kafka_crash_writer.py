"""Writer process for test_kafka_crash: appends numbered events until it is killed.

Usage: ``python kafka_crash_writer.py URL FIRST BATCH``. Prints ``ready`` once the log is open,
then after every acknowledged ``append`` one line ``ack A B`` (numbers A..B-1 are durable).
Event number ``n`` is ``Liked(user_id=f"u{n % 13}", video_id=str(n))``.
"""

from __future__ import annotations

import asyncio
import sys

from events import Liked, new_event_id, now_us, open_log


async def main(url: str, first: int, batch: int) -> None:
    log = await open_log(url, partitions=4)
    print("ready", flush=True)
    n = first
    while True:
        events = [
            Liked(event_id=new_event_id(), ts=now_us(), user_id=f"u{i % 13}", video_id=str(i))
            for i in range(n, n + batch)
        ]
        await log.append(events)
        print(f"ack {n} {n + batch}", flush=True)
        n += batch


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
