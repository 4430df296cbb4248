"""`reel projections status|rebuild|run` and `reel log replay --projection` on a real file log and SQLite."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from events import open_log
from projections.base import fold_all
from projections.registry import get_projection
from projections.store import open_store, reader
from reelstack.cli import main
from reelstack.world import WorldConfig, world_events
from tests.integration.test_runner import merged_order

EVENTS = list(world_events(WorldConfig(creators=4, videos=10, viewers=30, sessions_per_viewer=1)))


def _append(url: str, events: list[Any], partitions: int = 3) -> None:
    async def go() -> None:
        log = await open_log(url, partitions=partitions)
        await log.append(events)
        await log.close()

    asyncio.run(go())


def _status(cli: CliRunner, args: list[str]) -> dict[str, dict[str, Any]]:
    result = cli.invoke(main, ["projections", "status", "--json", *args])
    assert result.exit_code == 0, result.output
    return {row["name"]: row for row in json.loads(result.stdout)}


def test_status_rebuild_run_and_replay(tmp_path: Path) -> None:
    log_url, store_url = f"file://{tmp_path / 'log'}", f"sqlite://{tmp_path / 'views.db'}"
    args = ["--log-url", log_url, "--store", store_url]
    half = len(EVENTS) // 2
    _append(log_url, EVENTS[:half])
    cli = CliRunner()

    before = _status(cli, args)
    assert before["counters"]["state"] == "not built" and before["counters"]["lag"] == half

    result = cli.invoke(main, ["projections", "rebuild", "counters", "catalog", *args])
    assert result.exit_code == 0, result.output
    assert f"rebuilt 2 views in one pass: {half:,} events" in result.output
    assert "  counters: 0 dead-lettered" in result.output
    rows = _status(cli, args)
    assert rows["counters"]["state"] == "up to date" and rows["counters"]["events"] == half
    assert rows["social"]["state"] == "not built"

    _append(log_url, EVENTS[half:])
    assert _status(cli, args)["counters"]["lag"] == len(EVENTS) - half
    result = cli.invoke(main, ["projections", "run", "counters", "--until-caught-up", *args])
    assert result.exit_code == 0, result.output
    rows = _status(cli, args)
    assert rows["counters"]["lag"] == 0 and rows["counters"]["events"] == len(EVENTS)

    replay = ["log", "replay", "--projection", "social", "--url", log_url, "--store", store_url]
    result = cli.invoke(main, replay)
    assert result.exit_code == 0, result.output
    assert _status(cli, args)["social"]["state"] == "up to date"

    store = open_store(store_url)
    for name in ("counters", "social"):
        projection = get_projection(name)
        expected = fold_all(projection, merged_order(EVENTS)).data
        assert dict(reader(store, projection).scan("")) == expected, name
    store.close()


def test_errors_are_one_line(tmp_path: Path) -> None:
    cli = CliRunner()
    result = cli.invoke(main, ["projections", "rebuild", "counters", "--log-url", f"file://{tmp_path}/nolog",
                               "--store", "sqlite://" + str(tmp_path / "v.db")])
    assert result.exit_code == 1
    assert "Error:" in result.output and "Traceback" not in result.output
    result = cli.invoke(main, ["projections", "status", "--store", "postgres://x",
                               "--log-url", f"file://{tmp_path}/nolog"])
    assert result.exit_code == 1 and "unsupported view store URL" in result.output
    result = cli.invoke(main, ["projections", "rebuild"])
    assert result.exit_code == 2 and "--all" in result.output
