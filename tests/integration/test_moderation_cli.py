"""`reel moderation backlog` over a real log, and `reel bench moderation` printing its JSON figures."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import CliRunner

from events import open_log
from events.ids import new_event_id, now_us
from events.schema import ModerationDecided, ModerationScored, VideoTranscoded, VideoUploaded
from reelstack.cli import main


async def _write_log(log_url: str) -> None:
    log = await open_log(log_url, partitions=2)
    ts = now_us() - 60_000_000
    events = []
    for vid in ("waits", "held"):
        events += [
            VideoUploaded(
                event_id=new_event_id(),
                ts=ts,
                video_id=vid,
                creator_id="c",
                blob_key="k",
                sha256="0" * 64,
                size_bytes=1,
            ),
            VideoTranscoded(
                event_id=new_event_id(),
                ts=ts,
                video_id=vid,
                creator_id="c",
                duration_ms=15000,
                width=720,
                height=1280,
                master_playlist_key="m",
                renditions=(),
            ),
        ]
    events += [
        ModerationScored(
            event_id=new_event_id(), ts=ts, video_id="held", scores={"nudity": 0.8, "violence": None}
        ),
        ModerationDecided(
            event_id=new_event_id(), ts=ts, video_id="held", decision="review", category="nudity"
        ),
    ]
    await log.append(events)
    await log.close()


def test_backlog_lists_waiting_videos_and_the_review_queue(tmp_path: Path) -> None:
    log_url = f"file://{tmp_path / 'log'}"
    asyncio.run(_write_log(log_url))
    result = CliRunner().invoke(main, ["moderation", "backlog", "--replay", "--log", log_url, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert [w["video_id"] for w in out["waiting"]] == ["waits"] and out["waiting"][0]["waiting_s"] >= 59
    assert out["review_queue"] == 1 and 59 <= out["oldest_review_age_s"] < 3600 and not out["sla_breached"]
    table = CliRunner().invoke(main, ["moderation", "backlog", "--replay", "--log", log_url])
    assert table.exit_code == 0 and "waits" in table.output and "within SLA" in table.output


def test_bench_moderation_prints_json() -> None:
    args = [
        "bench",
        "moderation",
        "--videos",
        "2",
        "--seconds",
        "3",
        "--sounds",
        "1",
        "--seen",
        "5",
        "--json",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output[result.output.index("{") :])
    assert figures["videos"] == 2 and figures["videos_per_s"] > 0 and figures["p99_s"] > 0
    assert sum(figures["decisions"].values()) == 2
