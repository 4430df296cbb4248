"""Crash safety of the Kafka backend: a writer SIGKILLed at random moments loses and repeats nothing.

A writer process (kafka_crash_writer.py) appends numbered events in batches and reports each
acknowledged batch; it is killed with SIGKILL at a random moment, again and again, each run with
its own number range. Afterwards the whole log is read back: every acknowledged event is there
exactly once, no event at all is there twice (the idempotent producer), every partition holds
its events in the order they were appended, and every record decodes.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest

from events import open_log, partition_for

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

KILLS = 24
PARTITIONS = 4
ROOT = Path(__file__).resolve().parents[2]
WRITER = Path(__file__).with_name("kafka_crash_writer.py")


async def _run_and_kill(url: str, first: int, batch: int, delay_s: float) -> list[range]:
    """One writer life: start, wait until it is ready, let it write ``delay_s``, SIGKILL it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(WRITER), url, str(first), str(batch),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT, env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        ready = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        pytest.fail("the writer did not open the log within 30 s")
    if ready != b"ready\n":
        await proc.wait()
        err = (await proc.stderr.read()).decode(errors="replace")
        pytest.fail(f"the writer failed to start: {ready!r}\n{err}")
    await asyncio.sleep(delay_s)
    if proc.returncode is None:
        proc.kill()
    await proc.wait()
    if proc.returncode != -9:
        err = (await proc.stderr.read()).decode(errors="replace")
        pytest.fail(f"the writer exited on its own (status {proc.returncode}) before it was killed:\n{err}")
    out = await proc.stdout.read()
    acked = []
    for line in out.split(b"\n")[:-1]:  # the last piece may be a line cut by the kill
        _, a, b = line.split()
        acked.append(range(int(a), int(b)))
    return acked


async def test_sigkilled_writer_loses_and_repeats_nothing(kafka_bootstrap: str) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    url = f"kafka://{kafka_bootstrap}/crash{uuid.uuid4().hex[:10]}"
    log = await open_log(url, partitions=PARTITIONS)  # the topic exists before the first writer
    await log.close()

    acked: set[int] = set()
    for run in range(KILLS):
        ranges = await _run_and_kill(
            url, first=run * 1_000_000, batch=rng.choice([1, 7, 50, 300, 1000]), delay_s=rng.uniform(0, 0.3)
        )
        for r in ranges:
            acked.update(r)

    log = await open_log(url, partitions=PARTITIONS)
    try:
        found: list[int] = []
        for info in await log.partition_info():
            numbers: list[int] = []
            offset = info.start
            while offset < info.end:
                records = await log.read(info.partition, offset, 5000)  # raises on any damage
                assert records, f"seed {seed}: partition {info.partition} ends early at {offset}"
                for rec in records:
                    n = int(rec.event.video_id)  # type: ignore[union-attr]
                    assert partition_for(f"u{n % 13}", PARTITIONS) == info.partition
                    numbers.append(n)
                offset = records[-1].offset + 1
            assert numbers == sorted(numbers), f"seed {seed}: partition {info.partition} out of order"
            found += numbers
    finally:
        await log.close()

    repeated = [n for n, c in Counter(found).items() if c > 1]
    assert not repeated, f"seed {seed}: events written twice: {repeated[:10]}"
    missing = acked - set(found)
    assert not missing, f"seed {seed}: {len(missing)} acknowledged events lost, e.g. {sorted(missing)[:10]}"
    assert acked, f"seed {seed}: no writer ever got an append acknowledged"
