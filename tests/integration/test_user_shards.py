"""User shards on a real local Ray over a file log: 50,000 interactions by 2,000 users, a shard killed
mid-stream and restarted by Ray from its checkpoint, then every user's state compared with a
from-scratch fold of the whole log (vectors to 1e-6, seen sets, negatives, counters exactly)."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import numpy as np
import pytest

from actors.embeddings import ContentEncoder, VideoDirectory
from actors.errors import ShardUnavailableError
from actors.fold import step
from actors.shard_core import USER_EVENTS, ShardConfig
from actors.shards import ShardRouter, probe_freshness, probe_user, start_shards
from actors.user_state import StateParams, UserState, new_state
from actors.view import UserView, view_of
from events import (
    Commented,
    Event,
    EventLog,
    Followed,
    Impression,
    Liked,
    NotInterested,
    Reported,
    Shared,
    Unfollowed,
    Unliked,
    UserProfileUpdated,
    UserRegistered,
    VideoDetailsSubmitted,
    ViewEnded,
    open_log,
)

PARTITIONS = 8
SHARDS = 4
USERS = 2_000
VIDEOS = 400
LATE = 4  # videos whose details are appended only after the interactions that reference them
INTERACTIONS = 50_000
T0 = 1_763_000_000_000_000
TAGS = ("cats", "food", "dance", "goals", "travel", "diy", "funny", "tech")


def _catalog(rng: random.Random) -> tuple[list[Event], list[Event]]:
    def details(i: int, late: bool) -> VideoDetailsSubmitted:
        tags = tuple(rng.sample(TAGS, 2))
        vid = f"late{i}" if late else f"v{i:04d}"
        return VideoDetailsSubmitted(event_id=f"d-{vid}", ts=T0 - 10_000_000 + i, video_id=vid,
                                     creator_id=f"c{i % 40:02d}", caption=f"clip {i} about {tags[0]}",
                                     hashtags=tags, sound_id=f"s{i % 25:02d}")
    users: list[Event] = [UserRegistered(event_id=f"r-{u}", ts=T0 - 5_000_000 + u, user_id=f"u{u:04d}",
                            region=rng.choice(("GB", "US", "BR")), birth_year=rng.choice((None, 1990, 2008)))
             for u in range(USERS) if u % 4]  # every 4th user never registers: a cold-start default
    videos: list[Event] = [details(i, False) for i in range(VIDEOS)]
    return videos + users, [details(i, True) for i in range(LATE)]


def _interactions(rng: random.Random, n: int) -> list[Event]:
    out: list[Event] = []
    ts = T0
    for i in range(n):
        ts += rng.randrange(1, 10_000)
        uid = f"u{rng.randrange(USERS):04d}"
        vid = f"v{int(rng.paretovariate(1.2) * 5) % VIDEOS:04d}"
        if rng.random() < 0.002:
            vid = f"late{rng.randrange(LATE)}"
        eid = f"i{i:06d}"
        r = rng.random()
        if r < 0.30:
            out.append(Impression(event_id=eid, ts=ts, user_id=uid, video_id=vid, request_id="q",
                                  position=i % 8))
        elif r < 0.75:
            dur = rng.choice((8_000, 15_000, 30_000, 90_000))
            watch = rng.choice((500, 2_500, dur // 10, dur // 2, dur))
            out.append(ViewEnded(event_id=eid, ts=ts, user_id=uid, video_id=vid, watch_ms=watch,
                                 duration_ms=dur, loops=rng.choice((0, 0, 0, 1, 2))))
        elif r < 0.85:
            out.append(Liked(event_id=eid, ts=ts, user_id=uid, video_id=vid))
        elif r < 0.87:
            out.append(Unliked(event_id=eid, ts=ts, user_id=uid, video_id=vid))
        elif r < 0.90:
            out.append(Shared(event_id=eid, ts=ts, user_id=uid, video_id=vid))
        elif r < 0.92:
            out.append(Commented(event_id=eid, ts=ts, user_id=uid, video_id=vid, comment_id=eid, text="nice"))
        elif r < 0.95:
            out.append(Followed(event_id=eid, ts=ts, user_id=uid, creator_id=f"c{rng.randrange(40):02d}"))
        elif r < 0.96:
            out.append(Unfollowed(event_id=eid, ts=ts, user_id=uid, creator_id=f"c{rng.randrange(40):02d}"))
        elif r < 0.98:
            out.append(NotInterested(event_id=eid, ts=ts, user_id=uid, video_id=vid,
                                     sound_id=rng.choice((None, f"s{rng.randrange(25):02d}"))))
        elif r < 0.99:
            out.append(Reported(event_id=eid, ts=ts, user_id=uid, video_id=vid, reason="spam"))
        else:
            out.append(UserProfileUpdated(event_id=eid, ts=ts, user_id=uid, bio="hi"))
    return out


async def _full_fold(log: EventLog, params: StateParams) -> dict[str, UserState]:
    """The reference: every partition read from offset 0, folded by the same pure code path."""
    records = []
    for p in range(log.partitions):
        offset = 0
        while batch := await log.read(p, offset, 20_000):
            records.append(batch)
            offset = batch[-1].offset + 1
    directory = VideoDirectory(ContentEncoder(params.dim))
    for batch in records:
        for r in batch:
            directory.observe(r.event)
    users: dict[str, UserState] = {}
    for batch in records:
        for r in batch:
            if isinstance(r.event, USER_EVENTS):
                uid = r.event.user_id
                state = users.setdefault(uid, new_state(uid, params))
                step(state, r.event, directory.get, params)
    return users


async def _stats(router: ShardRouter) -> list[dict[str, Any]] | None:
    try:
        return await router.stats(timeout_s=5.0)
    except ShardUnavailableError:
        return None  # a shard is restarting


async def _settled(router: ShardRouter, *, held: bool = False,
                   timeout_s: float = 180.0) -> list[dict[str, Any]]:
    """Wait until every shard is up, has no lag and (unless ``held``) holds no event back."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stats = await _stats(router)
        if stats and all(s["ready"] and s["lag"] == 0 and (held or s["held_events"] == 0) for s in stats):
            return stats
        await asyncio.sleep(0.2)
    raise AssertionError(f"shards did not catch up: {await _stats(router)}")


def _assert_same(got: UserView, want: UserView) -> None:
    np.testing.assert_allclose(got.short, want.short, atol=1e-6, rtol=0, err_msg=got.user_id)
    np.testing.assert_allclose(got.long, want.long, atol=1e-6, rtol=0, err_msg=got.user_id)
    for field in ("version", "seen", "bloom", "neg_creators", "neg_sounds", "following", "counts",
                  "region", "registered", "age_band", "last_ts", "held", "known"):
        assert getattr(got, field) == getattr(want, field), (got.user_id, field)


@pytest.mark.slow
async def test_killed_shard_recovers_to_the_exact_fold(ray_session: Any, tmp_path: Any) -> None:
    ray = ray_session
    rng = random.Random(4)
    params = StateParams(dim=32)
    log_url = f"file://{tmp_path / 'log'}"
    log = await open_log(log_url, partitions=PARTITIONS)
    catalog, late = _catalog(rng)
    await log.append(catalog)
    cfg = ShardConfig(log_url=log_url, partitions=PARTITIONS, shards=SHARDS, params=params,
                      checkpoint_url=f"file://{tmp_path / 'ckpt'}", log_options={"readonly": True},
                      checkpoint_every_events=2_000, checkpoint_every_s=0.5, refresh_interval_s=0.2,
                      refresh_max_interval_s=1.0)
    handles = start_shards(cfg, name=f"t-shard-{tmp_path.name}", namespace="reelstack-tests")
    router = ShardRouter(handles, PARTITIONS, timeout_s=120.0)
    victim = 1
    try:
        await router.get_states([probe_user(i, SHARDS, PARTITIONS) for i in range(SHARDS)])  # all ready
        events = _interactions(rng, INTERACTIONS)
        half = INTERACTIONS // 2
        for i in range(0, half, 1_000):
            await log.append(events[i:i + 1_000])
        while not ((await handles[victim].stats.remote())["last_checkpoint"]):
            await asyncio.sleep(0.1)
        ray.kill(handles[victim], no_restart=False)  # mid-stream: Ray restarts it from its checkpoint
        for i in range(half, INTERACTIONS, 1_000):
            await log.append(events[i:i + 1_000])
        stats = await _settled(router, held=True)
        assert sum(s["held_events"] for s in stats) > 0  # events on videos without details wait...
        waiting = {e.user_id: e.video_id for e in events  # type: ignore[union-attr]
                   if not isinstance(e, Impression) and getattr(e, "video_id", "").startswith("late")}
        views = await router.get_states(list(waiting))
        assert all(v.held and waiting[u] in v.seen for u, v in views.items())  # held, yet filtered
        await log.append(late)  # ... until the details arrive
        stats = await _settled(router)
        assert stats[victim]["restored_offsets"] and sum(stats[victim]["restored_offsets"].values()) > 0
        assert sum(s["users"] for s in stats) == USERS
        assert await probe_freshness(log, router, probe_user(victim, SHARDS, PARTITIONS)) < 30.0

        reference = await _full_fold(log, params)
        assert len(reference) == USERS + 1  # the probe user is a user too
        got = await router.get_states(sorted(reference))
        assert set(got) == set(reference)
        for uid, state in reference.items():
            _assert_same(got[uid], view_of(state, params))
        assert sum(s.counts.unembedded for s in reference.values()) == 0
        assert sum(bool(s.neg_creators or s.neg_sounds) for s in reference.values()) > 100
        assert not got["u0000"].registered and got["u0001"].registered  # unknown users: cold-start defaults
    finally:
        for h in handles:
            ray.kill(h, no_restart=True)
        await log.close()
