"""``bench.procs``: CPU seconds by command-line prefix from /proc, and CPU per request over a stretch."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from bench.procs import CpuSampler, cpu_seconds

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc (Linux)")


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_cpu_seconds_counts_the_processes_with_the_prefix() -> None:
    me = Path(f"/proc/{os.getpid()}/cmdline").read_bytes().split(b"\0")[0].decode()
    before = cpu_seconds({"me": me, "nobody": "no-such-command-line-prefix"})
    _spin(0.3)
    after = cpu_seconds({"me": me, "nobody": "no-such-command-line-prefix"})
    assert after["nobody"] == before["nobody"] == 0.0
    assert after["me"] - before["me"] >= 0.2  # this process (and any other of the same command) spun


def test_sampler_gives_cpu_ms_per_request_of_this_process() -> None:
    s = CpuSampler({"python": sys.executable})
    assert s.per_request_ms(10) == {}  # not started
    s.start()
    _spin(0.4)
    per = s.per_request_ms(100)
    assert set(per) == {"python", "load_generator"}
    assert 3.0 <= per["load_generator"] <= 8.0  # 0.4 s over 100 requests, with clock-tick rounding
