"""A seeded synthetic world — creators, videos, viewers and their sessions — as a stream of real events.

Used by ``reel demo`` (so a fresh checkout shows something real end to end), by the benchmarks and by
tests that need a plausible log. Viewers have hidden topic interests and watch, like, share, follow
and skip according to how well a video matches them, so the folded views (trending, analytics,
features) show structure rather than noise.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from events import (
    Commented,
    EventBase,
    Followed,
    Impression,
    Liked,
    ModerationDecided,
    ModerationScored,
    Rendition,
    Shared,
    UploadRequested,
    UserRegistered,
    VideoDetailsSubmitted,
    VideoPublished,
    VideoTranscoded,
    VideoUploaded,
    ViewEnded,
)
from events.ids import uuid7

__all__ = ["World", "WorldConfig", "world_events"]

TOPICS: dict[str, tuple[str, ...]] = {  # topic -> its hashtags (the simulation, sim.world, shares them)
    "cats": ("cats", "pets", "cute"),
    "cooking": ("cooking", "recipe", "food"),
    "dance": ("dance", "choreo", "music"),
    "football": ("football", "goals", "sports"),
    "travel": ("travel", "beach", "mountains"),
    "diy": ("diy", "woodwork", "howto"),
    "comedy": ("comedy", "prank", "funny"),
    "tech": ("tech", "gadgets", "coding"),
}
REGIONS = ("GB", "US", "DE", "BR", "IN", "JP")
LANGS = {"GB": "en", "US": "en", "DE": "de", "BR": "pt", "IN": "hi", "JP": "ja"}


@dataclass(frozen=True, slots=True)
class WorldConfig:
    creators: int = 20
    videos: int = 60
    viewers: int = 300
    sessions_per_viewer: int = 3
    videos_per_session: int = 12
    seed: int = 7
    start_us: int = 1_763_000_000_000_000  # 2025-11-13, fixed so demo logs are reproducible


@dataclass(slots=True)
class World:
    """Who is who in a generated world (returned alongside its events for inspection)."""

    creators: list[str] = field(default_factory=list)
    videos: dict[str, tuple[str, str, int]] = field(default_factory=dict)  # id -> (creator, topic, ms)
    viewers: dict[str, str] = field(default_factory=dict)  # id -> favourite topic


class _Clock:
    def __init__(self, start_us: int, rng: random.Random) -> None:
        self.now = start_us
        self.rng = rng
        self.seq = 0

    def tick(self, max_ms: int = 2_000) -> tuple[str, int]:
        self.now += self.rng.randint(1, max_ms) * 1_000
        self.seq += 1
        # ids are time-ordered and reproducible: uuid7 of the event time with seeded random bits
        return str(uuid7(self.now // 1000, self.rng.getrandbits(80))), self.now


def world_events(config: WorldConfig | None = None, world: World | None = None) -> Iterator[EventBase]:
    """Yield the events of a whole world in time order: sign-ups, uploads through publication, sessions."""
    cfg = config or WorldConfig()
    rng = random.Random(cfg.seed)
    clock = _Clock(cfg.start_us, rng)
    w = world if world is not None else World()
    topics = list(TOPICS)

    for i in range(cfg.creators):
        cid = f"creator{i:03d}"
        region = rng.choice(REGIONS)
        eid, ts = clock.tick()
        w.creators.append(cid)
        yield UserRegistered(event_id=eid, ts=ts, user_id=cid, name=f"Creator {i}", region=region,
                             language=LANGS[region], birth_year=rng.randint(1975, 2004))

    for i in range(cfg.videos):
        vid = f"video{i:04d}"
        cid = rng.choice(w.creators)
        topic = rng.choice(topics)
        duration = rng.choice((15_000, 21_000, 30_000, 45_000, 60_000))
        w.videos[vid] = (cid, topic, duration)
        yield from _publish(clock, rng, vid, cid, topic, duration, i)

    for i in range(cfg.viewers):
        uid = f"viewer{i:04d}"
        region = rng.choice(REGIONS)
        w.viewers[uid] = rng.choice(topics)
        eid, ts = clock.tick(200)
        yield UserRegistered(event_id=eid, ts=ts, user_id=uid, region=region, language=LANGS[region],
                             birth_year=rng.choice((None, rng.randint(1960, 2010))))

    for _ in range(cfg.sessions_per_viewer):
        for uid, favourite in w.viewers.items():
            yield from _session(clock, rng, w, uid, favourite, cfg.videos_per_session)


def _publish(clock: _Clock, rng: random.Random, vid: str, cid: str, topic: str, duration: int,
             n: int) -> Iterator[EventBase]:
    tags = TOPICS[topic]
    hashtags = tuple(rng.sample(tags, k=2))
    sound = f"sound-{topic}-{rng.randint(0, 2)}"
    eid, ts = clock.tick()
    yield UploadRequested(event_id=eid, ts=ts, video_id=vid, creator_id=cid, max_bytes=500_000_000,
                          expires_at=ts + 3_600_000_000)
    eid, ts = clock.tick()
    yield VideoUploaded(event_id=eid, ts=ts, video_id=vid, creator_id=cid, blob_key=f"uploads/{vid}",
                        sha256=f"{n:064x}", size_bytes=rng.randint(2_000_000, 9_000_000))
    eid, ts = clock.tick()
    yield VideoDetailsSubmitted(event_id=eid, ts=ts, video_id=vid, creator_id=cid,
                                caption=f"My {topic} clip #{n} " + " ".join("#" + t for t in hashtags),
                                hashtags=hashtags, sound_id=sound, sound_title=f"{topic.title()} beat")
    eid, ts = clock.tick()
    renditions = tuple(
        Rendition(height=h, width=h * 9 // 16, bitrate_kbps=b, playlist_key=f"hls/{vid}/{h}p.m3u8")
        for h, b in ((640, 800), (960, 1800), (1280, 3000))
    )
    yield VideoTranscoded(event_id=eid, ts=ts, video_id=vid, creator_id=cid, duration_ms=duration,
                          width=720, height=1280, master_playlist_key=f"hls/{vid}/master.m3u8",
                          renditions=renditions, thumbnail_keys=(f"thumbs/{vid}/small.jpg",))
    eid, ts = clock.tick()
    yield ModerationScored(event_id=eid, ts=ts, video_id=vid,
                           scores={"nudity": round(rng.random() * 0.2, 3), "hate": round(rng.random() * 0.1, 3)})
    eid, ts = clock.tick()
    yield ModerationDecided(event_id=eid, ts=ts, video_id=vid, decision="approve")
    eid, ts = clock.tick()
    yield VideoPublished(event_id=eid, ts=ts, video_id=vid, creator_id=cid)


def _session(clock: _Clock, rng: random.Random, w: World, uid: str, favourite: str,
             length: int) -> Iterator[EventBase]:
    request = uuid7(clock.now // 1000, rng.getrandbits(80)).hex
    ids = list(w.videos)
    for position in range(length):
        vid = rng.choice(ids)
        creator, topic, duration = w.videos[vid]
        match = 0.85 if topic == favourite else 0.15
        eid, ts = clock.tick(400)
        yield Impression(event_id=eid, ts=ts, user_id=uid, video_id=vid, request_id=request,
                         position=position, source="demo")
        if rng.random() < match:
            loops = 1 if rng.random() < match * 0.5 else 0
            watch = duration if loops else int(duration * rng.uniform(0.5, 1.0))
        else:
            loops, watch = 0, int(min(duration, rng.uniform(500, 4_000)))
        eid, ts = clock.tick(max(1, watch // 1000) * 1000)
        yield ViewEnded(event_id=eid, ts=ts, user_id=uid, video_id=vid, watch_ms=watch,
                        duration_ms=duration, loops=loops, request_id=request)
        if rng.random() < match * 0.35:
            eid, ts = clock.tick(300)
            yield Liked(event_id=eid, ts=ts, user_id=uid, video_id=vid)
        if rng.random() < match * 0.06:
            eid, ts = clock.tick(300)
            yield Shared(event_id=eid, ts=ts, user_id=uid, video_id=vid)
        if rng.random() < match * 0.05:
            eid, ts = clock.tick(300)
            yield Commented(event_id=eid, ts=ts, user_id=uid, video_id=vid, comment_id=eid,
                            text=rng.choice(("love it", "so good", "haha", "how?")))
        if rng.random() < match * 0.04:
            eid, ts = clock.tick(300)
            yield Followed(event_id=eid, ts=ts, user_id=uid, creator_id=creator)
