"""Review queue, decisions, appeals, report thresholds, age gating, feed filter and backlog on a real log.

Each test appends real events to its own file log and reads the real ``catalog`` and ``moderation``
views folded by ``ProjectionRunner``s (memory stores); no Ray.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from blobs import open_blobs
from events import EventLog, open_log
from events.ids import new_event_id, now_us
from events.schema import (
    AppealDecided,
    Event,
    ModerationDecided,
    ModerationScored,
    Rendition,
    Reported,
    ReviewDecided,
    UploadRequested,
    VideoDetailsSubmitted,
    VideoPublished,
    VideoRemoved,
    VideoTranscoded,
    VideoUploaded,
)
from moderation.backlog import backlog
from moderation.errors import (
    AppealAlreadyFiledError,
    AppealNotAllowedError,
    NotInReviewError,
    ReviewerConflictError,
)
from moderation.feed_filter import FeedFilter
from moderation.port import keyframe_keys
from moderation.reports import ReportsReactor
from moderation.review import ReviewService
from projections import catalog
from projections import moderation as mod
from projections.runner import ProjectionRunner
from projections.store import open_store, reader

H = 3600 * 1_000_000
YEAR_NOW = 1970 + now_us() // 31_556_952_000_000


@dataclass
class World:
    log: EventLog
    runners: list[ProjectionRunner]
    catalog: Any
    moderation: Any
    service: ReviewService

    async def refresh(self) -> None:
        for r in self.runners:
            await r.run_until_caught_up()

    async def append(self, events: list[Event]) -> None:
        await self.log.append(events)

    async def video(
        self,
        vid: str,
        *,
        decision: str | None = "approve",
        scores: dict[str, float | None] | None = None,
        creator: str = "alice",
        publish: bool = True,
        rating: str = "general",
    ) -> str:
        ts = now_us()
        events: list[Event] = [
            UploadRequested(
                event_id=new_event_id(),
                ts=ts,
                video_id=vid,
                creator_id=creator,
                max_bytes=1,
                expires_at=ts + H,
            ),
            VideoUploaded(
                event_id=new_event_id(),
                ts=ts,
                video_id=vid,
                creator_id=creator,
                blob_key="k",
                sha256="0" * 64,
                size_bytes=1,
            ),
            VideoDetailsSubmitted(
                event_id=new_event_id(), ts=ts, video_id=vid, creator_id=creator, caption=f"clip {vid}"
            ),
            VideoTranscoded(
                event_id=new_event_id(),
                ts=ts,
                video_id=vid,
                creator_id=creator,
                duration_ms=15000,
                width=720,
                height=1280,
                master_playlist_key=f"videos/{vid}/hls/master.m3u8",
                renditions=(
                    Rendition(
                        height=360,
                        width=202,
                        bitrate_kbps=800,
                        playlist_key=f"videos/{vid}/hls/360p/index.m3u8",
                    ),
                ),
                thumbnail_keys=(f"videos/{vid}/thumbs/720.jpg",),
            ),
        ]
        if decision is not None:
            s = scores or {"nudity": 0.1, "text": 0.0, "violence": None}
            events.append(
                ModerationScored(
                    event_id=new_event_id(),
                    ts=ts,
                    video_id=vid,
                    scores=s,
                    model_versions={"nudity": "nudenet-320n@3.4.2"},
                )
            )
            known = [x for x in s.values() if x is not None]
            events.append(
                ModerationDecided(
                    event_id=new_event_id(),
                    ts=ts,
                    video_id=vid,
                    decision=decision,  # type: ignore[arg-type]
                    category=None if decision == "approve" else "nudity",
                    max_score=max(known),
                    age_rating=rating,
                )
            )  # type: ignore[arg-type]
            if decision == "approve" and publish:
                events.append(
                    VideoPublished(event_id=new_event_id(), ts=ts, video_id=vid, creator_id=creator)
                )
        await self.append(events)
        return vid

    async def kinds(self, vid: str) -> list[type]:
        out: list[Any] = []
        for info in await self.log.partition_info():
            out += [
                r.event
                for r in await self.log.read(info.partition, 0, 100_000)
                if getattr(r.event, "video_id", None) == vid
            ]
        return [type(e) for e in sorted(out, key=lambda e: e.ts)]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    log = await open_log(f"file://{tmp_path / 'log'}", partitions=4)
    cat_store, mod_store = open_store("memory://"), open_store("memory://")
    runners = [
        ProjectionRunner(log, cat_store, catalog.PROJECTION),
        ProjectionRunner(log, mod_store, mod.PROJECTION),
    ]
    cat_view, mod_view = reader(cat_store, catalog.PROJECTION), reader(mod_store, mod.PROJECTION)
    w = World(log, runners, cat_view, mod_view, None)  # type: ignore[arg-type]
    w.service = ReviewService(log, cat_view, mod_view, refresh=w.refresh, cdn_base_url="https://cdn.example")
    yield w
    await log.close()


async def test_queue_lists_held_videos_oldest_first_with_scores_and_sla_age(
    world: World, tmp_path: Path
) -> None:
    await world.video("old", decision="review", scores={"nudity": 0.8, "violence": None})
    await world.video("clean")
    await world.video("new", decision="review", scores={"nudity": 0.9, "violence": None})
    blobs = open_blobs(f"file://{tmp_path / 'blobs'}")
    for key in keyframe_keys("old", 2):
        blobs.put_bytes(key, b"jpeg bytes")
    world.service.blobs = blobs
    cards = await world.service.queue()
    assert [c.video_id for c in cards] == ["old", "new"]
    assert cards[0].keyframe_urls == (
        "https://cdn.example/videos/old/moderation/kf_00.jpg",
        "https://cdn.example/videos/old/moderation/kf_01.jpg",
    )
    assert cards[1].keyframe_urls == ()
    assert cards[0].scores == {"nudity": 0.8, "violence": None} and cards[0].status == "in_review"
    assert cards[0].thumbnail_urls == ("https://cdn.example/videos/old/thumbs/720.jpg",)
    health = await world.service.stats(now=cards[0].queued_at + 3 * H)
    assert health.size == 2 and health.oldest_age_s == pytest.approx(3 * 3600) and health.sla_breached
    assert not (await world.service.stats(now=cards[0].queued_at + H)).sla_breached

    await world.service.decide("old", "mod-1", "approve", "fine: a swimsuit", age_rating="mature")
    await world.service.decide("new", "mod-1", "reject", "explicit")
    assert await world.service.queue() == []
    await world.refresh()
    assert catalog.get_video(world.catalog, "old").status == "approved"  # the pipeline publishes it
    assert catalog.get_video(world.catalog, "old").age_rating == "mature"
    assert catalog.get_video(world.catalog, "new").status == "rejected"
    with pytest.raises(NotInReviewError):
        await world.service.decide("clean", "mod-1", "reject", "not queued")


async def test_a_rejection_is_appealed_once_and_decided_by_another_reviewer(world: World) -> None:
    await world.video("v", decision="review")
    await world.service.decide("v", "mod-1", "reject", "looks explicit")
    with pytest.raises(AppealNotAllowedError, match="only its creator"):
        await world.service.appeal("v", "mallory", "mine!")
    await world.service.appeal("v", "alice", "it is a medical video")
    [card] = await world.service.queue()
    assert (card.video_id, card.reason, card.appeal) == ("v", "appeal", "pending")
    with pytest.raises(ReviewerConflictError):
        await world.service.decide("v", "mod-1", "reject", "still no")
    [event] = await world.service.decide("v", "mod-2", "approve", "medical context")
    assert isinstance(event, AppealDecided) and not event.upheld
    await world.refresh()
    v = catalog.get_video(world.catalog, "v")
    assert (v.status, v.appeal) == ("approved", "overturned")
    with pytest.raises(AppealAlreadyFiledError):
        await world.service.appeal("v", "alice", "again")


async def test_an_auto_rejected_video_can_be_appealed_once(world: World) -> None:
    await world.video("auto", decision="reject", scores={"nudity": 0.99, "violence": None})
    await world.video("fine")
    with pytest.raises(AppealNotAllowedError, match="only rejected"):
        await world.service.appeal("fine", "alice")
    await world.service.appeal("auto", "alice", "false positive")
    [event] = await world.service.decide("auto", "mod-1", "reject", "upheld")
    assert isinstance(event, AppealDecided) and event.upheld
    with pytest.raises(AppealAlreadyFiledError, match="only once"):
        await world.service.appeal("auto", "alice", "please")
    await world.refresh()
    assert catalog.get_video(world.catalog, "auto").status == "rejected"


async def test_reports_demote_then_remove_once_then_review_restores(world: World) -> None:
    for vid in ("hot", "calm"):
        await world.video(vid)
    reactor = ReportsReactor(world.log, world.log)
    feed = FeedFilter()

    async def report(n: int, start: int = 0) -> None:
        await world.append(
            [
                Reported(event_id=new_event_id(), ts=now_us(), user_id=f"u{i}", video_id="hot", reason="spam")
                for i in range(start, n)
            ]
        )

    await report(10)
    await world.append(
        [Reported(event_id=new_event_id(), ts=now_us(), user_id="u0", video_id="hot", reason="again")]
    )  # the same user counts once
    assert await reactor.step() == []
    await world.refresh()
    assert not mod.video_flags(world.moderation, "hot").demoted
    await report(11, 10)
    assert await reactor.step() == []
    await world.refresh()
    feed.refresh(world.catalog, world.moderation)
    assert mod.video_flags(world.moderation, "hot").demoted and feed.factor("hot") == 0.5
    assert feed.filter(["hot", "calm"], 1990, now_us()) == ["hot", "calm"]  # demoted, still served
    assert FeedFilter(drop_below=0.6).refresh(world.catalog, world.moderation).filter(
        ["hot", "calm"], 1990, now_us()
    ) == ["calm"]
    await report(50, 11)
    assert await reactor.step() == []  # 50 is not more than 50
    await report(51, 50)
    stop = asyncio.Event()
    loop = asyncio.create_task(reactor.run(stop, poll_s=0.05))  # the reactor as deployed: a polling loop
    for _ in range(100):
        await asyncio.sleep(0.05)
        if VideoRemoved in await world.kinds("hot"):
            break
    stop.set()
    await loop
    assert await reactor.step() == []  # removed once
    assert await ReportsReactor(world.log, world.log).step() == []  # a restarted reactor replays: no repeat
    await world.refresh()
    assert catalog.get_video(world.catalog, "hot").status == "removed"
    assert feed.refresh(world.catalog, world.moderation).filter(["hot", "calm"], 1990, now_us()) == ["calm"]
    [card] = await world.service.queue()
    assert (card.video_id, card.reason, card.reports) == ("hot", "reports", 51)

    events = await world.service.decide("hot", "mod-1", "approve", "satire, allowed")
    assert [type(e) for e in events] == [ReviewDecided, VideoPublished]
    await world.refresh()
    assert catalog.get_video(world.catalog, "hot").status == "published"
    assert feed.refresh(world.catalog, world.moderation).filter(["hot", "calm"], 1990, now_us()) == [
        "hot",
        "calm",
    ]
    assert VideoRemoved in await world.kinds("hot")


async def test_mature_videos_never_reach_minors_or_unknown_ages(world: World) -> None:
    await world.video("kids")
    await world.video("adult", rating="mature")
    await world.video("held", decision="review")
    await world.video("unpublished", publish=False)
    await world.refresh()
    feed = FeedFilter().refresh(world.catalog, world.moderation)
    now = now_us()
    all_ = ["kids", "adult", "held", "unpublished", "unknown-id"]
    assert feed.filter(all_, YEAR_NOW - 30, now) == ["kids", "adult"]
    assert feed.filter(all_, YEAR_NOW - 15, now) == ["kids"]
    assert feed.filter(all_, None, now) == ["kids"]  # unknown age is not adult


async def test_backlog_lists_videos_waiting_for_moderation(world: World) -> None:
    await world.video("waiting", decision=None)
    await world.video("done")
    await world.video("held", decision="review")
    await world.refresh()
    b = backlog(world.catalog, world.moderation, now_us() + 10_000_000)
    assert [w.video_id for w in b.waiting] == ["waiting"] and b.waiting[0].status == "transcoded"
    assert b.waiting[0].waiting_s >= 10 and b.review_queue == 1 and not b.sla_breached
