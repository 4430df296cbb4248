"""Properties of the user-state fold over random event sequences: checkpoint + replay == one pass, and
holding events back until their video is known changes nothing once it is known."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from actors.embeddings import ContentEncoder, VideoDirectory
from actors.fold import Lookup, release, step
from actors.snapshot import UserRecord, from_record, to_record
from actors.user_state import USER_EVENTS, StateParams, UserState, VideoInfo, new_state
from events import Event
from tests.strategies import event_lists, unknown_ref_event

P = StateParams(dim=8, seen_ring=3, bloom_bits=256, max_held=10_000, hold_window_s=1e9)

logs = st.tuples(event_lists(max_size=80), st.lists(unknown_ref_event(), max_size=5)).map(
    lambda t: sorted(t[0] + t[1], key=lambda e: e.ts))


def _directory(events: list[Event]) -> VideoDirectory:
    d = VideoDirectory(ContentEncoder(P.dim))
    for e in events:
        d.observe(e)
    return d


def _fold(events: list[Event], lookup: Lookup,
          users: dict[str, UserState] | None = None) -> dict[str, UserState]:
    users = {} if users is None else users
    for e in events:
        if isinstance(e, USER_EVENTS):
            step(users.setdefault(e.user_id, new_state(e.user_id, P)), e, lookup, P)
    return users


def _records(users: dict[str, UserState]) -> dict[str, UserRecord]:
    return {u: to_record(s) for u, s in users.items()}


@settings(max_examples=150, deadline=None)
@given(logs, st.integers(min_value=0, max_value=100))
def test_checkpoint_then_replay_equals_one_pass(events: list[Event], cut: int) -> None:
    lookup = _directory(events).get
    cut = min(cut, len(events))
    restored = {u: from_record(r, P) for u, r in _records(_fold(events[:cut], lookup)).items()}
    assert _records(_fold(events[cut:], lookup, restored)) == _records(_fold(events, lookup))


@settings(max_examples=150, deadline=None)
@given(logs, st.lists(st.integers(min_value=0, max_value=100), max_size=5))
def test_late_embeddings_give_the_same_state_once_known(events: list[Event], arrivals: list[int]) -> None:
    full = _directory(events)
    known: dict[str, VideoInfo] = {}
    # videos become known in random bursts while the events stream in
    marks = sorted({min(a, len(events)) for a in arrivals})
    order = sorted(full.videos)
    users: dict[str, UserState] = {}
    start = 0
    for i, mark in enumerate([*marks, len(events)]):
        _fold(events[start:mark], known.get, users)
        start = mark
        known.update({v: full.videos[v] for v in order[: (i + 1) * len(order) // (len(marks) + 1)]})
        for s in users.values():
            release(s, known.get, P)
    known.update(full.videos)
    for s in users.values():
        release(s, known.get, P)
    assert _records(users) == _records(_fold(events, full.get))
