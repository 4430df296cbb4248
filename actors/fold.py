"""Hold-back around ``apply``: the one code path, live and in replay, from a user's events to its state.

An interaction whose video has no embedding yet is never dropped: it is held back in the user's
state, and so is every later event of that user, so the user's events are still applied in log
order — once the embedding arrives (``release``) the result is exactly what a fold with the
embedding known from the start gives. A held queue is bounded by ``max_held`` events and by
``hold_window_s`` of event time: beyond that the oldest held event is applied without an embedding
(counted in ``counts.unembedded``; it still updates counters, the seen set and negatives).

Pure: the video lookup is a function passed in; time is event time.
"""

from __future__ import annotations

from collections.abc import Callable

from events.schema import Event

from .user_state import StateParams, UserState, VideoInfo, apply, video_needed

__all__ = ["Lookup", "release", "step"]

Lookup = Callable[[str], VideoInfo | None]


def step(state: UserState, event: Event, lookup: Lookup, params: StateParams) -> bool:
    """Apply ``event`` to ``state`` or hold it back; True when the user now has held events."""
    if state.held:
        state.held.append(event)
        _expire(state, lookup, params)
        return release(state, lookup, params)
    need = video_needed(state, event)
    if need is None:
        apply(state, event, None, params)
        return False
    info = lookup(need)
    if info is None:
        state.held.append(event)
        return True
    apply(state, event, info, params)
    return False


def release(state: UserState, lookup: Lookup, params: StateParams) -> bool:
    """Apply held events from the oldest while their videos are known; True if some remain held."""
    held = state.held
    n = 0
    while n < len(held):
        event = held[n]
        need = video_needed(state, event)
        info = lookup(need) if need is not None else None
        if need is not None and info is None:
            break
        apply(state, event, info, params)
        n += 1
    if n:
        del held[:n]
    return bool(held)


def _expire(state: UserState, lookup: Lookup, params: StateParams) -> None:
    """Apply the oldest held events without embedding while the queue is over its bounds."""
    held = state.held
    window_us = params.hold_window_s * 1e6
    while held and (len(held) > params.max_held or held[-1].ts - held[0].ts > window_us):
        event = held.pop(0)
        need = video_needed(state, event)
        apply(state, event, lookup(need) if need is not None else None, params)
        release(state, lookup, params)
