"""SIGKILL the runner process at random points, resume it each time: the views end exactly as a clean rebuild.

The runners (``tally``, which shows any double fold or lost event, and real views) run in a subprocess
(tests/integration/runner_worker.py) over a real file log;
the test watches the store's checkpoint and kills the process (SIGKILL: no cleanup, no flush) once it
has committed a random number of batches, plus a random few milliseconds so kills land anywhere in
a batch: while folding, inside the store commit, or between the store and the group commit.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from events import open_log
from projections.base import fold_all
from projections.runner import ProjectionRunner
from projections.store import open_store, reader
from reelstack.world import WorldConfig, world_events
from tests.integration.runner_worker import projection as get_projection
from tests.integration.test_runner import merged_order

VIEWS = ("tally", "counters", "catalog")
KILLS = 8
BATCH = 20


def _start(log_url: str, store_url: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "tests.integration.runner_worker", log_url, store_url, str(BATCH), *VIEWS]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)


def _seq(store_url: str) -> int:
    store = open_store(store_url)
    try:
        ckpt = store.checkpoint("tally")
        return 0 if ckpt is None else ckpt.seq
    finally:
        store.close()


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'views.db'}"
    base: str = request.getfixturevalue("redis_url")
    import redis

    url = base.rsplit("/", 1)[0] + f"/{1 + uuid.uuid4().int % 15}"
    redis.Redis.from_url(url).flushdb()
    return url


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume_equals_a_clean_rebuild(tmp_path: Path, store_url: str) -> None:
    rng = random.Random(1234)
    events = list(world_events(WorldConfig(creators=8, videos=30, viewers=150, sessions_per_viewer=2,
                                           videos_per_session=8)))
    log_url = f"file://{tmp_path / 'log'}"

    async def write() -> None:
        log = await open_log(log_url, partitions=4)
        await log.append(events)  # type: ignore[arg-type]
        await log.close()

    asyncio.run(write())
    total_batches = len(events) // BATCH
    killed_at: list[int] = []
    for _ in range(KILLS):
        target = _seq(store_url) + rng.randint(1, total_batches // (2 * KILLS + 2))
        proc = _start(log_url, store_url)
        deadline = time.monotonic() + 120
        while _seq(store_url) < target and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(rng.random() * 0.005)  # a batch of 20 takes about a millisecond: anywhere in the next few
        proc.kill()
        proc.wait()
        _, err = proc.communicate()
        assert proc.returncode in (-9, 0), err.decode()[-2000:]
        killed_at.append(_seq(store_url))
    # the kills landed mid-run, at different places (on a busy host the runner may finish before a late kill)
    mid_run = {k for k in killed_at if 0 < k < total_batches}
    assert len(mid_run) >= KILLS - 2, (killed_at, total_batches)
    final = _start(log_url, store_url)
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()[-2000:]

    async def clean(name: str) -> dict[str, Any]:
        log = await open_log(log_url, partitions=None, readonly=True)
        store = open_store("memory://")
        projection = get_projection(name)
        await ProjectionRunner(log, store, projection, batch_size=1000).rebuild()
        await log.close()
        return dict(reader(store, projection).scan(""))

    resumed = open_store(store_url)
    tally = dict(reader(resumed, get_projection("tally")).scan(""))
    assert tally["n"] == len(events)
    assert sum(v for k, v in tally.items() if k.startswith("t:")) == len(events)
    for name in VIEWS:
        projection = get_projection(name)
        got = dict(reader(resumed, projection).scan(""))
        assert got == asyncio.run(clean(name)), name
        assert got == fold_all(projection, merged_order(events, 4)).data, name  # type: ignore[arg-type]
        ckpt = resumed.checkpoint(name)
        assert ckpt is not None and ckpt.events == len(events) and ckpt.dead_lettered == 0
    resumed.close()
