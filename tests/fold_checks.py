"""Checks every fold must pass on any event sequence (used by the property tests of each projection)."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from events import Event
from projections.base import DictView, Projection, apply, fold_all

__all__ = ["check_fold_laws", "fold_one", "roundtrip_values"]


def roundtrip_values(projection: Projection, view: DictView) -> None:
    """Every value survives the stores' msgpack encoding under the projection's ``value_type``."""
    decoder = msgspec.msgpack.Decoder(projection.value_type)
    for key, value in view.data.items():
        assert decoder.decode(msgspec.msgpack.encode(value)) == value, key


def check_fold_laws(projection: Projection, events: Sequence[Event], split: int) -> DictView:
    """Deterministic, resumable, read-only folds whose values encode; returns the folded view."""
    whole = fold_all(projection, events)
    assert fold_all(projection, events).data == whole.data  # same log, same view

    split = min(split, len(events))
    resumed = fold_all(projection, events[split:], fold_all(projection, events[:split]))
    assert resumed.data == whole.data  # prefix then rest == whole

    # a fold reads only: the same event on the same state gives the same delta and leaves it alone
    state = fold_all(projection, events[:split])
    before = dict(state.data)
    for event in events[split:]:
        first = dict(projection.fold(state, event))
        assert dict(projection.fold(state, event)) == first
        assert state.data == before
        apply(state, first)
        before = dict(state.data)
        for key in projection.keys(event):
            assert isinstance(key, str)

    roundtrip_values(projection, whole)
    return whole


def fold_one(projection: Projection, view: DictView, event: Event) -> DictView:
    return apply(view, projection.fold(view, event))
