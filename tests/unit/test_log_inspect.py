"""Pure helpers behind `reel log`: lag arithmetic, record filters, one-line format, reject paths."""

from __future__ import annotations

import json
from pathlib import Path

from events.cli import rejects_path
from events.inspect import lag_for
from events.log import PartitionInfo, Record
from events.partitioning import partition_for
from events.schema import Commented, Liked, ViewEnded
from events.tail import RecordFilter, format_record, record_json


def test_lag_counts_from_commit_or_from_start() -> None:
    infos = [PartitionInfo(0, 0, 10), PartitionInfo(1, 5, 9), PartitionInfo(2, 0, 0)]
    # p0 committed 4 -> 6 behind; p1 committed before the retained start -> everything retained;
    # p2 empty -> 0
    assert lag_for(infos, {0: 4, 1: 2}) == {0: 6, 1: 4, 2: 0}
    assert lag_for(infos, {}) == {0: 10, 1: 4, 2: 0}
    assert lag_for(infos, {0: 10, 1: 9}) == {0: 0, 1: 0, 2: 0}


def _liked(user: str, ts: int = 1) -> Liked:
    return Liked(event_id=f"e{ts}", ts=ts, user_id=user, video_id="v1")


def test_filter_by_type_key_and_partition() -> None:
    rec = Record(3, 0, _liked("alice"))
    assert RecordFilter.of()(rec)
    assert RecordFilter.of(["Liked"])(rec)
    assert not RecordFilter.of(["ViewEnded"])(rec)
    assert RecordFilter.of(key="alice")(rec)
    assert not RecordFilter.of(key="bob")(rec)
    # a key lives in exactly one partition, so only that one is read
    assert RecordFilter.of(key="alice").partitions(8) == [partition_for("alice", 8)]
    assert RecordFilter.of(partition=2).partitions(8) == [2]
    home = partition_for("alice", 8)
    assert RecordFilter.of(key="alice", partition=(home + 1) % 8).partitions(8) == []


def test_format_record_is_one_compact_line() -> None:
    ev = ViewEnded(event_id="e", ts=1_700_000_000_000_000, user_id="u1", video_id="v9", watch_ms=1200,
                   duration_ms=15000)
    line = format_record(Record(2, 41, ev))
    assert line == (
        "2:41  2023-11-14T22:13:20.000Z  ViewEnded  u1  video_id=v9 watch_ms=1200 duration_ms=15000"
    )
    spaced = Commented(event_id="e", ts=0, user_id="u1", video_id="v", comment_id="c", text="a b")
    assert format_record(Record(0, 0, spaced)).endswith('text="a b"')


def test_record_json_wraps_the_event() -> None:
    data = json.loads(record_json(Record(1, 7, _liked("u"))))
    assert data["partition"] == 1 and data["offset"] == 7
    assert data["event"]["type"] == "Liked" and data["event"]["user_id"] == "u"


def test_rejects_file_sits_beside_the_input() -> None:
    assert rejects_path("/data/in.jsonl") == Path("/data/in.rejected.jsonl")
    assert rejects_path("dump.txt") == Path("dump.txt.rejected.jsonl")
    assert rejects_path("-") == Path("stdin.rejected.jsonl")
