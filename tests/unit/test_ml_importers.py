"""Importers: a small interactions CSV and a KuaiRand-shaped folder become the platform's events."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from events import Followed, Liked, NotInterested, VideoDetailsSubmitted, VideoPublished, ViewEnded
from ml.errors import DatasetFormatError
from ml.importers import read_interactions_csv, read_kuairand, rows_to_events

HEADER = (
    "user_id,video_id,timestamp_ms,watch_ms,duration_ms,liked,hated,shared,commented,followed,"
    "creator_id,sound_id,hashtags,caption\n"
)
CSV = HEADER + """u1,v1,1000,9000,10000,1,0,1,0,1,c1,s1,cats|funny,a cat
u1,v2,2000,500,10000,0,1,0,0,0,c2,,dogs,
u2,v1,3000,10000,10000,0,0,0,1,0,c1,s1,cats|funny,a cat
"""


def test_interactions_csv(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text(CSV)
    rows = read_interactions_csv(p)
    assert len(rows) == 3 and rows[0].meta.hashtags == ("cats", "funny") and rows[1].hated
    events = list(rows_to_events(rows))
    kinds = Counter(type(e).__name__ for e in events)
    assert kinds == {
        "UserRegistered": 2,
        "VideoDetailsSubmitted": 2,
        "VideoTranscoded": 2,
        "VideoPublished": 2,
        "ViewEnded": 3,
        "Liked": 1,
        "NotInterested": 1,
        "Shared": 1,
        "Commented": 1,
        "Followed": 1,
    }
    # each video's lifecycle precedes its first view; a hate is an explicit negative
    pub = {e.video_id: e.ts for e in events if isinstance(e, VideoPublished)}
    first_view = {}
    for e in events:
        if isinstance(e, ViewEnded):
            first_view.setdefault(e.video_id, e.ts)
    assert all(pub[v] < first_view[v] for v in pub)
    ni = next(e for e in events if isinstance(e, NotInterested))
    assert ni.video_id == "v2" and ni.creator_id == "c2"
    det = next(e for e in events if isinstance(e, VideoDetailsSubmitted) and e.video_id == "v1")
    assert det.sound_id == "s1" and det.caption == "a cat"
    assert next(e for e in events if isinstance(e, Followed)).creator_id == "c1"
    # deterministic ids: importing twice gives the same events
    assert [e.event_id for e in rows_to_events(rows)] == [e.event_id for e in events]
    assert len({e.event_id for e in events}) == len(events)


def test_missing_columns_are_reported(tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("user,video\n1,2\n")
    with pytest.raises(DatasetFormatError, match="missing column"):
        read_interactions_csv(p)


def test_kuairand_sorting_duration_quirk_and_join(tmp_path: Path) -> None:
    head = (
        "user_id\tvideo_id\tdate\thourmin\ttime_ms\tis_click\tis_follow\tis_comment\tis_forward\tlong_view\t"
        "play_time_ms\tduration_ms\tcomment_stay_time\tis_profile_enter\tlabel\ttimestamp\n"
    )
    lines = [
        "2\t5\t20220410\t1700\t3000\t1\t0\t0\t0\t1\t4000\t0\t0\t0\t1\tx\n",  # duration 0: video table
        "1\t999999\t20220410\t1700\t2000\t1\t0\t0\t0\t1\t4000\t0\t0\t0\t0\tx\n",  # no table row, no duration
        "1\t5\t20220410\t1700\t1000\t1\t1\t0\t0\t1\t4000\t8000\t0\t0\t1\tx\n",
    ]
    (tmp_path / "interactions_27k_standard_like_hate_kcore15.tsv").write_text(head + "".join(lines))
    (tmp_path / "video_features_basic_pure.csv").write_text(
        "video_id,author_id,video_type,upload_dt,upload_type,visible_status,video_duration,server_width,"
        'server_height,music_id,music_type,tag\n5,77,NORMAL,2022-04-10,Web,0.0,8000.0,720.0,1280.0,123,9.0,"20,43"\n'
    )
    rows = read_kuairand(tmp_path)
    assert [(r.user_id, r.ts_ms) for r in rows] == [("k1", 1000), ("k1", 2000), ("k2", 3000)]
    assert rows[2].duration_ms == 8000 and rows[0].meta.creator_id == "a77"
    assert rows[0].meta.hashtags == ("tag20", "tag43") and rows[0].meta.sound_id == "m123"
    events = list(rows_to_events(rows))
    views = [e for e in events if isinstance(e, ViewEnded)]
    assert all(v.duration_ms > 0 for v in views)
    assert (
        sum(isinstance(e, Liked) for e in events) == 2
        and sum(isinstance(e, NotInterested) for e in events) == 1
    )
    assert any(isinstance(e, Followed) and e.creator_id == "a77" for e in events)
