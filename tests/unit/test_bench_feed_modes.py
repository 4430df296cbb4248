"""``reel bench feed-modes``: runs alternate the Serve modes, medians per mode, the speed-up, the chart.

The runner is the seam: in the command it runs ``reel bench feed`` processes (what
``tests/integration/test_bench_feed_cli.py`` runs in both modes); here it answers figures, so the
interleaving and the arithmetic are checked exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.feed_modes import feed_bench_command, modes_chart, run_modes, summarise

FIGURES = {"proxy": [150.0, 140.0, 160.0], "throughput": [330.0, 300.0, 320.0]}


def _runner() -> tuple[list[str], Any]:
    calls: list[str] = []

    def run(mode: str) -> dict[str, Any]:
        rps = FIGURES[mode][sum(1 for c in calls if c == mode)]
        calls.append(mode)
        base = 350.0 if mode == "proxy" else 3000.0
        return {"rps": rps, "p50_ms": 10.0, "p99_ms": 2000.0 / rps, "baseline_rps": base,
                "freshness_p99_ms": 50.0, "cpu_ms_per_request": {"replica": 3.0}}

    return calls, run


def test_modes_alternate_and_medians_are_per_mode(tmp_path: Path) -> None:
    calls, run = _runner()
    lines: list[str] = []
    rows = run_modes(run, 3, progress=lines.append)
    assert calls == ["proxy", "throughput"] * 3
    assert [r["round"] for r in rows] == [1, 1, 2, 2, 3, 3]
    assert rows[0]["ratio"] == round(150 / 350, 3) and rows[1]["ratio"] == 0.11
    s = summarise(rows)
    assert s["median"]["proxy"]["rps"] == 150.0 and s["median"]["throughput"]["rps"] == 320.0
    assert s["median"]["throughput"]["runs"] == 3
    assert s["speedup"] == round(320 / 150, 2)
    assert any("round 3/3: throughput" in line for line in lines)

    out = tmp_path / "charts" / "modes.png"
    modes_chart(rows, out, "test")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000


def test_each_run_is_a_bench_process_in_its_mode() -> None:
    cmd = feed_bench_command("throughput", ["--catalog", "400"])
    assert cmd[-4:] == ["400", "--serve-mode", "throughput", "--json"]
    assert cmd[3:6] == ["bench", "feed", "--catalog"]
    with pytest.raises(KeyError):
        summarise([])["median"]["proxy"]
