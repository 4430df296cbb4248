"""Crash safety of the file log: SIGKILL a writer at random moments, then check nothing acknowledged is lost.

Every acknowledged event is present exactly once, per-partition order is the append order, offsets
are dense, every record reads back through its CRC, and ``verify`` finds no damage.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from events.filelog import open_file_log

ROOT = Path(__file__).resolve().parents[2]
KILLS = 22


def spawn(url: str, run: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.crash_writer", url, str(run), "4", "40"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


async def check(url: str, acked: set[int]) -> int:
    log = await open_file_log(url)
    seen: Counter[int] = Counter()
    for info in await log.partition_info():
        assert info.start == 0
        records = []
        offset = 0
        while offset < info.end:
            got = await log.read(info.partition, offset, 5000)  # CRC-checked: raises on a torn record
            records.extend(got)
            offset = got[-1].offset + 1
        assert [r.offset for r in records] == list(range(info.end)), "offsets must be dense"
        numbers = [int(r.event.event_id[1:]) for r in records]
        assert numbers == sorted(numbers), f"partition {info.partition} is out of append order"
        seen.update(numbers)
    reports = await log.verify()
    assert all(r.first_bad is None for r in reports), reports
    await log.close()
    assert not [n for n, c in seen.items() if c > 1], "an event was written twice"
    missing = acked - seen.keys()
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:5]}"
    return len(seen)


@pytest.mark.slow
def test_sigkilled_writer_never_loses_an_acknowledged_event(tmp_path: Path) -> None:
    url = f"file://{tmp_path / 'log'}"
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    acked: set[int] = set()
    acked_runs = 0
    for run in range(1, KILLS + 1):
        proc = spawn(url, run)
        assert proc.stdout is not None
        moment = rng.random()
        early_acks: list[str] = []
        if moment < 0.2:  # may land while the log is opening and recovering
            time.sleep(rng.uniform(0.0, 0.6))
        else:
            line = proc.stdout.readline()
            assert line.strip() == "ready", proc.communicate()[1]
            if moment > 0.6:  # wait for the first acknowledgement, so most runs leave acked data
                line = proc.stdout.readline()
                assert line.startswith("ack "), proc.communicate()[1]
                early_acks.append(line)
            time.sleep(rng.uniform(0.0, 0.25))
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL, err
        run_acks = 0
        for line in early_acks + out.splitlines():
            if line.startswith("ack "):
                a, b = map(int, line.split()[1:])
                acked.update(range(a, b))
                run_acks += 1
        acked_runs += run_acks > 0
    assert acked, "no run acknowledged anything: the test would mean nothing"
    stored = asyncio.run(check(url, acked))
    print(f"{KILLS} kills, {acked_runs} runs acknowledged, {len(acked)} acked, {stored} stored")
    assert stored >= len(acked)
