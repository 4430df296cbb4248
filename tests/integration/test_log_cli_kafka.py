"""`reel log` and `reel bench log` against a real Kafka-protocol broker (the session's tansu)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from events.codec import encode_json
from reelstack.cli import main
from reelstack.services import free_port
from tests.unit.test_log_cli import PARTITIONS, make_events

pytestmark = pytest.mark.kafka


def reel(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_import_stat_tail_verify_on_kafka(tmp_path: Path, kafka_bootstrap: str) -> None:
    events = make_events(60)
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\n".join(encode_json(e) for e in events) + b"\n")
    url = f"kafka://{kafka_bootstrap}/cli{uuid.uuid4().hex[:10]}"
    common = ("--url", url, "--partitions", str(PARTITIONS))

    res = reel("log", "import", *common, str(src), "--batch", "25")
    assert res.exit_code == 0, res.output

    res = reel("log", "stat", *common, "--json")
    assert res.exit_code == 0, res.output
    stat = json.loads(res.stdout)
    assert stat["total_records"] == 60 and sum(stat["types"].values()) == 60

    res = reel("log", "tail", *common, "--from-beginning", "--type", "Liked", "--json")
    assert res.exit_code == 0, res.output
    assert len(res.stdout.splitlines()) == sum(type(e).__name__ == "Liked" for e in events)

    res = reel("log", "verify", *common, "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["records"] == 60

    out = tmp_path / "out.jsonl"
    assert reel("log", "export", *common, str(out)).exit_code == 0
    assert sorted(out.read_bytes().splitlines()) == sorted(encode_json(e) for e in events)


def test_bench_log_kafka_starts_its_own_broker() -> None:
    res = reel("bench", "log", "--url", f"kafka://127.0.0.1:{free_port()}", "--start-broker",
               "--events", "2000", "--partitions", "4", "--workers", "1", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["backend"] == "kafka" and out["replayed"] == 2000
    assert out["append_eps"] > 0 and out["replay_eps"] > 0
    assert "started for this run" in out["broker"]


def test_bench_log_kafka_without_broker_says_what_to_do() -> None:
    res = reel("bench", "log", "--url", f"kafka://127.0.0.1:{free_port()}", "--events", "10")
    assert res.exit_code == 1
    assert "--start-broker" in res.stderr
