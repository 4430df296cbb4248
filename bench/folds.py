"""In-memory fold speed of projections: the ceiling any store-backed runner can reach.

    python -m bench.folds --events 200000 [--repeat 3] [--projection counters --projection catalog ...]

Folds a realistic stream (every video's lifecycle — upload, details, transcode, moderation,
publication — then the interaction mix of ``bench.workload``) into a ``DictView``, calling
``keys()`` for each event as the runner does, and prints ``{"<name>": {"fold_eps": …}, …}`` as JSON.
"""

from __future__ import annotations

import argparse
import json
import time

from events.schema import (
    Event,
    ModerationDecided,
    ModerationScored,
    Rendition,
    UserRegistered,
    VideoDetailsSubmitted,
    VideoPublished,
    VideoTranscoded,
    VideoUploaded,
)
from projections.base import DictView, apply
from projections.registry import get_projection

from .workload import generate

__all__ = ["lifecycle", "main", "measure"]

_TAGS = ("fun", "dance", "cats", "cooking", "travel", "diy", "music", "fyp", "comedy", "sports")


def lifecycle(n_videos: int, n_users: int, start_us: int) -> list[Event]:
    """Registration of creators and the full pipeline of every video, before the interactions."""
    out: list[Event] = []
    ts = start_us
    n_creators = n_videos // 5 + 1
    for c in range(n_creators):
        ts += 7
        out.append(UserRegistered(event_id=f"r{c}", ts=ts, user_id=f"c{c:06d}", name=f"Creator {c}"))
    rend = (Rendition(height=720, width=1280, bitrate_kbps=2500, playlist_key="720.m3u8"),)
    for i in range(n_videos):
        vid, creator = f"v{i:07d}", f"c{i % n_creators:06d}"
        ts += 11
        tags = (_TAGS[i % 10], _TAGS[(i * 7) % 10], f"t{i % 97}")
        out += [
            VideoUploaded(
                event_id=f"a{i}",
                ts=ts,
                video_id=vid,
                creator_id=creator,
                blob_key=f"b/{vid}",
                sha256="0" * 64,
                size_bytes=1 << 20,
            ),
            VideoDetailsSubmitted(
                event_id=f"b{i}",
                ts=ts + 1,
                video_id=vid,
                creator_id=creator,
                caption=f"my clip number {i} about {tags[0]} and {tags[1]}",
                hashtags=tags,
                sound_id=f"s{i % 50}",
                sound_title=f"Song {i % 50}",
                privacy="public" if i % 10 else "friends",
            ),
            VideoTranscoded(
                event_id=f"c{i}",
                ts=ts + 2,
                video_id=vid,
                creator_id=creator,
                duration_ms=15_000,
                width=720,
                height=1280,
                master_playlist_key=f"{vid}/m.m3u8",
                renditions=rend,
            ),
            ModerationScored(event_id=f"d{i}", ts=ts + 3, video_id=vid, scores={"nudity": 0.1, "hate": 0.05}),
            ModerationDecided(event_id=f"e{i}", ts=ts + 4, video_id=vid, decision="approve", max_score=0.1),
            VideoPublished(event_id=f"f{i}", ts=ts + 5, video_id=vid, creator_id=creator),
        ]
    return out


def measure(name: str, events: list[Event], repeat: int = 1) -> dict[str, float]:
    """Fold ``events`` from an empty view ``repeat`` times; the best run counts (the machine is shared)."""
    projection = get_projection(name)
    keys, fold = projection.keys, projection.fold
    best = float("inf")
    for _ in range(repeat):
        view = DictView()
        t0 = time.perf_counter()
        for event in events:
            keys(event)
            apply(view, fold(view, event))
        best = min(best, time.perf_counter() - t0)
    return {"fold_eps": round(len(events) / best), "seconds": round(best, 3), "keys": len(view.data)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--projection", action="append", default=None)
    parser.add_argument("--repeat", type=int, default=3, help="runs per projection; the best counts")
    args = parser.parse_args(argv)
    n_videos, n_users = max(50, args.events // 50), max(100, args.events // 20)
    start = 1_700_000_000_000_000
    head = lifecycle(n_videos, n_users, start)
    events = head + generate(args.events - len(head), videos=n_videos, users=n_users, start_us=start + 10**9)
    names = args.projection or ["counters", "catalog", "social", "search", "moderation"]
    print(json.dumps({"events": len(events), **{name: measure(name, events, args.repeat) for name in names}}))


if __name__ == "__main__":
    main()
