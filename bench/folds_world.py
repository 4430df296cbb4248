"""In-memory fold speed on the synthetic world (registered viewers with regions and ages, sessions).

    python -m bench.folds_world --events 200000 [--projection features --projection analytics ...]

Unlike ``bench.folds`` (bare interaction mix), this stream has what the regional, audience and
affinity paths need: every viewer registered with a region and birth year, hashtags and sounds on
every video, sessions with completion-dependent likes, shares and follows. Prints JSON with, per
projection, events/s by wall clock and by process CPU time (the CPU figure is steadier on a shared
machine); best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time

from events import Event
from projections.base import DictView, apply
from projections.registry import get_projection
from reelstack.world import WorldConfig, world_events

__all__ = ["main", "measure", "world_stream"]

DEFAULT = ["features", "analytics", "trending", "notifications"]


def world_stream(n: int, seed: int = 7) -> list[Event]:
    """The first ``n`` events of a world sized so that ``n`` events cover many sessions."""
    viewers = max(50, n // 80)
    cfg = WorldConfig(
        creators=max(5, n // 1300),
        videos=max(20, n // 65),
        viewers=viewers,
        sessions_per_viewer=3,
        videos_per_session=12,
        seed=seed,
    )
    return list(itertools.islice(world_events(cfg), n))  # type: ignore[arg-type]


def measure(name: str, events: list[Event], repeat: int = 3) -> dict[str, float]:
    projection = get_projection(name)
    keys, fold = projection.keys, projection.fold
    best_wall = best_cpu = float("inf")
    size = 0
    for _ in range(max(1, repeat)):
        view = DictView()
        t0, c0 = time.perf_counter(), time.process_time()
        for event in events:
            keys(event)
            apply(view, fold(view, event))
        best_wall = min(best_wall, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
        size = len(view.data)
    n = len(events)
    return {"fold_eps": round(n / best_wall), "fold_eps_cpu": round(n / best_cpu), "keys": size}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--projection", action="append", default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    events = world_stream(args.events)
    names = args.projection or DEFAULT
    print(json.dumps({"events": len(events), **{n: measure(n, events, args.repeat) for n in names}}))


if __name__ == "__main__":
    main()
