"""Realistic event streams for benchmarks: mostly impressions, views and likes across many users.

Generated up front (before any timer starts) from a seeded RNG, so runs are comparable.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from events.ids import now_us, uuid7
from events.schema import Commented, Event, Followed, Impression, Liked, Shared, ViewEnded

__all__ = ["MIX", "generate"]

#: Share of each event type in the stream (the rest of 1.0 is comments).
MIX = {"Impression": 0.45, "ViewEnded": 0.43, "Liked": 0.08, "Shared": 0.02, "Followed": 0.01}
_SOURCES = ("ann", "following", "trending", "explore", "hashtag", "sound")


def generate(
    n: int,
    *,
    seed: int = 7,
    users: int | None = None,
    videos: int | None = None,
    start_us: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Event]:
    """``n`` interaction events by ``users`` people (default n/20) on ``videos`` clips (default n/50).

    Video popularity is heavy-tailed (Pareto), timestamps increase by a few µs per event, and every
    event gets a UUIDv7 id, as the ingress would give it.
    """
    rng = random.Random(seed)
    n_users = users or max(100, n // 20)
    n_videos = videos or max(50, n // 50)
    ts = start_us if start_us is not None else now_us()
    cut_imp = MIX["Impression"]
    cut_view = cut_imp + MIX["ViewEnded"]
    cut_like = cut_view + MIX["Liked"]
    cut_share = cut_like + MIX["Shared"]
    cut_follow = cut_share + MIX["Followed"]
    out: list[Event] = []
    append = out.append
    for i in range(n):
        ts += rng.randrange(1, 20)
        eid = str(uuid7(ts // 1000))
        user = f"u{rng.randrange(n_users):07d}"
        video = f"v{int(rng.paretovariate(1.1) * 7) % n_videos:07d}"
        r = rng.random()
        if r < cut_imp:
            append(Impression(event_id=eid, ts=ts, user_id=user, video_id=video,
                              request_id=f"r{i // 8:010d}", position=i % 8, source=rng.choice(_SOURCES)))
        elif r < cut_view:
            duration = rng.randrange(5_000, 60_000)
            watch = min(duration, int(rng.expovariate(1 / (duration * 0.6))))
            append(ViewEnded(event_id=eid, ts=ts, user_id=user, video_id=video, watch_ms=watch,
                             duration_ms=duration, loops=int(rng.random() < 0.1),
                             request_id=f"r{i // 8:010d}"))
        elif r < cut_like:
            append(Liked(event_id=eid, ts=ts, user_id=user, video_id=video))
        elif r < cut_share:
            append(Shared(event_id=eid, ts=ts, user_id=user, video_id=video,
                          channel=rng.choice(("link", "whatsapp", "sms"))))
        elif r < cut_follow:
            creator = f"c{rng.randrange(n_videos // 5 + 1):06d}"
            append(Followed(event_id=eid, ts=ts, user_id=user, creator_id=creator))
        else:
            append(Commented(event_id=eid, ts=ts, user_id=user, video_id=video, comment_id=f"m{i:010d}",
                             text="so good " * rng.randrange(1, 6)))
        if progress and i % 10_000 == 9_999:
            progress(10_000)
    if progress:
        progress(n % 10_000)
    return out
