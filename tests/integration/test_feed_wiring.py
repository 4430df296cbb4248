"""The ingress's feed from settings: the catalogue catches up with a real file log before the first
page, snapshots itself, and a second replica starts from the snapshot and reads only what is new."""

from __future__ import annotations

from pathlib import Path

import pytest

from events.ids import new_event_id, now_us
from events.log import open_log
from events.schema import Event, VideoDetailsSubmitted, VideoPublished, VideoRemoved
from projections.store import open_store
from reelstack.settings import load_settings
from serve.feed import wiring


def _videos(n: int, start: int = 0) -> list[Event]:
    out: list[Event] = []
    for i in range(start, start + n):
        ts = now_us()
        creator = f"c{i % 9}"
        out.append(VideoDetailsSubmitted(event_id=new_event_id(), ts=ts, video_id=f"v{i}", creator_id=creator,
                                         caption="a clip", hashtags=("cats",), sound_id=f"s{i % 5}"))
        out.append(VideoPublished(event_id=new_event_id(), ts=ts + 1, video_id=f"v{i}", creator_id=creator))
    return out


@pytest.mark.asyncio
async def test_catalogue_from_the_log_then_from_its_snapshot(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings({}, data_dir=str(tmp_path), log_partitions=2, auth_secret="s" * 32)
    log = await open_log(settings.log_url, partitions=2)
    await log.append(_videos(40))
    monkeypatch.setattr(wiring, "SNAPSHOT_AFTER", 10)
    store = open_store("memory://")
    feed = wiring.build_feed_service(settings, store=store, router=None, ranking=None, appender=log)
    page = await feed.get_page("viewer", 10)
    assert len(feed.catalogue) == 40
    assert not page.personalized and "no user shards" in (page.reason or "")
    assert len(page.items) == 10 and all(i.source == "fresh" for i in page.items)
    snap = tmp_path / "feed-catalogue"
    assert (snap / "CURRENT").exists()
    await feed.drain()

    removal = VideoRemoved(event_id=new_event_id(), ts=now_us(), video_id="v0")
    await log.append([*_videos(5, start=40), removal])
    second = wiring.build_feed_service(settings, store=store, router=None, ranking=None, appender=None)
    await second.start()
    cat = second.catalogue
    assert len(cat) == 44  # 40 from the snapshot + 5 new - 1 removed
    assert not cat.visible(cat.label_of["v0"]) and "v44" in cat.label_of
    tail = second._startup.tail  # type: ignore[union-attr]
    # the snapshot had folded 80 records; this replica read only the 21 after it (10 impressions of
    # the first page, 10 catalogue events, 1 removal)
    assert tail is not None and cat.events == 80 + 21
    await tail.stop()
    feed_tail = feed._startup.tail  # type: ignore[union-attr]
    await feed_tail.stop()
    await log.close()
