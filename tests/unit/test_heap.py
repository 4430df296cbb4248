"""``reelstack.heap``: the long-lived heap is frozen out of the collector's walks, and re-frozen as it grows."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from reelstack.heap import BUSY_THRESHOLDS, HeapFreezer, collect_less_often, freeze_long_lived


@pytest.fixture(autouse=True)
def _unfreeze() -> Iterator[None]:
    yield
    gc.unfreeze()


def test_freeze_moves_live_objects_out_of_the_collected_generations() -> None:
    gc.unfreeze()
    keep = [[i] for i in range(10_000)]  # tracked containers
    frozen = freeze_long_lived("test")
    assert frozen >= len(keep)  # (other threads may free frozen objects meanwhile: counts only go down)
    tracked = {id(o) for o in gc.get_objects()}
    assert not any(id(x) in tracked for x in keep)  # a full collection no longer walks them


def test_freezer_refreezes_only_after_enough_growth() -> None:
    gc.unfreeze()
    f = HeapFreezer(1_000, "test")
    assert not f.added(600)
    assert gc.get_freeze_count() == 0
    assert f.added(400)
    first = gc.get_freeze_count()
    assert first > 0
    assert not f.added(999)
    grown = [[i] for i in range(5_000)]
    before = {id(o) for o in gc.get_objects()}
    assert all(id(x) in before for x in grown)  # tracked: not frozen yet
    assert f.added(1)
    tracked = {id(o) for o in gc.get_objects()}
    assert not any(id(x) in tracked for x in grown)


def test_a_busy_process_collects_its_young_generation_less_often() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)  # CPython's default
        collect_less_often()
        assert gc.get_threshold() == BUSY_THRESHOLDS
        assert BUSY_THRESHOLDS[0] > 700
    finally:
        gc.set_threshold(*before)
