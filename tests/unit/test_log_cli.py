"""`reel log` end to end through click's CliRunner against a real file log in tmp_path."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner, Result

from events import open_log
from events.codec import decode, encode_json
from events.filelog.segment import HEADER, HEADER_SIZE
from events.log import Record
from events.partitioning import partition_for
from events.schema import Event, Followed, Impression, Liked, ViewEnded, partition_key
from reelstack.cli import main

PARTITIONS = 4
USERS = [f"u{i}" for i in range(10)]


def make_events(n: int = 120) -> list[Event]:
    out: list[Event] = []
    for i in range(n):
        user, ts, eid = USERS[i % len(USERS)], 1_700_000_000_000_000 + i * 1000, f"e{i:05d}"
        kind = i % 4
        if kind == 0:
            out.append(Impression(event_id=eid, ts=ts, user_id=user, video_id=f"v{i % 7}",
                                  request_id=f"r{i // 4}", position=i % 4))
        elif kind == 1:
            out.append(ViewEnded(event_id=eid, ts=ts, user_id=user, video_id=f"v{i % 7}",
                                 watch_ms=100 * i, duration_ms=15_000))
        elif kind == 2:
            out.append(Liked(event_id=eid, ts=ts, user_id=user, video_id=f"v{i % 7}"))
        else:
            out.append(Followed(event_id=eid, ts=ts, user_id=user, creator_id=f"c{i % 3}"))
    return out


def write_log(url: str, events: list[Event], commits: dict[str, dict[int, int]] | None = None) -> None:
    async def go() -> None:
        log = await open_log(url, partitions=PARTITIONS)
        try:
            if events:
                await log.append(events)
            for group, offsets in (commits or {}).items():
                consumer = log.consumer(group)
                await consumer.commit(offsets)
                await consumer.close()
        finally:
            await log.close()

    asyncio.run(go())


def read_all(url: str) -> dict[int, list[Record]]:
    async def go() -> dict[int, list[Record]]:
        log = await open_log(url, partitions=PARTITIONS)
        try:
            out: dict[int, list[Record]] = {}
            for info in await log.partition_info():
                recs: list[Record] = []
                off = info.start
                while off < info.end:
                    batch = await log.read(info.partition, off, max_records=1000)
                    recs.extend(batch)
                    off = batch[-1].offset + 1
                out[info.partition] = recs
            return out
        finally:
            await log.close()

    return asyncio.run(go())


def reel(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"file://{tmp_path / 'log'}"


@pytest.fixture
def filled(url: str) -> list[Event]:
    events = make_events()
    write_log(url, events)
    return events


# ------------------------------------------------------------------------------------------ tail


def test_tail_from_beginning_filters_by_type(url: str, filled: list[Event]) -> None:
    res = reel("log", "tail", "--url", url, "--from-beginning", "--type", "Liked", "--json")
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    want = {e.event_id for e in filled if isinstance(e, Liked)}
    assert {r["event"]["event_id"] for r in rows} == want
    assert all(r["event"]["type"] == "Liked" for r in rows)
    # partition/offset order, each event in its key's partition
    places = [(r["partition"], r["offset"]) for r in rows]
    assert places == sorted(places)
    assert all(r["partition"] == partition_for(r["event"]["user_id"], PARTITIONS) for r in rows)


def test_tail_filters_by_key_and_shows_the_last_n(url: str, filled: list[Event]) -> None:
    res = reel("log", "tail", "--url", url, "--key", "u3", "--last", "5")
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    mine = [e for e in filled if partition_key(e) == "u3"]
    assert len(lines) == 5
    home = partition_for("u3", PARTITIONS)
    for line, event in zip(lines, mine[-5:], strict=True):
        assert line.startswith(f"{home}:")
        assert f"  {type(event).__name__}  u3" in line


def test_tail_last_n_across_partitions_is_time_ordered(url: str, filled: list[Event]) -> None:
    res = reel("log", "tail", "--url", url, "--last", "7", "--type", "ViewEnded", "--json")
    assert res.exit_code == 0, res.output
    got = [json.loads(line)["event"]["event_id"] for line in res.stdout.splitlines()]
    assert got == [e.event_id for e in filled if isinstance(e, ViewEnded)][-7:]


def test_tail_partition_filter(url: str, filled: list[Event]) -> None:
    res = reel("log", "tail", "--url", url, "--partition", "2", "--from-beginning", "--json")
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert rows and {r["partition"] for r in rows} == {2}
    assert len(rows) == sum(1 for e in filled if partition_for(partition_key(e), PARTITIONS) == 2)


# ------------------------------------------------------------------------------------------ stat


def test_stat_counts_types_offsets_and_lag(url: str) -> None:
    events = make_events()
    write_log(url, events, commits={"feed": {0: 3, 1: 0}, "search": {}})
    parts = read_all(url)
    res = reel("log", "stat", "--url", url, "--json")
    assert res.exit_code == 0, res.output
    stat = json.loads(res.stdout)
    assert stat["total_records"] == len(events)
    assert {p["partition"]: p["records"] for p in stat["partitions"]} == {p: len(r) for p, r in parts.items()}
    counts: dict[str, int] = {}
    for e in events:
        counts[type(e).__name__] = counts.get(type(e).__name__, 0) + 1
    assert stat["types"] == counts
    feed = next(g for g in stat["groups"] if g["group"] == "feed")
    lag = {p["partition"]: p["lag"] for p in feed["partitions"]}
    ends = {p: len(r) for p, r in parts.items()}
    assert lag == {0: ends[0] - 3, 1: ends[1], 2: ends[2], 3: ends[3]}
    assert feed["total_lag"] == len(events) - 3
    assert stat["damage"] == []


def test_stat_human_output_has_tables(url: str, filled: list[Event]) -> None:
    res = reel("log", "stat", "--url", url)
    assert res.exit_code == 0, res.output
    assert "events by type" in res.stdout and "ViewEnded" in res.stdout and "partition" in res.stdout


# -------------------------------------------------------------------------------- export / import


def test_export_import_round_trip(tmp_path: Path, url: str, filled: list[Event]) -> None:
    dump = tmp_path / "dump.jsonl"
    res = reel("log", "export", "--url", url, str(dump))
    assert res.exit_code == 0, res.output
    lines = dump.read_bytes().splitlines()
    assert len(lines) == len(filled)
    fresh = f"file://{tmp_path / 'copy'}"
    res = reel("log", "import", "--url", fresh, "--partitions", str(PARTITIONS), str(dump), "--batch", "7")
    assert res.exit_code == 0, res.output
    a, b = read_all(url), read_all(fresh)
    assert {p: [r.event for r in recs] for p, recs in a.items()} == {
        p: [r.event for r in recs] for p, recs in b.items()
    }


def test_export_filters_by_type_to_stdout(url: str, filled: list[Event]) -> None:
    res = reel("log", "export", "--url", url, "-", "--type", "Followed")
    assert res.exit_code == 0, res.output
    types = {json.loads(line)["type"] for line in res.stdout.splitlines()}
    assert types == {"Followed"}


def _jsonl(events: list[Event], bad: dict[int, bytes]) -> bytes:
    """Events as JSON Lines with line ``n`` (1-based) replaced by ``bad[n]``."""
    lines = [encode_json(e) for e in events]
    for n, raw in bad.items():
        lines[n - 1] = raw
    return b"\n".join(lines) + b"\n"


def _bad_view() -> bytes:
    data = msgspec.json.decode(encode_json(make_events(2)[1]))
    data["watch_ms"] = -5
    return msgspec.json.encode(data)


def test_import_bad_line_names_line_and_field_and_appends_nothing(tmp_path: Path, url: str) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(_jsonl(make_events(10), {6: _bad_view()}))
    res = reel("log", "import", "--url", url, "--partitions", str(PARTITIONS), str(src))
    assert res.exit_code == 2
    assert "line 6" in res.stderr and "watch_ms" in res.stderr
    assert "Traceback" not in res.output
    assert sum(len(r) for r in read_all(url).values()) == 0


def test_import_bad_line_keeps_earlier_batches_only(tmp_path: Path, url: str) -> None:
    events = make_events(10)
    src = tmp_path / "in.jsonl"
    src.write_bytes(_jsonl(events, {6: _bad_view()}))
    res = reel("log", "import", "--url", url, "--partitions", str(PARTITIONS), str(src), "--batch", "4")
    assert res.exit_code == 2
    assert "line 6" in res.stderr and "4 events" in res.stderr
    stored = {r.event.event_id for recs in read_all(url).values() for r in recs}
    assert stored == {e.event_id for e in events[:4]}  # lines 5..8 were one batch: none of it


def test_import_skip_invalid_keeps_going_and_keeps_rejects(tmp_path: Path, url: str) -> None:
    events = make_events(10)
    src = tmp_path / "in.jsonl"
    src.write_bytes(_jsonl(events, {3: b'{"type": "Liked", "oops": 1', 8: _bad_view()}))
    res = reel("log", "import", "--url", url, "--partitions", str(PARTITIONS), str(src), "--skip-invalid")
    assert res.exit_code == 0, res.output
    assert "line 3" in res.stderr and "line 8" in res.stderr
    rejects = tmp_path / "in.rejected.jsonl"
    assert rejects.read_bytes().splitlines() == [b'{"type": "Liked", "oops": 1', _bad_view()]
    stored = {r.event.event_id for recs in read_all(url).values() for r in recs}
    assert stored == {e.event_id for i, e in enumerate(events, 1) if i not in (3, 8)}


def test_import_dry_run_validates_without_touching_the_log(tmp_path: Path, url: str) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(_jsonl(make_events(10), {}))
    res = reel("log", "import", "--url", url, str(src), "--dry-run")
    assert res.exit_code == 0 and "validated 10 events" in res.stderr
    assert not (tmp_path / "log").exists()
    src.write_bytes(_jsonl(make_events(10), {9: _bad_view()}))
    res = reel("log", "import", "--url", url, str(src), "--dry-run")
    assert res.exit_code == 2 and "line 9" in res.stderr


# ---------------------------------------------------------------------------------------- verify


def _frames(buf: bytes) -> list[tuple[int, int, int]]:
    """(file position, offset, payload length) of each frame of a segment."""
    out, p = [], 0
    while p + HEADER_SIZE <= len(buf):
        length, _, off = HEADER.unpack_from(buf, p)
        if length == 0:
            break
        out.append((p, off, length))
        p += HEADER_SIZE + length
    return out


def test_verify_clean_log(url: str, filled: list[Event]) -> None:
    res = reel("log", "verify", "--url", url, "--json")
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["ok"] and report["records"] == len(filled)


def test_verify_reports_partition_and_first_bad_offset(tmp_path: Path, url: str) -> None:
    events = make_events(400)
    write_log(url, events)
    segment = max((tmp_path / "log").rglob("*.log"), key=lambda p: p.stat().st_size)
    buf = bytearray(segment.read_bytes())
    frames = _frames(bytes(buf))
    pos, offset, length = frames[len(frames) // 2]
    payload_at = pos + HEADER_SIZE
    partition = partition_for(partition_key(decode(bytes(buf[payload_at : payload_at + length]))), PARTITIONS)
    buf[payload_at + length // 2] ^= 0x40
    segment.write_bytes(bytes(buf))

    res = reel("log", "verify", "--url", url, "--json")
    assert res.exit_code == 1, res.output
    report = json.loads(res.stdout)
    assert report["damaged_partitions"] == [partition]
    damaged = next(p for p in report["partitions"] if p["partition"] == partition)
    assert damaged["first_bad_offset"] == offset
    assert damaged["good"] >= offset  # every record before the damage read back
    assert sum(p["good"] for p in report["partitions"]) < len(events)

    human = reel("log", "verify", "--url", url)
    assert human.exit_code == 1
    assert f"{partition}@{offset}" in human.stdout

    # reading through the damage stops with one clear line naming partition and offset
    res = reel("log", "export", "--url", url, str(tmp_path / "out.jsonl"))
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert f"partition {partition} at offset {offset}" in res.stderr


# ---------------------------------------------------------------------------------------- errors


def test_unsupported_url_is_one_clear_line() -> None:
    res = reel("log", "stat", "--url", "ftp://nowhere")
    assert res.exit_code == 1
    assert "unsupported log URL" in res.stderr and "Traceback" not in res.output


@pytest.fixture
def held_writer(url: str):  # type: ignore[no-untyped-def]
    """The log held open for writing by a 'server' (its own event loop in a thread) during the test."""
    import threading

    write_log(url, make_events())
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    log = asyncio.run_coroutine_threadsafe(open_log(url, partitions=PARTITIONS), loop).result()
    try:
        yield log, loop
    finally:
        asyncio.run_coroutine_threadsafe(log.close(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def test_reading_commands_work_beside_a_writer_and_import_is_refused(url: str, held_writer) -> None:  # type: ignore[no-untyped-def]
    res = reel("log", "stat", "--url", url, "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["total_records"] == 120
    assert reel("log", "verify", "--url", url).exit_code == 0
    res = reel("log", "import", "--url", url, "-")
    assert res.exit_code == 1
    assert "already open for writing" in res.stderr and "Traceback" not in res.output


async def test_follow_sees_new_appends_through_a_readonly_reader(url: str) -> None:
    from events.tail import RecordFilter, follow

    writer = await open_log(url, partitions=PARTITIONS)
    reader = await open_log(url, partitions=PARTITIONS, readonly=True)
    try:
        await writer.append(make_events(8))
        positions = {i.partition: i.end for i in await reader.partition_info()}
        seen: list[Record] = []
        stop = asyncio.Event()
        fresh = make_events(40)[8:]

        def emit(records: list[Record]) -> None:
            seen.extend(records)
            if len(seen) >= sum(isinstance(e, Liked) for e in fresh):
                stop.set()

        task = asyncio.create_task(follow(reader, positions, RecordFilter.of(["Liked"]), emit,
                                          interval_s=0.02, stop=stop))
        await writer.append(fresh)
        await asyncio.wait_for(task, 10)
        want = sorted(e.event_id for e in fresh if isinstance(e, Liked))
        assert sorted(r.event.event_id for r in seen) == want
    finally:
        await reader.close()
        await writer.close()


# ----------------------------------------------------------------------------------------- bench


def test_bench_log_prints_positive_figures(tmp_path: Path) -> None:
    res = reel("bench", "log", "--url", f"file://{tmp_path}", "--events", "3000", "--partitions", "4",
               "--batch", "128", "--producers", "4", "--workers", "2", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["append_eps"] > 0 and out["replay_eps"] > 0
    assert out["events"] == out["replayed"] == 3000
    assert out["backend"] == "file" and out["replay_workers"] == 2
    assert out["disk_bytes_per_event"] > out["payload_bytes_per_event"] > 0
    assert not list(tmp_path.glob("bench-*"))  # the run's log is removed afterwards


def test_url_defaults_to_the_settings(url: str, filled: list[Event]) -> None:
    env = {"REEL_LOG_URL": url, "REEL_LOG_PARTITIONS": "8"}
    res = CliRunner(env=env).invoke(main, ["log", "stat", "--json"])
    assert res.exit_code == 0, res.output  # the existing log's own partition count wins when reading
    assert json.loads(res.stdout)["total_records"] == len(filled)
    bad = CliRunner(env={"REEL_LOG_PARTITIONS": "many"}).invoke(main, ["log", "stat"])
    assert bad.exit_code == 2 and "REEL_LOG_PARTITIONS" in bad.stderr
