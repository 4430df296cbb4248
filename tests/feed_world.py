"""A small in-memory platform for feed tests: a topical catalogue folded into the real catalogue, shard
state, features and trending folds, and an impression sink that folds what the feed logs back in."""

from __future__ import annotations

import random
from collections.abc import Sequence

from events.ids import new_event_id, now_us
from events.schema import Event, Liked, UserRegistered, VideoDetailsSubmitted, VideoPublished, ViewEnded
from projections import features as fs
from projections import trending as tr
from projections.base import DictView, apply
from serve.feed import (
    Catalogue,
    CatalogueParams,
    FeedConfig,
    FeedService,
    LocalUserStates,
    PriorRanker,
    ViewFeatures,
    ViewTrending,
)

TOPICS = ("cats", "cooking", "football", "dance", "travel", "music")


class World:
    """Every fold the feed reads, fed from one event stream (``apply``)."""

    def __init__(self, *, per_topic: int = 60, creators_per_topic: int = 10, seed: int = 1) -> None:
        self.catalogue = Catalogue(CatalogueParams(fresh_size=1000))
        self.states = LocalUserStates()
        self.features = DictView()
        self.trending = DictView()
        self.events: list[Event] = []
        self.topic_of: dict[str, str] = {}
        self.rng = random.Random(seed)
        ts = now_us() - 3_600_000_000
        batch: list[Event] = []
        for t in TOPICS:
            for i in range(per_topic):
                vid = f"v-{t}-{i}"
                creator = f"c-{t}-{i % creators_per_topic}"
                self.topic_of[vid] = t
                ts += 1000
                batch.append(VideoDetailsSubmitted(
                    event_id=new_event_id(), ts=ts, video_id=vid, creator_id=creator,
                    caption=f"a {t} clip", hashtags=(t, f"{t}life"), sound_id=f"s-{t}-{i % 7}",
                    sound_title=f"{t} tune"))
                batch.append(VideoPublished(event_id=new_event_id(), ts=ts + 1, video_id=vid,
                                            creator_id=creator))
        self.apply(batch)

    def apply(self, events: Sequence[Event]) -> None:
        for e in events:
            self.events.append(e)
            self.catalogue.observe(e)
            self.states.observe(e)
            apply(self.features, fs.PROJECTION.fold(self.features, e))
            apply(self.trending, tr.PROJECTION.fold(self.trending, e))

    async def append(self, events: Sequence[Event]) -> list[int]:
        """The impression sink: what the feed logs is folded like any other event."""
        self.apply(events)
        return list(range(len(events)))

    def service(self, *, config: FeedConfig | None = None, **ports: object) -> FeedService:
        kwargs: dict[str, object] = {
            "states": self.states, "ranker": PriorRanker(),
            "trending": ViewTrending(self.trending, ttl_s=0.0), "features": ViewFeatures(self.features),
            "impressions": self,
        }
        kwargs.update(ports)
        return FeedService(self.catalogue, config=config or FeedConfig(await_impressions=True),
                           rng=random.Random(7), **kwargs)  # type: ignore[arg-type]

    def register(self, user_id: str, *, region: str = "GB", birth_year: int | None = 1990) -> None:
        self.apply([UserRegistered(event_id=new_event_id(), ts=now_us(), user_id=user_id, region=region,
                                   birth_year=birth_year)])

    def engage(self, user_id: str, video_id: str, *, like: bool = True, watch_ms: int = 15_000,
               duration_ms: int = 15_000) -> None:
        ts = now_us()
        events: list[Event] = [ViewEnded(event_id=new_event_id(), ts=ts, user_id=user_id, video_id=video_id,
                                         watch_ms=watch_ms, duration_ms=duration_ms, loops=1 if like else 0)]
        if like:
            events.append(Liked(event_id=new_event_id(), ts=ts + 1, user_id=user_id, video_id=video_id))
        self.apply(events)
