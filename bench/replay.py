"""Replay for benchmarks: read + decode every record of some partitions, in this or a worker process.

Partitions are independent, so W worker processes that each read a disjoint set of partitions replay
a log W times faster when decoding is CPU-bound (one core per process). Workers are spawned and open
the log first; the clock starts when they are all told to go and stops at the last record of the
last partition (``time.monotonic`` is system-wide on Linux, so the ends compare across processes).
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection

from events.log import EventLog, open_log

__all__ = ["ReplayResult", "read_partitions", "replay"]

_BATCH = 8192


@dataclass(frozen=True, slots=True)
class ReplayResult:
    records: int
    seconds: float
    workers: int
    cpu_s: float  # CPU time of every reading process together (wall time is noisy on a shared machine)


async def read_partitions(
    log: EventLog, partitions: Sequence[int], *, progress: Callable[[int], None] | None = None
) -> int:
    """Read (and so decode) every retained record of ``partitions``; returns how many."""
    infos = {i.partition: i for i in await log.partition_info()}
    total = 0
    for p in partitions:
        off, end = infos[p].start, infos[p].end
        while off < end:
            records = await log.read(p, off, max_records=min(_BATCH, end - off))
            if not records:
                break
            total += len(records)
            off = records[-1].offset + 1
            if progress:
                progress(len(records))
    return total


def split(partitions: int, workers: int) -> list[list[int]]:
    """Partitions dealt round-robin to ``workers`` (no worker gets an empty list)."""
    workers = max(1, min(workers, partitions))
    return [list(range(w, partitions, workers)) for w in range(workers)]


async def _in_process(url: str, options: dict[str, object], parts: list[int],
                      progress: Callable[[int], None] | None) -> ReplayResult:
    log = await open_log(url, **options)
    try:
        await log.partition_info()
        t0, c0 = time.monotonic(), time.process_time()
        n = await read_partitions(log, parts, progress=progress)
        return ReplayResult(records=n, seconds=time.monotonic() - t0, workers=1,
                            cpu_s=time.process_time() - c0)
    finally:
        await log.close()


def _worker(url: str, options: dict[str, object], parts: list[int], conn: Connection) -> None:
    async def run() -> None:
        log = await open_log(url, **options)
        try:
            await log.partition_info()
            conn.send("ready")
            conn.recv()  # go
            c0 = time.process_time()
            n = await read_partitions(log, parts)
            conn.send((n, time.monotonic(), time.process_time() - c0))
        finally:
            await log.close()

    try:
        asyncio.run(run())
    except BaseException as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        raise


def replay(
    url: str,
    options: dict[str, object],
    partitions: int,
    workers: int,
    *,
    progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Replay every partition of the log at ``url`` with ``workers`` processes (1: in this process)."""
    groups = split(partitions, workers)
    if len(groups) == 1:
        return asyncio.run(_in_process(url, options, groups[0], progress))
    ctx = mp.get_context("spawn")
    procs: list[tuple[mp.process.BaseProcess, Connection]] = []
    try:
        for parts in groups:
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, args=(url, options, parts, child), daemon=True)
            proc.start()
            child.close()
            procs.append((proc, parent))
        for _, conn in procs:
            _expect(conn.recv())
        t0 = time.monotonic()
        for _, conn in procs:
            conn.send("go")
        total, last, cpu = 0, t0, 0.0
        for _, conn in procs:
            msg = conn.recv()
            _expect(msg)
            n, t_end, cpu_s = msg
            total += n
            last = max(last, t_end)
            cpu += cpu_s
            if progress:
                progress(n)
        return ReplayResult(records=total, seconds=last - t0, workers=len(groups), cpu_s=cpu)
    finally:
        for worker, conn in procs:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.terminate()
                worker.join()
            conn.close()


def _expect(msg: object) -> None:
    if isinstance(msg, tuple) and msg and msg[0] == "error":
        raise RuntimeError(f"replay worker failed: {msg[1]}")
